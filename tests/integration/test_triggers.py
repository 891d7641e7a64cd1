"""Triggers end to end through boto3: event source mappings that feed functions from SQS queues,
Kinesis streams and DynamoDB streams (record shapes, order, filters, partial batch failures,
dead-letter queues, checkpoints across a restart), S3 bucket notifications to queues, topics and
functions, and SNS subscriptions of functions.

The test function `forward` sends every event it receives to a sink queue, so each test reads
exactly what the trigger delivered."""
import base64
import json
import os
import time
import unittest

import harness
from harness import Daemon

PLUGINS = os.environ.get("SLESS_TEST_PLUGINS") or os.path.join(harness.ROOT, "build", "tests", "plugins")
PLUGIN = os.path.join(PLUGINS, "libtest_functions.so")
ROLE = "arn:aws:iam::000000000000:role/lambda-role"


class Fixture:
    """Clients of one daemon plus helpers to make a forwarding function and read its sink."""

    def __init__(self, d):
        self.d = d
        self.lam = d.client("lambda")
        self.sqs = d.client("sqs")
        self.n = 0

    def unique(self, prefix):
        self.n += 1
        return f"{prefix}-{self.n}-{int(time.time() * 1000) % 100000}"

    def queue(self, name, **attributes):
        url = self.sqs.create_queue(QueueName=name, Attributes={k: str(v) for k, v in attributes.items()})["QueueUrl"]
        arn = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        return url, arn

    def kinesis_stream(self, name):
        """A one-shard Kinesis stream, once active; returns its ARN."""
        kin = self.d.client("kinesis")
        kin.create_stream(StreamName=name, ShardCount=1)
        kin.get_waiter("stream_exists").wait(StreamName=name, WaiterConfig={"Delay": 0.1})
        return kin.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["StreamARN"]

    def table_stream(self, name, view):
        """A table keyed by string "id" with a stream of the given view type; returns the stream's ARN."""
        t = self.d.client("dynamodb").create_table(
            TableName=name, KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST",
            StreamSpecification={"StreamEnabled": True, "StreamViewType": view})
        return t["TableDescription"]["LatestStreamArn"]

    def forwarder(self, name, **variables):
        """A function that forwards its events to a new sink queue; returns (function arn, sink url)."""
        sink, _ = self.queue(name + "-sink")
        fn = self.lam.create_function(FunctionName=name, Runtime="provided.al2023", Role=ROLE, Handler="forward",
                                      Code={"S3Bucket": "hot-reload", "S3Key": PLUGIN}, Timeout=5,
                                      Environment={"Variables": {"SINK_QUEUE_URL": sink, **variables}})
        return fn["FunctionArn"], sink

    def invocations(self, sink, want_records, timeout=20):
        """Like events(), but returns (event, pid of the worker that ran it) pairs."""
        got, count = [], 0
        deadline = time.time() + timeout
        while count < want_records and time.time() < deadline:
            r = self.sqs.receive_message(QueueUrl=sink, MaxNumberOfMessages=10, WaitTimeSeconds=1,
                                         MessageAttributeNames=["pid"])
            for m in r.get("Messages", []):
                self.sqs.delete_message(QueueUrl=sink, ReceiptHandle=m["ReceiptHandle"])
                e = json.loads(m["Body"])
                got.append((e, m["MessageAttributes"]["pid"]["StringValue"]))
                count += len(e.get("Records", []))
        if count < want_records:
            raise AssertionError(f"expected {want_records} records, got {count}")
        return got

    def events(self, sink, want_records, timeout=15):
        """Reads the sink until `want_records` records arrived in all; returns the events."""
        events, count = [], 0
        deadline = time.time() + timeout
        while count < want_records and time.time() < deadline:
            r = self.sqs.receive_message(QueueUrl=sink, MaxNumberOfMessages=10, WaitTimeSeconds=1)
            for m in r.get("Messages", []):
                self.sqs.delete_message(QueueUrl=sink, ReceiptHandle=m["ReceiptHandle"])
                e = json.loads(m["Body"])
                events.append(e)
                count += len(e.get("Records", [])) or 1
        if count < want_records:
            raise AssertionError(f"expected {want_records} records, got {count}: {events}")
        return events

    def nothing_more(self, sink, wait=1.5):
        r = self.sqs.receive_message(QueueUrl=sink, MaxNumberOfMessages=10, WaitTimeSeconds=int(wait))
        return r.get("Messages", [])

    def mapping_enabled(self, uuid, timeout=10):
        harness.wait_for(lambda: self.lam.get_event_source_mapping(UUID=uuid)["State"] == "Enabled", timeout,
                         message="mapping enabled")


