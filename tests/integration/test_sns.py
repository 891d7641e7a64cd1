"""SNS through boto3 (query protocol): topics, subscriptions and their attributes, publish
fan-out into SQS (the envelope as AWS writes it, raw delivery, MessageStructure), filter
policies on attributes and bodies, FIFO topics into FIFO queues, HTTP subscriptions with a real
confirmation request, notifications, retries and dead-lettering, and recorded email/SMS."""
import http.server
import json
import queue
import threading
import unittest

import botocore.exceptions

import harness
from harness import Daemon, wait_for


def code_of(fn, *args, **kwargs):
    try:
        fn(*args, **kwargs)
    except botocore.exceptions.ClientError as e:
        return e.response["Error"]["Code"]
    raise AssertionError("expected a ClientError")


class Endpoint:
    """A local HTTP endpoint that records the POSTs it gets; answers `fail_first` of them with 500."""

    def __init__(self, fail_first=0):
        self.requests = queue.Queue()
        self.fail_first = fail_first
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
                failing = outer.fail_first > 0
                if failing:
                    outer.fail_first -= 1
                outer.requests.put((dict((k.lower(), v) for k, v in self.headers.items()), body, failing))
                self.send_response(500 if failing else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def next(self, timeout=15):
        return self.requests.get(timeout=timeout)

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class Sns(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.d = Daemon(in_memory=True).start()
        cls.sns = cls.d.client("sns")
        cls.sqs = cls.d.client("sqs")

    @classmethod
    def tearDownClass(cls):
        cls.d.cleanup()

    def queue(self, name, **attrs):
        url = self.sqs.create_queue(QueueName=name, Attributes=attrs)["QueueUrl"]
        arn = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        return url, arn

    def drain(self, url, expect, timeout=10):
        got = []

        def poll():
            r = self.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1,
                                         MessageAttributeNames=["All"], AttributeNames=["All"])
            for m in r.get("Messages", []):
                got.append(m)
                self.sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
            return len(got) >= expect

        wait_for(poll, timeout=timeout, interval=0, message=f"{expect} messages")
        return got

    def test_topics(self):
        arn = self.sns.create_topic(Name="t-life", Attributes={"DisplayName": "Life"}, Tags=[{"Key": "a", "Value": "1"}])["TopicArn"]
        self.assertEqual(arn, "arn:aws:sns:us-east-1:000000000000:t-life")
        self.assertEqual(self.sns.create_topic(Name="t-life")["TopicArn"], arn)
        self.assertEqual(code_of(self.sns.create_topic, Name="t-life", Attributes={"DisplayName": "Other"}), "InvalidParameter")
        self.assertIn(arn, [t["TopicArn"] for t in self.sns.list_topics()["Topics"]])
        a = self.sns.get_topic_attributes(TopicArn=arn)["Attributes"]
        self.assertEqual(a["DisplayName"], "Life")
        self.assertEqual(a["Owner"], "000000000000")
        self.assertEqual(a["SubscriptionsConfirmed"], "0")
        self.assertIn("Statement", json.loads(a["Policy"]))
        self.sns.set_topic_attributes(TopicArn=arn, AttributeName="DisplayName", AttributeValue="New")
        self.assertEqual(self.sns.get_topic_attributes(TopicArn=arn)["Attributes"]["DisplayName"], "New")
        self.assertEqual(code_of(self.sns.set_topic_attributes, TopicArn=arn, AttributeName="Bogus", AttributeValue="x"),
                         "InvalidParameter")
        self.sns.tag_resource(ResourceArn=arn, Tags=[{"Key": "b", "Value": "2"}])
        self.sns.untag_resource(ResourceArn=arn, TagKeys=["a"])
        self.assertEqual(self.sns.list_tags_for_resource(ResourceArn=arn)["Tags"], [{"Key": "b", "Value": "2"}])
        self.assertEqual(code_of(self.sns.create_topic, Name="bad name"), "InvalidParameter")
        self.assertEqual(code_of(self.sns.create_topic, Name="f.fifo"), "InvalidParameter")
        self.sns.delete_topic(TopicArn=arn)
        self.assertEqual(code_of(self.sns.get_topic_attributes, TopicArn=arn), "NotFound")
        self.assertEqual(code_of(self.sns.publish, TopicArn=arn, Message="x"), "NotFound")

    def test_fanout_envelope_and_raw(self):
        topic = self.sns.create_topic(Name="t-fan")["TopicArn"]
        q1, a1 = self.queue("fan-envelope")
        q2, a2 = self.queue("fan-raw")
        s1 = self.sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=a1)["SubscriptionArn"]
        self.sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=a2, Attributes={"RawMessageDelivery": "true"})
        attrs = {"color": {"DataType": "String", "StringValue": "red"},
                 "n": {"DataType": "Number", "StringValue": "5"},
                 "bin": {"DataType": "Binary", "BinaryValue": b"\x01\x02"}}
        mid = self.sns.publish(TopicArn=topic, Message="hello", Subject="Greeting", MessageAttributes=attrs)["MessageId"]
        env_msg = self.drain(q1, 1)[0]
        body = json.loads(env_msg["Body"])
        self.assertTrue(env_msg["Body"].startswith('{\n  "Type" : "Notification",\n  "MessageId" : '))
        self.assertEqual(list(body)[:6], ["Type", "MessageId", "TopicArn", "Subject", "Message", "Timestamp"])
        self.assertEqual((body["MessageId"], body["TopicArn"], body["Subject"], body["Message"]),
                         (mid, topic, "Greeting", "hello"))
        self.assertEqual(body["MessageAttributes"]["color"], {"Type": "String", "Value": "red"})
        self.assertEqual(body["MessageAttributes"]["bin"], {"Type": "Binary", "Value": "AQI="})
        self.assertIn(s1, body["UnsubscribeURL"])
        self.assertEqual(body["SignatureVersion"], "1")
        raw = self.drain(q2, 1)[0]
        self.assertEqual(raw["Body"], "hello")
        # Characters the envelope must escape (or keep) so that subscribers read the message back intact.
        tricky = 'say "hi" \\ path/to\tcol\nline\r end \u00e9t\u00e9 \u2603 \U0001f600 <x>&'
        self.sns.publish(TopicArn=topic, Message=tricky, Subject='quote " and \\')
        env_tricky = self.drain(q1, 1)[0]["Body"]
        self.assertEqual(json.loads(env_tricky)["Message"], tricky)
        self.assertEqual(json.loads(env_tricky)["Subject"], 'quote " and \\')
        self.assertIn('"say \\"hi\\" \\\\ path/to\\tcol\\nline\\r end \u00e9t\u00e9', env_tricky)
        self.assertEqual(self.drain(q2, 1)[0]["Body"], tricky)
        self.assertEqual(raw["MessageAttributes"]["color"]["StringValue"], "red")
        self.assertEqual(raw["MessageAttributes"]["bin"]["BinaryValue"], b"\x01\x02")
        # MessageStructure=json picks the sqs entry.
        self.sns.publish(TopicArn=topic, MessageStructure="json",
                         Message=json.dumps({"default": "dflt", "sqs": "for sqs"}))
        self.assertEqual(json.loads(self.drain(q1, 1)[0]["Body"])["Message"], "for sqs")
        self.assertEqual(code_of(self.sns.publish, TopicArn=topic, MessageStructure="json", Message='{"sqs":"x"}'),
                         "InvalidParameter")
        self.assertEqual(code_of(self.sns.publish, TopicArn=topic, Message=""), "InvalidParameter")
        self.assertEqual(code_of(self.sns.publish, TopicArn=topic, Message="x" * 262145), "InvalidParameter")

    def test_subscriptions_and_attributes(self):
        topic = self.sns.create_topic(Name="t-subs")["TopicArn"]
        _, arn = self.queue("subs-q")
        sub = self.sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)["SubscriptionArn"]
        self.assertEqual(self.sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)["SubscriptionArn"], sub)
        listed = self.sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
        self.assertEqual([(s["SubscriptionArn"], s["Protocol"], s["Endpoint"]) for s in listed], [(sub, "sqs", arn)])
        self.assertIn(sub, [s["SubscriptionArn"] for s in self.sns.list_subscriptions()["Subscriptions"]])
        a = self.sns.get_subscription_attributes(SubscriptionArn=sub)["Attributes"]
        self.assertEqual((a["RawMessageDelivery"], a["PendingConfirmation"], a["TopicArn"]), ("false", "false", topic))
        self.sns.set_subscription_attributes(SubscriptionArn=sub, AttributeName="FilterPolicy",
                                             AttributeValue=json.dumps({"k": ["v"]}))
        a = self.sns.get_subscription_attributes(SubscriptionArn=sub)["Attributes"]
        self.assertEqual(a["FilterPolicyScope"], "MessageAttributes")
        self.assertEqual(code_of(self.sns.set_subscription_attributes, SubscriptionArn=sub, AttributeName="FilterPolicy",
                                 AttributeValue=json.dumps({"k": [{"numeric": [">", "x"]}]})), "InvalidParameter")
        self.assertEqual(code_of(self.sns.set_subscription_attributes, SubscriptionArn=sub, AttributeName="FilterPolicy",
                                 AttributeValue=json.dumps({"a": {"b": ["c"]}})), "InvalidParameter")
        self.assertEqual(code_of(self.sns.subscribe, TopicArn=topic, Protocol="carrier-pigeon", Endpoint="x"),
                         "InvalidParameter")
        self.assertEqual(code_of(self.sns.subscribe, TopicArn=topic, Protocol="lambda", Endpoint="arn:aws:lambda:us-east-1:000000000000:function:f",
                                 Attributes={"RawMessageDelivery": "true"}), "InvalidParameter")
        self.sns.unsubscribe(SubscriptionArn=sub)
        self.assertEqual(code_of(self.sns.get_subscription_attributes, SubscriptionArn=sub), "NotFound")
        self.assertEqual(self.sns.get_topic_attributes(TopicArn=topic)["Attributes"]["SubscriptionsDeleted"], "1")

    def test_policies_of_any_shape_get_answers_not_internal_errors(self):
        topic = self.sns.create_topic(Name="shapes")["TopicArn"]
        _, arn = self.queue("shapes-sink")
        sub = self.sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)["SubscriptionArn"]
        self.assertEqual(code_of(self.sns.set_subscription_attributes, SubscriptionArn=sub,
                                 AttributeName="RedrivePolicy", AttributeValue=json.dumps({"deadLetterTargetArn": 5})),
                         "InvalidParameter")
        self.assertNotIn("RedrivePolicy", self.sns.get_subscription_attributes(SubscriptionArn=sub)["Attributes"])
        self.sns.set_topic_attributes(TopicArn=topic, AttributeName="Policy", AttributeValue=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Sid": 7, "Effect": "Allow", "Principal": "*", "Action": "SNS:*"}]}))
        self.sns.add_permission(TopicArn=topic, Label="l1", AWSAccountId=["111122223333"], ActionName=["Publish"])
        policy = json.loads(self.sns.get_topic_attributes(TopicArn=topic)["Attributes"]["Policy"])
        self.assertEqual([st["Sid"] for st in policy["Statement"]], [7, "l1"])
        self.sns.remove_permission(TopicArn=topic, Label="l1")
        policy = json.loads(self.sns.get_topic_attributes(TopicArn=topic)["Attributes"]["Policy"])
        self.assertEqual([st["Sid"] for st in policy["Statement"]], [7])
        # The single-statement form is kept, as a list of one, when a permission is added.
        self.sns.set_topic_attributes(TopicArn=topic, AttributeName="Policy", AttributeValue=json.dumps(
            {"Version": "2012-10-17", "Statement": {"Sid": "mine", "Effect": "Allow", "Principal": "*", "Action": "SNS:*"}}))
        self.sns.add_permission(TopicArn=topic, Label="l2", AWSAccountId=["111122223333"], ActionName=["Publish"])
        policy = json.loads(self.sns.get_topic_attributes(TopicArn=topic)["Attributes"]["Policy"])
        self.assertEqual([st["Sid"] for st in policy["Statement"]], ["mine", "l2"])

    def test_filter_policies(self):
        topic = self.sns.create_topic(Name="t-filter")["TopicArn"]
        policies = {
            "exact": {"store": ["shop"]},
            "prefix": {"store": [{"prefix": "sh"}]},
            "suffix": {"store": [{"suffix": "op"}]},
            "anything_but": {"store": [{"anything-but": ["shop", "mall"]}]},
            "numeric": {"price": [{"numeric": [">=", 10, "<", 20]}]},
            "exists_not": {"coupon": [{"exists": False}]},
            "ignore_case": {"store": [{"equals-ignore-case": "SHOP"}]},
            "cidr": {"ip": [{"cidr": "10.0.0.0/24"}]},
            "or": {"$or": [{"store": ["mall"]}, {"price": [{"numeric": ["=", 15]}]}]},
            "array": {"tags": ["b"]},
        }
        urls = {}
        for name, policy in policies.items():
            url, arn = self.queue(f"filter-{name}")
            urls[name] = url
            self.sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn,
                               Attributes={"FilterPolicy": json.dumps(policy), "RawMessageDelivery": "true"})
        def s(v):
            return {"DataType": "String", "StringValue": v}
        def n(v):
            return {"DataType": "Number", "StringValue": str(v)}
        self.sns.publish(TopicArn=topic, Message="m1", MessageAttributes={
            "store": s("shop"), "price": n(15), "ip": s("10.0.0.7"), "tags": {"DataType": "String.Array", "StringValue": '["a","b"]'}})
        self.sns.publish(TopicArn=topic, Message="m2", MessageAttributes={"store": s("other"), "price": n(25),
                                                                          "coupon": s("yes"), "ip": s("10.0.1.7")})
        expected = {"exact": ["m1"], "prefix": ["m1"], "suffix": ["m1"], "anything_but": ["m2"], "numeric": ["m1"],
                    "exists_not": ["m1"], "ignore_case": ["m1"], "cidr": ["m1"], "or": ["m1"], "array": ["m1"]}
        # A marker sent to every queue afterwards shows nothing else is on its way.
        for url in urls.values():
            self.sqs.send_message(QueueUrl=url, MessageBody="end")
        for name, want in expected.items():
            got = [m["Body"] for m in self.drain(urls[name], len(want) + 1)]
            self.assertEqual(sorted(got), sorted(want + ["end"]), name)

    def test_filter_policy_body_scope(self):
        topic = self.sns.create_topic(Name="t-body")["TopicArn"]
        url, arn = self.queue("filter-body")
        self.sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn, Attributes={
            "FilterPolicyScope": "MessageBody", "RawMessageDelivery": "true",
            "FilterPolicy": json.dumps({"order": {"kind": ["paid"], "total": [{"numeric": [">", 100]}]}})})
        self.sns.publish(TopicArn=topic, Message=json.dumps({"order": {"kind": "paid", "total": 150}}))
        self.sns.publish(TopicArn=topic, Message=json.dumps({"order": {"kind": "paid", "total": 50}}))
        self.sns.publish(TopicArn=topic, Message="not json")
        self.sqs.send_message(QueueUrl=url, MessageBody="end")
        got = [m["Body"] for m in self.drain(url, 2)]
        self.assertEqual(sorted(got), sorted([json.dumps({"order": {"kind": "paid", "total": 150}}), "end"]))

    def test_fifo_topic_to_fifo_queue(self):
        topic = self.sns.create_topic(Name="t-order.fifo", Attributes={"FifoTopic": "true",
                                                                       "ContentBasedDeduplication": "true"})["TopicArn"]
        url, arn = self.queue("fifo-sub.fifo", FifoQueue="true")
        self.sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
        self.assertEqual(code_of(self.sns.publish, TopicArn=topic, Message="x"), "InvalidParameter")
        first = self.sns.publish(TopicArn=topic, Message="one", MessageGroupId="g")
        dup = self.sns.publish(TopicArn=topic, Message="one", MessageGroupId="g")
        self.assertEqual(first["MessageId"], dup["MessageId"])
        self.assertIn("SequenceNumber", first)
        r = self.sns.publish_batch(TopicArn=topic, PublishBatchRequestEntries=[
            {"Id": "a", "Message": "two", "MessageGroupId": "g"},
            {"Id": "b", "Message": "three", "MessageGroupId": "g"},
            {"Id": "c", "Message": "no group"}])
        self.assertEqual([e["Id"] for e in r["Successful"]], ["a", "b"])
        self.assertEqual(r["Failed"][0]["Id"], "c")
        got = self.drain(url, 3)
        self.assertEqual([json.loads(m["Body"])["Message"] for m in got], ["one", "two", "three"])
        self.assertEqual(got[0]["Attributes"]["MessageGroupId"], "g")

    def test_http_confirmation_and_delivery(self):
        ep = Endpoint()
        try:
            topic = self.sns.create_topic(Name="t-http")["TopicArn"]
            r = self.sns.subscribe(TopicArn=topic, Protocol="http", Endpoint=ep.url)
            self.assertEqual(r["SubscriptionArn"], "pending confirmation")
            headers, body, _ = ep.next()
            self.assertEqual(headers["x-amz-sns-message-type"], "SubscriptionConfirmation")
            conf = json.loads(body)
            self.assertEqual(conf["Type"], "SubscriptionConfirmation")
            self.assertEqual(conf["TopicArn"], topic)
            self.assertIn("Action=ConfirmSubscription", conf["SubscribeURL"])
            pending = self.sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"][0]
            self.assertEqual(pending["SubscriptionArn"], "PendingConfirmation")
            # Visiting the SubscribeURL confirms, as with AWS.
            status, _, xml = self.d.http("GET", conf["SubscribeURL"][len(self.d.endpoint):])
            self.assertEqual(status, 200, xml)
            sub = self.sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"][0]["SubscriptionArn"]
            self.assertIn(sub.encode(), xml)
            self.sns.publish(TopicArn=topic, Message="to http", Subject="S")
            headers, body, _ = ep.next()
            self.assertEqual(headers["x-amz-sns-message-type"], "Notification")
            self.assertEqual(headers["x-amz-sns-topic-arn"], topic)
            self.assertEqual(headers["x-amz-sns-subscription-arn"], sub)
            self.assertEqual(json.loads(body)["Message"], "to http")
            self.assertEqual(headers["x-amz-sns-message-id"], json.loads(body)["MessageId"])
        finally:
            ep.close()

    def test_http_retries_then_dead_letter(self):
        ep = Endpoint()
        try:
            topic = self.sns.create_topic(Name="t-retry", Attributes={"DeliveryPolicy": json.dumps(
                {"http": {"defaultHealthyRetryPolicy": {"minDelayTarget": 1, "maxDelayTarget": 1, "numRetries": 2}}})})["TopicArn"]
            dlq_url, dlq_arn = self.queue("http-dlq")
            self.sns.subscribe(TopicArn=topic, Protocol="http", Endpoint=ep.url)
            token = json.loads(ep.next()[1])["Token"]
            sub = self.sns.confirm_subscription(TopicArn=topic, Token=token)["SubscriptionArn"]
            self.assertEqual(code_of(self.sns.confirm_subscription, TopicArn=topic, Token="wrong"), "InvalidParameter")
            self.sns.set_subscription_attributes(SubscriptionArn=sub, AttributeName="RawMessageDelivery", AttributeValue="true")
            ep.fail_first = 1
            self.sns.publish(TopicArn=topic, Message="retry me")
            h1, b1, failed1 = ep.next()
            h2, b2, failed2 = ep.next()
            self.assertEqual((failed1, failed2), (True, False))
            self.assertEqual((b1, b2), ("retry me", "retry me"))
            self.assertEqual(h2["x-amz-sns-rawdelivery"], "true")
            # Every attempt fails: after the retries the message lands in the subscription's DLQ.
            self.sns.set_subscription_attributes(SubscriptionArn=sub, AttributeName="RedrivePolicy",
                                                 AttributeValue=json.dumps({"deadLetterTargetArn": dlq_arn}))
            ep.fail_first = 100
            self.sns.publish(TopicArn=topic, Message="doomed")
            got = self.drain(dlq_url, 1, timeout=20)
            self.assertEqual(got[0]["Body"], "doomed")
        finally:
            ep.close()

    def test_email_and_sms_recorded(self):
        topic = self.sns.create_topic(Name="t-mail")["TopicArn"]
        self.sns.subscribe(TopicArn=topic, Protocol="sms", Endpoint="+15550100")
        self.sns.subscribe(TopicArn=topic, Protocol="email", Endpoint="ops@example.com")
        self.sns.publish(TopicArn=topic, Message="alert!")
        self.sns.publish(PhoneNumber="+15550199", Message="direct")

        def recorded():
            _, _, body = self.d.http("GET", "/_sless/health")
            return json.loads(body)["services"]["sns"]["recorded"]

        rec = wait_for(lambda: len(recorded()) >= 3 and recorded(), message="recorded messages")
        kinds = {(r["protocol"], r["endpoint"], r["type"]) for r in rec}
        self.assertIn(("sms", "+15550100", "Notification"), kinds)
        self.assertIn(("sms", "+15550199", "Notification"), kinds)
        self.assertIn(("email", "ops@example.com", "SubscriptionConfirmation"), kinds)
        # The email subscription is pending: the alert was not sent to it.
        self.assertNotIn(("email", "ops@example.com", "Notification"), kinds)

    def test_aws_cli(self):
        topic = self.d.aws("sns", "create-topic", "--name", "t-cli")["TopicArn"]
        url, arn = self.queue("cli-sub")
        self.d.aws("sns", "subscribe", "--topic-arn", topic, "--protocol", "sqs", "--notification-endpoint", arn)
        mid = self.d.aws("sns", "publish", "--topic-arn", topic, "--message", "from cli")["MessageId"]
        body = json.loads(self.drain(url, 1)[0]["Body"])
        self.assertEqual((body["MessageId"], body["Message"]), (mid, "from cli"))
        proc = self.d.aws("sns", "get-topic-attributes", "--topic-arn", topic + "-missing", check=False)
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn("NotFound", proc.stderr)


if __name__ == "__main__":
    harness.main()
