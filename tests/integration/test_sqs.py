"""SQS through real clients: boto3 on the JSON protocol, boto3 on the query protocol (Debian's
botocore 1.29 under /usr/bin/python3), the aws CLI. Queues, messages and their attributes
(boto3 verifies every MD5), visibility, delays, long polls, batches, FIFO, dead-letter queues
and redrive, errors as clients see them."""
import base64
import json
import os
import subprocess
import threading
import time
import unittest

import botocore.exceptions

import harness
from harness import Daemon, wait_for

QUERY_PYTHON = "/usr/bin/python3"


def code_of(fn, *args, **kwargs):
    try:
        fn(*args, **kwargs)
    except botocore.exceptions.ClientError as e:
        return e.response["Error"]["Code"]
    raise AssertionError("expected a ClientError")


class Sqs(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.d = Daemon(in_memory=True).start()
        cls.c = cls.d.client("sqs")

    @classmethod
    def tearDownClass(cls):
        cls.d.cleanup()

    def queue(self, name, **attrs):
        return self.c.create_queue(QueueName=name, Attributes={k: str(v) for k, v in attrs.items()})["QueueUrl"]

    def arn(self, url):
        return self.c.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]

    # -- queues ------------------------------------------------------------------------------

    def test_create_get_list_delete(self):
        url = self.queue("life-1", VisibilityTimeout=45)
        self.assertTrue(url.endswith("/000000000000/life-1"))
        self.assertEqual(self.c.get_queue_url(QueueName="life-1")["QueueUrl"], url)
        # Same attributes: the same URL; different ones: QueueAlreadyExists.
        self.assertEqual(self.queue("life-1", VisibilityTimeout=45), url)
        self.assertEqual(code_of(self.c.create_queue, QueueName="life-1", Attributes={"VisibilityTimeout": "10"}),
                         "QueueAlreadyExists")
        for i in range(3):
            self.queue(f"life-page-{i}")
        listed = self.c.list_queues(QueueNamePrefix="life-page-")["QueueUrls"]
        self.assertEqual([u.rsplit("/", 1)[1] for u in listed], ["life-page-0", "life-page-1", "life-page-2"])
        page = self.c.list_queues(QueueNamePrefix="life-page-", MaxResults=2)
        self.assertEqual(len(page["QueueUrls"]), 2)
        rest = self.c.list_queues(QueueNamePrefix="life-page-", MaxResults=2, NextToken=page["NextToken"])
        self.assertEqual([u.rsplit("/", 1)[1] for u in rest["QueueUrls"]], ["life-page-2"])
        self.assertNotIn("NextToken", rest)
        self.c.delete_queue(QueueUrl=url)
        self.assertEqual(code_of(self.c.get_queue_url, QueueName="life-1"), "AWS.SimpleQueueService.NonExistentQueue")
        self.assertEqual(code_of(self.c.send_message, QueueUrl=url, MessageBody="x"),
                         "AWS.SimpleQueueService.NonExistentQueue")

    def test_invalid_names_and_attributes(self):
        self.assertEqual(code_of(self.c.create_queue, QueueName="bad name"), "InvalidParameterValue")
        self.assertEqual(code_of(self.c.create_queue, QueueName="x" * 81), "InvalidParameterValue")
        self.assertEqual(code_of(self.c.create_queue, QueueName="nofifo.fifo"), "InvalidParameterValue")
        self.assertEqual(code_of(self.c.create_queue, QueueName="a1", Attributes={"VisibilityTimeout": "43201"}),
                         "InvalidAttributeValue")
        self.assertEqual(code_of(self.c.create_queue, QueueName="a1", Attributes={"Bogus": "1"}),
                         "InvalidAttributeName")
        self.assertEqual(code_of(self.c.create_queue, QueueName="a1", Attributes={"ContentBasedDeduplication": "true"}),
                         "InvalidAttributeName")
        url = self.queue("attrs-1")
        self.assertEqual(code_of(self.c.get_queue_attributes, QueueUrl=url, AttributeNames=["Nope"]),
                         "InvalidAttributeName")

    def test_attributes_defaults_set_and_computed(self):
        url = self.queue("attrs-2")
        a = self.c.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        self.assertEqual(a["VisibilityTimeout"], "30")
        self.assertEqual(a["MaximumMessageSize"], "1048576")
        self.assertEqual(a["MessageRetentionPeriod"], "345600")
        self.assertEqual(a["ApproximateNumberOfMessages"], "0")
        self.assertEqual(a["QueueArn"], "arn:aws:sqs:us-east-1:000000000000:attrs-2")
        self.assertGreater(int(a["CreatedTimestamp"]), 1_600_000_000)
        self.c.set_queue_attributes(QueueUrl=url, Attributes={"DelaySeconds": "5", "Policy": json.dumps({"Version": "2012-10-17", "Statement": []})})
        a = self.c.get_queue_attributes(QueueUrl=url, AttributeNames=["DelaySeconds", "Policy"])["Attributes"]
        self.assertEqual(a["DelaySeconds"], "5")
        self.assertIn("Statement", json.loads(a["Policy"]))
        self.c.send_message(QueueUrl=url, MessageBody="later")
        a = self.c.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        self.assertEqual(a["ApproximateNumberOfMessagesDelayed"], "1")
        self.assertEqual(a["ApproximateNumberOfMessages"], "0")

    def test_tags_and_permissions(self):
        url = self.c.create_queue(QueueName="tags-1", tags={"team": "a"})["QueueUrl"]
        self.c.tag_queue(QueueUrl=url, Tags={"env": "dev"})
        self.assertEqual(self.c.list_queue_tags(QueueUrl=url)["Tags"], {"team": "a", "env": "dev"})
        self.c.untag_queue(QueueUrl=url, TagKeys=["team"])
        self.assertEqual(self.c.list_queue_tags(QueueUrl=url)["Tags"], {"env": "dev"})
        self.c.add_permission(QueueUrl=url, Label="l1", AWSAccountIds=["111122223333"], Actions=["SendMessage"])
        self.assertEqual(code_of(self.c.add_permission, QueueUrl=url, Label="l1", AWSAccountIds=["111122223333"],
                                 Actions=["SendMessage"]), "InvalidParameterValue")
        policy = json.loads(self.c.get_queue_attributes(QueueUrl=url, AttributeNames=["Policy"])["Attributes"]["Policy"])
        self.assertEqual(policy["Statement"][0]["Sid"], "l1")
        self.assertEqual(policy["Statement"][0]["Action"], "SQS:SendMessage")
        self.c.remove_permission(QueueUrl=url, Label="l1")
        self.assertEqual(code_of(self.c.remove_permission, QueueUrl=url, Label="l1"), "InvalidParameterValue")

    def test_policies_of_any_shape_get_answers_not_internal_errors(self):
        # Policies arrive as JSON inside strings: members of another type than AWS's are the
        # client's error (400), and the IAM forms sless did not write itself still work.
        url = self.queue("shapes-1")
        dlq_arn = self.arn(self.queue("shapes-dlq"))
        self.assertEqual(code_of(self.c.set_queue_attributes, QueueUrl=url, Attributes={
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": 5, "maxReceiveCount": 2})}), "InvalidParameterValue")
        self.assertEqual(code_of(self.c.set_queue_attributes, QueueUrl=url, Attributes={
            "RedriveAllowPolicy": json.dumps({"redrivePermission": 5})}), "InvalidAttributeValue")
        self.assertNotIn("RedrivePolicy", self.c.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"])
        self.c.set_queue_attributes(QueueUrl=url, Attributes={
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 2})})
        # A single statement object with a numeric Sid, as a hand-written policy may have.
        self.c.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps(
            {"Version": "2012-10-17", "Statement": {"Sid": 7, "Effect": "Allow", "Principal": "*", "Action": "SQS:*"}})})
        self.c.add_permission(QueueUrl=url, Label="l1", AWSAccountIds=["111122223333"], Actions=["SendMessage"])
        policy = json.loads(self.c.get_queue_attributes(QueueUrl=url, AttributeNames=["Policy"])["Attributes"]["Policy"])
        self.assertEqual([st["Sid"] for st in policy["Statement"]], [7, "l1"])
        self.c.remove_permission(QueueUrl=url, Label="l1")
        policy = json.loads(self.c.get_queue_attributes(QueueUrl=url, AttributeNames=["Policy"])["Attributes"]["Policy"])
        self.assertEqual([st["Sid"] for st in policy["Statement"]], [7])
        self.assertEqual(code_of(self.c.remove_permission, QueueUrl=url, Label="l1"), "InvalidParameterValue")

    # -- messages ----------------------------------------------------------------------------

    def test_message_attributes_and_md5(self):
        url = self.queue("msg-1")
        attrs = {"s": {"DataType": "String", "StringValue": "héllo"},
                 "n": {"DataType": "Number", "StringValue": "-12.5e3"},
                 "b": {"DataType": "Binary", "BinaryValue": b"\x00\xffbin"},
                 "c": {"DataType": "String.custom", "StringValue": "x"},
                 "pre.one": {"DataType": "String", "StringValue": "1"}}
        sent = self.c.send_message(QueueUrl=url, MessageBody="body ✓", MessageAttributes=attrs,
                                   MessageSystemAttributes={"AWSTraceHeader": {"DataType": "String",
                                                                               "StringValue": "Root=1-abc"}})
        self.assertIn("MD5OfMessageSystemAttributes", sent)
        got = self.c.receive_message(QueueUrl=url, MessageAttributeNames=["All"],
                                     MessageSystemAttributeNames=["All"])["Messages"][0]
        self.assertEqual(got["Body"], "body ✓")
        self.assertEqual(got["MessageAttributes"]["b"]["BinaryValue"], b"\x00\xffbin")
        self.assertEqual(got["MD5OfMessageAttributes"], sent["MD5OfMessageAttributes"])
        self.assertEqual(got["Attributes"]["AWSTraceHeader"], "Root=1-abc")
        self.assertEqual(got["Attributes"]["ApproximateReceiveCount"], "1")
        # A prefix selects a subset (its MD5 is of that subset: boto3 checks it).
        self.c.change_message_visibility(QueueUrl=url, ReceiptHandle=got["ReceiptHandle"], VisibilityTimeout=0)
        sub = self.c.receive_message(QueueUrl=url, MessageAttributeNames=["pre.*", "s"])["Messages"][0]
        self.assertEqual(sorted(sub["MessageAttributes"]), ["pre.one", "s"])
        self.assertNotIn("Attributes", sub)

    def test_message_validation(self):
        url = self.queue("msg-2")
        self.assertEqual(code_of(self.c.send_message, QueueUrl=url, MessageBody="a\x01b"), "InvalidMessageContents")
        self.assertEqual(code_of(self.c.send_message, QueueUrl=url, MessageBody="x" * (1024 * 1024 + 1)),
                         "InvalidParameterValue")
        self.c.send_message(QueueUrl=url, MessageBody="x" * (1024 * 1024))
        self.assertEqual(code_of(self.c.send_message, QueueUrl=url, MessageBody="x",
                                 MessageAttributes={"AWS.x": {"DataType": "String", "StringValue": "v"}}),
                         "InvalidParameterValue")
        self.assertEqual(code_of(self.c.send_message, QueueUrl=url, MessageBody="x",
                                 MessageAttributes={"n": {"DataType": "Number", "StringValue": "abc"}}),
                         "InvalidParameterValue")
        self.assertEqual(code_of(self.c.send_message, QueueUrl=url, MessageBody="x", DelaySeconds=901),
                         "InvalidParameterValue")
        self.assertEqual(code_of(self.c.receive_message, QueueUrl=url, MaxNumberOfMessages=11), "InvalidParameterValue")
        self.assertEqual(code_of(self.c.delete_message, QueueUrl=url, ReceiptHandle="garbage"), "ReceiptHandleIsInvalid")
        small = self.queue("msg-small", MaximumMessageSize=1024)
        self.assertEqual(code_of(self.c.send_message, QueueUrl=small, MessageBody="y" * 1025), "InvalidParameterValue")

    def test_visibility_and_stale_receipts(self):
        url = self.queue("vis-1")
        self.c.send_message(QueueUrl=url, MessageBody="m")
        first = self.c.receive_message(QueueUrl=url, VisibilityTimeout=1)["Messages"][0]
        self.assertNotIn("Messages", self.c.receive_message(QueueUrl=url))
        again = wait_for(lambda: self.c.receive_message(QueueUrl=url, VisibilityTimeout=30).get("Messages"),
                         timeout=10, interval=0.2, message="message visible again")[0]
        self.assertEqual(again["MessageId"], first["MessageId"])
        self.assertNotEqual(again["ReceiptHandle"], first["ReceiptHandle"])
        # The first receipt is stale: visibility cannot be changed with it, and deleting with it
        # leaves the message in place.
        self.assertEqual(code_of(self.c.change_message_visibility, QueueUrl=url, ReceiptHandle=first["ReceiptHandle"],
                                 VisibilityTimeout=0), "InvalidParameterValue")
        self.c.delete_message(QueueUrl=url, ReceiptHandle=first["ReceiptHandle"])
        a = self.c.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessagesNotVisible"])
        self.assertEqual(a["Attributes"]["ApproximateNumberOfMessagesNotVisible"], "1")
        self.c.delete_message(QueueUrl=url, ReceiptHandle=again["ReceiptHandle"])
        a = self.c.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        self.assertEqual((a["ApproximateNumberOfMessages"], a["ApproximateNumberOfMessagesNotVisible"]), ("0", "0"))

    def test_delay_per_message(self):
        url = self.queue("delay-1")
        self.c.send_message(QueueUrl=url, MessageBody="late", DelaySeconds=1)
        self.c.send_message(QueueUrl=url, MessageBody="now")
        got = self.c.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
        self.assertEqual([m["Body"] for m in got], ["now"])
        late = wait_for(lambda: self.c.receive_message(QueueUrl=url).get("Messages"), timeout=10, interval=0.1,
                        message="delayed message")
        self.assertEqual(late[0]["Body"], "late")

    def test_long_poll_woken_by_send(self):
        url = self.queue("poll-1")
        result = {}

        def poll():
            result["r"] = self.d.client("sqs").receive_message(QueueUrl=url, WaitTimeSeconds=20)

        t = threading.Thread(target=poll)
        t.start()
        time.sleep(0.3)  # let the poll park; the send below must wake it whenever it lands
        self.c.send_message(QueueUrl=url, MessageBody="wake")
        t.join(25)
        # An unwoken poll would have answered empty after 20 s.
        self.assertEqual(result["r"]["Messages"][0]["Body"], "wake")

    def test_long_poll_woken_by_delay_expiry(self):
        url = self.queue("poll-2")
        self.c.send_message(QueueUrl=url, MessageBody="soon", DelaySeconds=1)
        got = self.c.receive_message(QueueUrl=url, WaitTimeSeconds=10)
        self.assertEqual(got["Messages"][0]["Body"], "soon")

    def test_batches(self):
        url = self.queue("batch-1")
        r = self.c.send_message_batch(QueueUrl=url, Entries=[
            {"Id": "a", "MessageBody": "1"}, {"Id": "b", "MessageBody": "2"},
            {"Id": "bad", "MessageBody": "x", "DelaySeconds": 1000}])
        self.assertEqual(sorted(e["Id"] for e in r["Successful"]), ["a", "b"])
        self.assertEqual(r["Failed"][0]["Id"], "bad")
        self.assertTrue(r["Failed"][0]["SenderFault"])
        got = self.c.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
        self.assertEqual(len(got), 2)
        r = self.c.change_message_visibility_batch(QueueUrl=url, Entries=[
            {"Id": "x", "ReceiptHandle": got[0]["ReceiptHandle"], "VisibilityTimeout": 100},
            {"Id": "y", "ReceiptHandle": "junk", "VisibilityTimeout": 1}])
        self.assertEqual([e["Id"] for e in r["Successful"]], ["x"])
        self.assertEqual(r["Failed"][0]["Code"], "ReceiptHandleIsInvalid")
        r = self.c.delete_message_batch(QueueUrl=url, Entries=[
            {"Id": f"d{i}", "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(got)])
        self.assertEqual(len(r["Successful"]), 2)
        self.assertEqual(code_of(self.c.send_message_batch, QueueUrl=url, Entries=[]),
                         "AWS.SimpleQueueService.EmptyBatchRequest")
        self.assertEqual(code_of(self.c.send_message_batch, QueueUrl=url,
                                 Entries=[{"Id": str(i), "MessageBody": "x"} for i in range(11)]),
                         "AWS.SimpleQueueService.TooManyEntriesInBatchRequest")
        self.assertEqual(code_of(self.c.send_message_batch, QueueUrl=url,
                                 Entries=[{"Id": "s", "MessageBody": "x"}, {"Id": "s", "MessageBody": "y"}]),
                         "AWS.SimpleQueueService.BatchEntryIdsNotDistinct")
        self.assertEqual(code_of(self.c.send_message_batch, QueueUrl=url, Entries=[{"Id": "no spaces", "MessageBody": "x"}]),
                         "AWS.SimpleQueueService.InvalidBatchEntryId")

    def test_purge(self):
        url = self.queue("purge-1")
        self.c.send_message(QueueUrl=url, MessageBody="x")
        self.c.purge_queue(QueueUrl=url)
        self.assertNotIn("Messages", self.c.receive_message(QueueUrl=url))
        self.assertEqual(code_of(self.c.purge_queue, QueueUrl=url), "AWS.SimpleQueueService.PurgeQueueInProgress")

    def test_queue_url_forms(self):
        url = self.queue("urls-1")
        for form in ["http://sqs.us-east-1.amazonaws.com/000000000000/urls-1",
                     "https://sqs.us-east-1.localhost.localstack.cloud:4566/000000000000/urls-1",
                     "http://somewhere.else:1234/000000000000/urls-1"]:
            self.c.send_message(QueueUrl=form, MessageBody=form)
        bodies = sorted(m["Body"] for m in self.c.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"])
        self.assertEqual(len(bodies), 3)

    # -- FIFO --------------------------------------------------------------------------------

    def test_fifo_order_groups_and_dedup(self):
        url = self.queue("order-1.fifo", FifoQueue="true")
        self.assertEqual(code_of(self.c.send_message, QueueUrl=url, MessageBody="x", MessageGroupId="g"),
                         "InvalidParameterValue")  # no dedup id, no content-based dedup
        self.assertEqual(code_of(self.c.send_message, QueueUrl=url, MessageBody="x", MessageDeduplicationId="d"),
                         "MissingParameter")
        seqs = []
        for i in range(4):
            r = self.c.send_message(QueueUrl=url, MessageBody=f"a{i}", MessageGroupId="A", MessageDeduplicationId=f"a{i}")
            seqs.append(int(r["SequenceNumber"]))
        self.assertEqual(seqs, sorted(seqs))
        dup = self.c.send_message(QueueUrl=url, MessageBody="a0 again", MessageGroupId="A", MessageDeduplicationId="a0")
        self.c.send_message(QueueUrl=url, MessageBody="b0", MessageGroupId="B", MessageDeduplicationId="b0")
        first = self.c.receive_message(QueueUrl=url, MaxNumberOfMessages=2, AttributeNames=["All"])["Messages"]
        self.assertEqual([m["Body"] for m in first], ["a0", "a1"])
        self.assertEqual(first[0]["Attributes"]["MessageGroupId"], "A")
        self.assertEqual(first[0]["MessageId"], dup["MessageId"])
        # Group A is in flight: only B is served.
        second = self.c.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
        self.assertEqual([m["Body"] for m in second], ["b0"])
        self.assertNotIn("Messages", self.c.receive_message(QueueUrl=url))
        for m in first:
            self.c.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
        rest = self.c.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
        self.assertEqual([m["Body"] for m in rest], ["a2", "a3"])

    def test_fifo_long_poll_woken_by_delete(self):
        url = self.queue("fifo-poll.fifo", FifoQueue="true", ContentBasedDeduplication="true")
        self.c.send_message(QueueUrl=url, MessageBody="first", MessageGroupId="g")
        self.c.send_message(QueueUrl=url, MessageBody="second", MessageGroupId="g")
        first = self.c.receive_message(QueueUrl=url)["Messages"][0]
        result = {}

        def poll():
            result["r"] = self.d.client("sqs").receive_message(QueueUrl=url, WaitTimeSeconds=20)

        t = threading.Thread(target=poll)
        t.start()
        time.sleep(0.3)  # the poll parks: the group is blocked behind "first"
        self.c.delete_message(QueueUrl=url, ReceiptHandle=first["ReceiptHandle"])
        t.join(25)
        self.assertEqual(result["r"]["Messages"][0]["Body"], "second")

    def test_fifo_content_dedup_scope_and_attempt_id(self):
        url = self.queue("cbd-1.fifo", FifoQueue="true", ContentBasedDeduplication="true",
                         DeduplicationScope="messageGroup", FifoThroughputLimit="perMessageGroupId")
        a = self.c.send_message(QueueUrl=url, MessageBody="same", MessageGroupId="g1")
        b = self.c.send_message(QueueUrl=url, MessageBody="same", MessageGroupId="g1")
        c = self.c.send_message(QueueUrl=url, MessageBody="same", MessageGroupId="g2")
        self.assertEqual(a["MessageId"], b["MessageId"])
        self.assertNotEqual(a["MessageId"], c["MessageId"])
        r1 = self.c.receive_message(QueueUrl=url, MaxNumberOfMessages=10, ReceiveRequestAttemptId="try-1")["Messages"]
        r2 = self.c.receive_message(QueueUrl=url, MaxNumberOfMessages=10, ReceiveRequestAttemptId="try-1")["Messages"]
        self.assertEqual(len(r1), 2)
        self.assertEqual([m["ReceiptHandle"] for m in r1], [m["ReceiptHandle"] for m in r2])
        self.assertEqual(code_of(self.c.send_message, QueueUrl=url, MessageBody="x", MessageGroupId="g", DelaySeconds=1),
                         "InvalidParameterValue")

    def test_fifo_concurrent_consumers_keep_order(self):
        url = self.queue("conc-1.fifo", FifoQueue="true", ContentBasedDeduplication="true")
        groups = ["g0", "g1", "g2"]
        for i in range(20):
            self.c.send_message_batch(QueueUrl=url, Entries=[
                {"Id": g, "MessageBody": f"{g}:{i}", "MessageGroupId": g} for g in groups])
        seen = {g: [] for g in groups}
        lock = threading.Lock()

        def consume():
            c = self.d.client("sqs")
            idle = 0
            while idle < 3:
                got = c.receive_message(QueueUrl=url, MaxNumberOfMessages=3, VisibilityTimeout=30).get("Messages", [])
                if not got:
                    idle += 1
                    continue
                idle = 0
                with lock:
                    for m in got:
                        g, i = m["Body"].split(":")
                        seen[g].append(int(i))
                c.delete_message_batch(QueueUrl=url, Entries=[
                    {"Id": str(k), "ReceiptHandle": m["ReceiptHandle"]} for k, m in enumerate(got)])

        threads = [threading.Thread(target=consume) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        for g in groups:
            self.assertEqual(seen[g], list(range(20)))

    # -- dead-letter queues ------------------------------------------------------------------

    def test_dead_letter_queue_and_redrive(self):
        dlq = self.queue("dlq-1")
        dlq_arn = self.arn(dlq)
        self.assertEqual(code_of(self.c.create_queue, QueueName="src-bad", Attributes={
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": "arn:aws:sqs:us-east-1:000000000000:none",
                                         "maxReceiveCount": 2})}), "InvalidParameterValue")
        self.assertEqual(code_of(self.c.create_queue, QueueName="src-bad", Attributes={
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 0})}), "InvalidParameterValue")
        fifo_dlq = self.arn(self.queue("dlq-f.fifo", FifoQueue="true"))
        self.assertEqual(code_of(self.c.create_queue, QueueName="src-bad", Attributes={
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": fifo_dlq, "maxReceiveCount": 1})}), "InvalidParameterValue")
        closed = self.arn(self.queue("dlq-closed", RedriveAllowPolicy=json.dumps({"redrivePermission": "denyAll"})))
        self.assertEqual(code_of(self.c.create_queue, QueueName="src-bad", Attributes={
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": closed, "maxReceiveCount": 1})}), "InvalidParameterValue")
        src = self.queue("src-1", RedrivePolicy=json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 2}))
        self.assertEqual(self.c.list_dead_letter_source_queues(QueueUrl=dlq)["queueUrls"], [src])
        self.c.send_message(QueueUrl=src, MessageBody="poison")
        for _ in range(2):
            m = self.c.receive_message(QueueUrl=src, VisibilityTimeout=0)["Messages"][0]
        self.assertNotIn("Messages", self.c.receive_message(QueueUrl=src))
        moved = self.c.receive_message(QueueUrl=dlq, AttributeNames=["All"], VisibilityTimeout=0)["Messages"][0]
        self.assertEqual(moved["MessageId"], m["MessageId"])
        self.assertEqual(moved["Attributes"]["DeadLetterQueueSourceArn"], self.arn(src))
        # Redrive back to the source.
        handle = self.c.start_message_move_task(SourceArn=dlq_arn)["TaskHandle"]
        wait_for(lambda: self.c.list_message_move_tasks(SourceArn=dlq_arn)["Results"][0]["Status"] == "COMPLETED",
                 timeout=10, interval=0.1, message="move task")
        task = self.c.list_message_move_tasks(SourceArn=dlq_arn)["Results"][0]
        self.assertEqual(task["ApproximateNumberOfMessagesMoved"], 1)
        back = self.c.receive_message(QueueUrl=src)["Messages"][0]
        self.assertEqual(back["Body"], "poison")
        self.assertEqual(code_of(self.c.cancel_message_move_task, TaskHandle=handle), "ResourceNotFoundException")
        self.assertEqual(code_of(self.c.start_message_move_task, SourceArn=self.arn(src)), "InvalidParameterValue")

    # -- other clients -----------------------------------------------------------------------

    def test_query_protocol_client(self):
        if not os.path.exists(QUERY_PYTHON):
            self.skipTest("no system python with a query-protocol botocore")
        script = r'''
import json, sys, boto3, botocore
c = boto3.client("sqs", endpoint_url=sys.argv[1], region_name="us-east-1", aws_access_key_id="AKID",
                 aws_secret_access_key="s")
out = {"botocore": botocore.__version__}
u = c.create_queue(QueueName="query-1", Attributes={"DelaySeconds": "0"}, tags={"t": "v"})["QueueUrl"]
out["url"] = u
r = c.send_message(QueueUrl=u, MessageBody="q<&>", MessageAttributes={
    "s": {"DataType": "String", "StringValue": "v"}, "b": {"DataType": "Binary", "BinaryValue": b"\x01"}})
b = c.send_message_batch(QueueUrl=u, Entries=[{"Id": "1", "MessageBody": "two"}, {"Id": "2", "MessageBody": "x", "DelaySeconds": 999}])
out["batch"] = [len(b["Successful"]), len(b["Failed"])]
m = c.receive_message(QueueUrl=u, MaxNumberOfMessages=10, MessageAttributeNames=["All"], AttributeNames=["All"])["Messages"]
out["bodies"] = sorted(x["Body"] for x in m)
out["attr"] = [x for x in m if x["Body"] == "q<&>"][0]["MessageAttributes"]["s"]["StringValue"]
d = c.delete_message_batch(QueueUrl=u, Entries=[{"Id": str(i), "ReceiptHandle": x["ReceiptHandle"]} for i, x in enumerate(m)])
out["deleted"] = len(d["Successful"])
out["attrs"] = c.get_queue_attributes(QueueUrl=u, AttributeNames=["All"])["Attributes"]["ApproximateNumberOfMessages"]
out["tags"] = c.list_queue_tags(QueueUrl=u)["Tags"]
out["list"] = c.list_queues(QueueNamePrefix="query-")["QueueUrls"]
try:
    c.get_queue_url(QueueName="missing")
except botocore.exceptions.ClientError as e:
    out["error"] = e.response["Error"]["Code"]
try:
    c.receive_message(QueueUrl=u, WaitTimeSeconds=30)
except botocore.exceptions.ClientError as e:
    out["error2"] = e.response["Error"]["Code"]
print(json.dumps(out))
'''
        proc = subprocess.run([QUERY_PYTHON, "-c", script, self.d.endpoint], capture_output=True, text=True, timeout=60,
                              env={"PATH": "/usr/bin:/bin", "HOME": os.environ.get("HOME", "/tmp")})
        self.assertEqual(proc.returncode, 0, proc.stderr)
        out = json.loads(proc.stdout)
        self.assertTrue(out["botocore"].startswith("1.29"))
        self.assertEqual(out["batch"], [1, 1])
        self.assertEqual(out["bodies"], ["q<&>", "two"])
        self.assertEqual(out["attr"], "v")
        self.assertEqual(out["deleted"], 2)
        self.assertEqual(out["attrs"], "0")
        self.assertEqual(out["tags"], {"t": "v"})
        self.assertEqual(out["list"], [out["url"]])
        self.assertEqual(out["error"], "AWS.SimpleQueueService.NonExistentQueue")
        self.assertEqual(out["error2"], "InvalidParameterValue")

    def test_query_protocol_posted_to_queue_url(self):
        url = self.queue("query-url-1")
        path = "/" + url.split("/", 3)[3]
        status, _, body = self.d.http("POST", path, body="Action=SendMessage&MessageBody=plain&Version=2012-11-05",
                                      headers={"Content-Type": "application/x-www-form-urlencoded"})
        self.assertEqual(status, 200, body)
        self.assertIn(b"<MD5OfMessageBody>", body)
        status, _, body = self.d.http("POST", path, body="Action=ReceiveMessage&Version=2012-11-05",
                                      headers={"Content-Type": "application/x-www-form-urlencoded"})
        self.assertIn(b"<Body>plain</Body>", body)

    def test_aws_cli(self):
        url = self.d.aws("sqs", "create-queue", "--queue-name", "cli-1")["QueueUrl"]
        self.d.aws("sqs", "send-message", "--queue-url", url, "--message-body", "from cli",
                   "--message-attributes", "k={DataType=String,StringValue=v}")
        got = self.d.aws("sqs", "receive-message", "--queue-url", url, "--message-attribute-names", "All")
        self.assertEqual(got["Messages"][0]["Body"], "from cli")
        self.assertEqual(got["Messages"][0]["MessageAttributes"]["k"]["StringValue"], "v")
        self.d.aws("sqs", "delete-message", "--queue-url", url, "--receipt-handle", got["Messages"][0]["ReceiptHandle"])
        proc = self.d.aws("sqs", "get-queue-url", "--queue-name", "cli-missing", check=False)
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn("NonExistentQueue", proc.stderr)


if __name__ == "__main__":
    harness.main()