def records(events):
    return [r for e in events for r in e["Records"]]


class TriggerCase(unittest.TestCase):
    """Tests sharing one daemon (short retry delays) and its Fixture."""

    @classmethod
    def setUpClass(cls):
        cls.d = Daemon(extra_args=["--lambda-retry-delay-ms", "50"], log_level=os.environ.get("SLESS_TEST_LOG", "warn")).start()
        cls.f = Fixture(cls.d)

    @classmethod
    def tearDownClass(cls):
        cls.d.cleanup()


class Triggers(TriggerCase):

    # -- SQS ---------------------------------------------------------------------------------

    def test_sqs_messages_reach_the_function_and_leave_the_queue(self):
        f = self.f
        fn, sink = f.forwarder(f.unique("sqs-fwd"))
        url, arn = f.queue(f.unique("orders"))
        m = f.lam.create_event_source_mapping(EventSourceArn=arn, FunctionName=fn, BatchSize=10)
        self.assertEqual(m["EventSourceArn"], arn)
        self.assertEqual(m["BatchSize"], 10)
        f.mapping_enabled(m["UUID"])
        sent = {}
        for i in range(5):
            r = f.sqs.send_message(QueueUrl=url, MessageBody=f"order {i}",
                                   MessageAttributes={"kind": {"DataType": "String", "StringValue": "order"}})
            sent[r["MessageId"]] = f"order {i}"
        got = records(f.events(sink, 5))
        self.assertEqual({r["messageId"]: r["body"] for r in got}, sent)
        r = got[0]
        self.assertEqual(r["eventSource"], "aws:sqs")
        self.assertEqual(r["eventSourceARN"], arn)
        self.assertEqual(r["awsRegion"], harness.REGION)
        self.assertEqual(r["attributes"]["ApproximateReceiveCount"], "1")
        self.assertEqual(r["messageAttributes"]["kind"]["stringValue"], "order")
        self.assertEqual(r["messageAttributes"]["kind"]["dataType"], "String")
        self.assertIn("md5OfBody", r)
        self.assertTrue(r["receiptHandle"])
        # Processed messages are deleted.
        harness.wait_for(lambda: f.sqs.get_queue_attributes(
            QueueUrl=url, AttributeNames=["All"])["Attributes"]["ApproximateNumberOfMessagesNotVisible"] == "0",
            10, message="batch deleted")
        self.assertEqual(f.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
                         ["Attributes"]["ApproximateNumberOfMessages"], "0")

    def test_sqs_partial_batch_failures_go_to_the_dead_letter_queue(self):
        f = self.f
        fn, sink = f.forwarder(f.unique("sqs-partial"))
        dlq_url, dlq_arn = f.queue(f.unique("dlq"))
        url, arn = f.queue(f.unique("jobs"), VisibilityTimeout=2,
                           RedrivePolicy=json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 2}))
        m = f.lam.create_event_source_mapping(EventSourceArn=arn, FunctionName=fn, BatchSize=10,
                                              FunctionResponseTypes=["ReportBatchItemFailures"])
        self.assertEqual(m["FunctionResponseTypes"], ["ReportBatchItemFailures"])
        f.mapping_enabled(m["UUID"])
        f.sqs.send_message(QueueUrl=url, MessageBody="good one")
        f.sqs.send_message(QueueUrl=url, MessageBody="FAIL this one")
        # The failed message comes back after its visibility timeout, then moves to the DLQ.
        dead = []
        deadline = time.time() + 20
        while not dead and time.time() < deadline:
            dead = f.sqs.receive_message(QueueUrl=dlq_url, WaitTimeSeconds=1).get("Messages", [])
        self.assertEqual([x["Body"] for x in dead], ["FAIL this one"])
        got = records(f.events(sink, 3))
        bodies = [r["body"] for r in got]
        self.assertEqual(bodies.count("good one"), 1)  # succeeded once, deleted, never redelivered
        self.assertEqual(bodies.count("FAIL this one"), 2)  # maxReceiveCount attempts

    def test_sqs_filter_criteria(self):
        f = self.f
        fn, sink = f.forwarder(f.unique("sqs-filter"))
        url, arn = f.queue(f.unique("mixed"))
        m = f.lam.create_event_source_mapping(
            EventSourceArn=arn, FunctionName=fn, BatchSize=10,
            FilterCriteria={"Filters": [{"Pattern": json.dumps({"body": {"kind": ["order"]}})}]})
        f.mapping_enabled(m["UUID"])
        f.sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"kind": "refund", "n": 1}))
        f.sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"kind": "order", "n": 2}))
        got = records(f.events(sink, 1))
        self.assertEqual([json.loads(r["body"])["n"] for r in got], [2])
        self.assertEqual(f.nothing_more(sink), [])
        # Filtered-out messages are deleted, as Lambda does.
        harness.wait_for(lambda: f.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
                         ["ApproximateNumberOfMessagesNotVisible"] == "0", 10, message="filtered deleted")
        self.assertEqual(f.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
                         ["Attributes"]["ApproximateNumberOfMessages"], "0")

    def test_filter_criteria_the_matcher_cannot_read_are_refused(self):
        f = self.f
        fn, sink = f.forwarder(f.unique("sqs-badfilter"))
        url, arn = f.queue(f.unique("guarded"))
        bad = [
            '{"body": [{"prefix": 5}]}',  # a matcher of the wrong type
            '{"body": [{}]}',  # a matcher without a key
            '{"body": 5}',  # a value that is neither a list nor an object
            '{"body": {"kind": []}}',  # an empty list
            '["body"]',  # not an object
            '{"body": ',  # not JSON
            '',
        ]
        for pattern in bad:
            with self.assertRaises(f.lam.exceptions.InvalidParameterValueException, msg=pattern) as caught:
                f.lam.create_event_source_mapping(EventSourceArn=arn, FunctionName=fn,
                                                  FilterCriteria={"Filters": [{"Pattern": pattern}]})
            self.assertEqual(caught.exception.response["Error"]["Message"], "Invalid filter pattern definition.")
        good = {"Pattern": json.dumps({"body": {"kind": ["order"]}})}
        with self.assertRaises(f.lam.exceptions.InvalidParameterValueException):
            f.lam.create_event_source_mapping(EventSourceArn=arn, FunctionName=fn,
                                              FilterCriteria={"Filters": [good] * 6})
        self.assertEqual(f.lam.list_event_source_mappings(EventSourceArn=arn)["EventSourceMappings"], [])
        # Five are accepted; an update to a bad pattern is refused and leaves the mapping as it was.
        m = f.lam.create_event_source_mapping(EventSourceArn=arn, FunctionName=fn, BatchSize=10,
                                              FilterCriteria={"Filters": [good] * 5})
        f.mapping_enabled(m["UUID"])
        with self.assertRaises(f.lam.exceptions.InvalidParameterValueException):
            f.lam.update_event_source_mapping(UUID=m["UUID"],
                                              FilterCriteria={"Filters": [{"Pattern": bad[0]}]})
        self.assertEqual(f.lam.get_event_source_mapping(UUID=m["UUID"])["FilterCriteria"],
                         {"Filters": [good] * 5})
        f.sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"kind": "order", "n": 7}))
        self.assertEqual([json.loads(r["body"])["n"] for r in records(f.events(sink, 1))], [7])

    def test_disabled_mapping_stops_delivery_and_deleted_source_is_refused(self):
        f = self.f
        fn, sink = f.forwarder(f.unique("sqs-off"))
        url, arn = f.queue(f.unique("paused"))
        m = f.lam.create_event_source_mapping(EventSourceArn=arn, FunctionName=fn, Enabled=False)
        self.assertEqual(m["State"], "Disabled")
        f.sqs.send_message(QueueUrl=url, MessageBody="waits")
        self.assertEqual(f.nothing_more(sink), [])
        f.lam.update_event_source_mapping(UUID=m["UUID"], Enabled=True)
        self.assertEqual(records(f.events(sink, 1))[0]["body"], "waits")
        with self.assertRaises(f.lam.exceptions.InvalidParameterValueException):
            f.lam.create_event_source_mapping(EventSourceArn=arn.replace(arn.split(":")[-1], "no-such-queue"),
                                              FunctionName=fn)

    # -- Kinesis -----------------------------------------------------------------------------

    def test_kinesis_records_in_order_with_partial_failure(self):
        f = self.f
        kin = self.d.client("kinesis")
        name = f.unique("clicks")
        arn = f.kinesis_stream(name)
        fn, sink = f.forwarder(f.unique("kin-fwd"))
        m = f.lam.create_event_source_mapping(EventSourceArn=arn, FunctionName=fn, StartingPosition="TRIM_HORIZON",
                                              BatchSize=100, FunctionResponseTypes=["ReportBatchItemFailures"],
                                              MaximumRetryAttempts=1)
        f.mapping_enabled(m["UUID"])
        seqs = [kin.put_record(StreamName=name, Data=f"click {i}".encode(), PartitionKey="user-1")["SequenceNumber"]
                for i in range(4)]
        got = records(f.events(sink, 4))
        self.assertEqual([r["kinesis"]["sequenceNumber"] for r in got[:4]], seqs)
        self.assertEqual([base64.b64decode(r["kinesis"]["data"]).decode() for r in got[:4]],
                         [f"click {i}" for i in range(4)])
        r = got[0]
        self.assertEqual(r["eventSource"], "aws:kinesis")
        self.assertEqual(r["eventName"], "aws:kinesis:record")
        self.assertEqual(r["eventSourceARN"], arn)
        self.assertEqual(r["kinesis"]["partitionKey"], "user-1")
        # A reported failure is retried from that record on (records before it are not resent)
        # until MaximumRetryAttempts, then skipped.
        kin.put_records(StreamName=name, Records=[{"Data": b"w", "PartitionKey": "before"},
                                                  {"Data": b"x", "PartitionKey": "FAIL-key"},
                                                  {"Data": b"y", "PartitionKey": "after"}])
        later = records(f.events(sink, 5))
        keys = [r["kinesis"]["partitionKey"] for r in later]
        self.assertEqual(keys, ["before", "FAIL-key", "after", "FAIL-key", "after"])
        self.assertEqual(f.nothing_more(sink), [])
        kin.put_record(StreamName=name, Data=b"z", PartitionKey="next")
        self.assertEqual([r["kinesis"]["partitionKey"] for r in records(f.events(sink, 1))], ["next"])

    def test_kinesis_parallelization_factor_keeps_order_per_partition_key(self):
        f = self.f
        kin = self.d.client("kinesis")
        name = f.unique("orders")
        arn = f.kinesis_stream(name)
        # Out of range, as Lambda refuses it (0 is refused by boto3 itself).
        fn, sink = f.forwarder(f.unique("kin-par"), FORWARD_DELAY_MS="150")
        with self.assertRaises(f.lam.exceptions.ClientError) as refused:
            f.lam.create_event_source_mapping(EventSourceArn=arn, FunctionName=fn, StartingPosition="TRIM_HORIZON",
                                              ParallelizationFactor=11)
        self.assertIn(refused.exception.response["Error"]["Code"],
                      ("ValidationException", "InvalidParameterValueException"))
        # 8 keys x 5 records, interleaved in one shard; 4 concurrent batches of up to 3 records.
        keys = [f"customer-{k}" for k in range(8)]
        entries = [{"Data": f"{key}:{i}".encode(), "PartitionKey": key} for i in range(5) for key in keys]
        self.assertEqual(kin.put_records(StreamName=name, Records=entries)["FailedRecordCount"], 0)
        m = f.lam.create_event_source_mapping(EventSourceArn=arn, FunctionName=fn, StartingPosition="TRIM_HORIZON",
                                              BatchSize=3, ParallelizationFactor=4)
        self.assertEqual(m["ParallelizationFactor"], 4)
        got = f.invocations(sink, len(entries))
        seen = {}
        for event, _pid in got:
            self.assertLessEqual(len(event["Records"]), 3)
            for r in event["Records"]:
                key, i = base64.b64decode(r["kinesis"]["data"]).decode().split(":")
                seen.setdefault(key, []).append(int(i))
        # Each key's records arrived once each, in order, while batches ran in several workers at once.
        self.assertEqual(seen, {key: list(range(5)) for key in keys})
        self.assertGreater(len({pid for _e, pid in got}), 1)
        self.assertEqual(f.nothing_more(sink), [])
        with self.assertRaises(f.lam.exceptions.ClientError):
            f.lam.update_event_source_mapping(UUID=m["UUID"], ParallelizationFactor=11)
        self.assertEqual(f.lam.get_event_source_mapping(UUID=m["UUID"])["ParallelizationFactor"], 4)
        # Queues have no shards to parallelize.
        _, queue_arn = f.queue(f.unique("no-par"))
        with self.assertRaises(f.lam.exceptions.InvalidParameterValueException):
            f.lam.create_event_source_mapping(EventSourceArn=queue_arn, FunctionName=fn, ParallelizationFactor=2)

    def test_dynamodb_stream_parallelization_factor_keeps_order_per_item(self):
        f = self.f
        ddb = self.d.client("dynamodb")
        table = f.unique("counters")
        stream_arn = f.table_stream(table, "NEW_IMAGE")
        for n in range(4):
            for item in ("a", "b", "c", "d", "e", "f"):
                ddb.put_item(TableName=table, Item={"id": {"S": item}, "n": {"N": str(n)}})
        fn, sink = f.forwarder(f.unique("ddb-par"), FORWARD_DELAY_MS="100")
        m = f.lam.create_event_source_mapping(EventSourceArn=stream_arn, FunctionName=fn,
                                              StartingPosition="TRIM_HORIZON", BatchSize=2, ParallelizationFactor=3)
        got = f.invocations(sink, 24)
        seen = {}
        for event, _pid in got:
            for r in event["Records"]:
                seen.setdefault(r["dynamodb"]["Keys"]["id"]["S"], []).append(int(r["dynamodb"]["NewImage"]["n"]["N"]))
        self.assertEqual(seen, {item: [0, 1, 2, 3] for item in "abcdef"})
        self.assertGreater(len({pid for _e, pid in got}), 1)
        self.assertEqual(f.nothing_more(sink), [])
        f.lam.delete_event_source_mapping(UUID=m["UUID"])

    # -- DynamoDB Streams --------------------------------------------------------------------

    def test_dynamodb_stream_changes_reach_the_function(self):
        f = self.f
        ddb = self.d.client("dynamodb")
        table = f.unique("carts")
        stream_arn = f.table_stream(table, "NEW_AND_OLD_IMAGES")
        fn, sink = f.forwarder(f.unique("ddb-fwd"))
        m = f.lam.create_event_source_mapping(EventSourceArn=stream_arn, FunctionName=fn,
                                              StartingPosition="TRIM_HORIZON", BatchSize=10)
        f.mapping_enabled(m["UUID"])
        ddb.put_item(TableName=table, Item={"id": {"S": "c1"}, "n": {"N": "1"}})
        ddb.update_item(TableName=table, Key={"id": {"S": "c1"}}, UpdateExpression="SET n = n + :one",
                        ExpressionAttributeValues={":one": {"N": "1"}})
        ddb.delete_item(TableName=table, Key={"id": {"S": "c1"}})
        got = records(f.events(sink, 3))
        self.assertEqual([r["eventName"] for r in got], ["INSERT", "MODIFY", "REMOVE"])
        self.assertTrue(all(r["eventSourceARN"] == stream_arn and r["eventSource"] == "aws:dynamodb" for r in got))
        self.assertEqual(got[1]["dynamodb"]["OldImage"]["n"], {"N": "1"})
        self.assertEqual(got[1]["dynamodb"]["NewImage"]["n"], {"N": "2"})
        self.assertEqual(got[2]["dynamodb"]["Keys"], {"id": {"S": "c1"}})
        seqs = [int(r["dynamodb"]["SequenceNumber"]) for r in got]
        self.assertEqual(seqs, sorted(seqs))

    def test_stream_mapping_source_must_exist(self):
        f = self.f
        fn, _ = f.forwarder(f.unique("ddb-missing"))
        with self.assertRaises(f.lam.exceptions.InvalidParameterValueException):
            f.lam.create_event_source_mapping(
                EventSourceArn="arn:aws:dynamodb:us-east-1:000000000000:table/nope/stream/2026-01-01T00:00:00.000",
                FunctionName=fn, StartingPosition="LATEST")

    # -- S3 notifications and SNS ------------------------------------------------------------

    def test_s3_notifications_to_queue_topic_and_function(self):
        f = self.f
        s3 = self.d.client("s3")
        sns = self.d.client("sns")
        bucket = f.unique("uploads")
        s3.create_bucket(Bucket=bucket)
        q_url, q_arn = f.queue(f.unique("s3-events"))
        topic = sns.create_topic(Name=f.unique("s3-topic"))["TopicArn"]
        t_url, t_arn = f.queue(f.unique("s3-topic-sub"))
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=t_arn, Attributes={"RawMessageDelivery": "true"})
        fn, sink = f.forwarder(f.unique("s3-fwd"))
        s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={
            "QueueConfigurations": [{"Id": "q", "QueueArn": q_arn, "Events": ["s3:ObjectCreated:*"],
                                     "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "images/"}]}}}],
            "TopicConfigurations": [{"Id": "t", "TopicArn": topic, "Events": ["s3:ObjectRemoved:*"]}],
            "LambdaFunctionConfigurations": [{"Id": "l", "LambdaFunctionArn": fn, "Events": ["s3:ObjectCreated:Put"],
                                              "Filter": {"Key": {"FilterRules": [
                                                  {"Name": "suffix", "Value": ".jpg"}]}}}]})
        # The queue receives the s3:TestEvent when the configuration is set.
        first = f.sqs.receive_message(QueueUrl=q_url, WaitTimeSeconds=5)["Messages"][0]
        self.assertEqual(json.loads(first["Body"])["Event"], "s3:TestEvent")
        f.sqs.delete_message(QueueUrl=q_url, ReceiptHandle=first["ReceiptHandle"])

        s3.put_object(Bucket=bucket, Key="images/cat.jpg", Body=b"meow")
        s3.put_object(Bucket=bucket, Key="docs/readme.txt", Body=b"text")  # matches no configuration
        msgs = f.sqs.receive_message(QueueUrl=q_url, WaitTimeSeconds=5)["Messages"]
        rec = json.loads(msgs[0]["Body"])["Records"][0]
        self.assertEqual(rec["eventSource"], "aws:s3")
        self.assertEqual(rec["eventName"], "ObjectCreated:Put")
        self.assertEqual(rec["s3"]["bucket"]["name"], bucket)
        self.assertEqual(rec["s3"]["object"]["key"], "images/cat.jpg")
        self.assertEqual(rec["s3"]["object"]["size"], 4)
        self.assertEqual(rec["s3"]["configurationId"], "q")
        f.sqs.delete_message(QueueUrl=q_url, ReceiptHandle=msgs[0]["ReceiptHandle"])
        self.assertEqual(f.sqs.receive_message(QueueUrl=q_url, WaitTimeSeconds=1).get("Messages", []), [])

        fn_rec = records(f.events(sink, 1))[0]
        self.assertEqual(fn_rec["s3"]["object"]["key"], "images/cat.jpg")
        self.assertEqual(fn_rec["s3"]["configurationId"], "l")

        s3.delete_object(Bucket=bucket, Key="docs/readme.txt")
        # Through the topic: first the test event, then the deletion.
        bodies = []
        deadline = time.time() + 10
        while len(bodies) < 2 and time.time() < deadline:
            bodies += [json.loads(m["Body"]) for m in
                       f.sqs.receive_message(QueueUrl=t_url, WaitTimeSeconds=1, MaxNumberOfMessages=10).get("Messages", [])]
        self.assertEqual(bodies[0]["Event"], "s3:TestEvent")
        self.assertEqual(bodies[0]["Bucket"], bucket)
        removed = bodies[1]["Records"][0]
        self.assertEqual(removed["eventName"], "ObjectRemoved:Delete")
        self.assertEqual(removed["s3"]["object"]["key"], "docs/readme.txt")

    def test_s3_refuses_notification_to_missing_queue(self):
        s3 = self.d.client("s3")
        bucket = self.f.unique("strict")
        s3.create_bucket(Bucket=bucket)
        with self.assertRaises(s3.exceptions.ClientError) as e:
            s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={
                "QueueConfigurations": [{"QueueArn": "arn:aws:sqs:us-east-1:000000000000:missing",
                                         "Events": ["s3:ObjectCreated:*"]}]})
        self.assertEqual(e.exception.response["Error"]["Code"], "InvalidArgument")
        for section, member, arn in [
                ("TopicConfigurations", "TopicArn", "arn:aws:sns:us-east-1:000000000000:missing"),
                ("LambdaFunctionConfigurations", "LambdaFunctionArn",
                 "arn:aws:lambda:us-east-1:000000000000:function:missing")]:
            with self.assertRaises(s3.exceptions.ClientError) as e:
                s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={
                    section: [{member: arn, "Events": ["s3:ObjectCreated:*"]}]})
            self.assertEqual(e.exception.response["Error"]["Code"], "InvalidArgument")
        # Nothing was stored by the refused configurations.
        self.assertNotIn("TopicConfigurations", s3.get_bucket_notification_configuration(Bucket=bucket))

    def test_sns_delivers_to_a_function(self):
        f = self.f
        sns = self.d.client("sns")
        topic = sns.create_topic(Name=f.unique("alerts"))["TopicArn"]
        fn, sink = f.forwarder(f.unique("sns-fwd"))
        sub = sns.subscribe(TopicArn=topic, Protocol="lambda", Endpoint=fn)["SubscriptionArn"]
        sns.publish(TopicArn=topic, Message="temperature high", Subject="alert",
                    MessageAttributes={"level": {"DataType": "String", "StringValue": "warn"}})
        rec = records(f.events(sink, 1))[0]
        self.assertEqual(rec["EventSource"], "aws:sns")
        self.assertEqual(rec["EventSubscriptionArn"], sub)
        self.assertEqual(rec["Sns"]["Message"], "temperature high")
        self.assertEqual(rec["Sns"]["Subject"], "alert")
        self.assertEqual(rec["Sns"]["TopicArn"], topic)
        self.assertEqual(rec["Sns"]["MessageAttributes"]["level"], {"Type": "String", "Value": "warn"})


class TriggerDurability(unittest.TestCase):
    def test_kinesis_checkpoint_survives_restart(self):
        data_dir = None
        d = Daemon().start()
        try:
            data_dir = d.data_dir
            f = Fixture(d)
            kin = d.client("kinesis")
            arn = f.kinesis_stream("telemetry")
            fn, sink = f.forwarder("telemetry-fwd")
            m = f.lam.create_event_source_mapping(EventSourceArn=arn, FunctionName=fn, StartingPosition="TRIM_HORIZON")
            f.mapping_enabled(m["UUID"])
            for i in range(3):
                kin.put_record(StreamName="telemetry", Data=f"before {i}".encode(), PartitionKey="p")
            self.assertEqual(len(records(f.events(sink, 3))), 3)
            time.sleep(0.3)  # let the checkpoint land
            d.stop()

            d = Daemon(data_dir=data_dir).start()
            f = Fixture(d)
            kin = d.client("kinesis")
            self.assertEqual(f.lam.get_event_source_mapping(UUID=m["UUID"])["State"], "Enabled")
            kin.put_record(StreamName="telemetry", Data=b"after", PartitionKey="p")
            got = records(f.events(sink, 1))
            self.assertEqual([base64.b64decode(r["kinesis"]["data"]) for r in got], [b"after"])
            self.assertEqual(f.nothing_more(sink), [])
        finally:
            d.stop()
            if data_dir:
                import shutil
                shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    harness.main()
