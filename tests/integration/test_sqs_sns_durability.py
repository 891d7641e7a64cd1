"""SQS and SNS state across `kill -9`: queued, delayed and in-flight messages (in-flight ones
come back when their visibility timeout passes), FIFO deduplication, queue and topic
configuration, and SNS deliveries still pending when the daemon died."""
import http.server
import json
import shutil
import tempfile
import threading
import time
import unittest

import harness
from harness import Daemon, wait_for
from test_sns import Endpoint


class Durability(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="sless-sqs-dur-")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def test_messages_survive_kill(self):
        d = Daemon(data_dir=self.dir).start()
        try:
            sqs = d.client("sqs")
            url = sqs.create_queue(QueueName="dur-1", Attributes={"VisibilityTimeout": "2"})["QueueUrl"]
            fifo = sqs.create_queue(QueueName="dur-2.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
            for i in range(5):
                sqs.send_message(QueueUrl=url, MessageBody=f"m{i}",
                                 MessageAttributes={"i": {"DataType": "Number", "StringValue": str(i)}})
            sqs.send_message(QueueUrl=url, MessageBody="delayed", DelaySeconds=2)
            in_flight = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=2)["Messages"]
            first = sqs.send_message(QueueUrl=fifo, MessageBody="f", MessageGroupId="g", MessageDeduplicationId="d1")
            sns = d.client("sns")
            topic = sns.create_topic(Name="dur-topic")["TopicArn"]
            qarn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
            sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=qarn, Attributes={"RawMessageDelivery": "true"})
            sns.publish(TopicArn=topic, Message="via sns")
            ftopic = sns.create_topic(Name="dur.fifo", Attributes={"FifoTopic": "true"})["TopicArn"]
            fpub = sns.publish(TopicArn=ftopic, Message="once", MessageGroupId="g", MessageDeduplicationId="x1")
        finally:
            d.kill()

        d = Daemon(data_dir=self.dir).start()
        try:
            sqs = d.client("sqs")
            url = sqs.get_queue_url(QueueName="dur-1")["QueueUrl"]
            attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
            self.assertEqual(attrs["VisibilityTimeout"], "2")
            total = sum(int(attrs[k]) for k in ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible",
                                                 "ApproximateNumberOfMessagesDelayed"])
            self.assertEqual(total, 7)
            bodies = {}

            def drain():
                for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=60,
                                             MessageAttributeNames=["All"], AttributeNames=["All"]).get("Messages", []):
                    bodies[m["Body"]] = m
                return len(bodies) == 7

            wait_for(drain, timeout=15, interval=0.2, message="all messages after restart")
            self.assertEqual(sorted(bodies), ["delayed", "m0", "m1", "m2", "m3", "m4", "via sns"])
            for m in in_flight:
                self.assertEqual(bodies[m["Body"]]["Attributes"]["ApproximateReceiveCount"], "2")
            self.assertEqual(bodies["m3"]["MessageAttributes"]["i"]["StringValue"], "3")
            fifo = sqs.get_queue_url(QueueName="dur-2.fifo")["QueueUrl"]
            again = sqs.send_message(QueueUrl=fifo, MessageBody="f", MessageGroupId="g", MessageDeduplicationId="d1")
            self.assertEqual(again["MessageId"], first["MessageId"])
            sns = d.client("sns")
            topic = "arn:aws:sns:us-east-1:000000000000:dur-topic"
            self.assertEqual(len(sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]), 1)
            ftopic = "arn:aws:sns:us-east-1:000000000000:dur.fifo"
            again = sns.publish(TopicArn=ftopic, Message="once", MessageGroupId="g", MessageDeduplicationId="x1")
            self.assertEqual(again["MessageId"], fpub["MessageId"])
        finally:
            d.kill()

    def test_shutdown_answers_parked_long_polls(self):
        d = Daemon(data_dir=self.dir).start()
        sqs = d.client("sqs")
        url = sqs.create_queue(QueueName="stop-poll")["QueueUrl"]
        result = {}

        def poll():
            try:
                result["r"] = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=20)
            except Exception as e:  # noqa: BLE001 - recorded for the assertion below
                result["error"] = e

        t = threading.Thread(target=poll)
        t.start()
        time.sleep(0.3)  # the poll parks
        self.assertEqual(d.stop(), 0)
        t.join(30)
        # Answered (empty) by the drain, not cut off when the drain gave up.
        self.assertNotIn("error", result)
        self.assertNotIn("Messages", result["r"])

    def test_move_tasks_survive_kill(self):
        d = Daemon(data_dir=self.dir).start()
        try:
            sqs = d.client("sqs")
            dlq = sqs.create_queue(QueueName="mt-dlq")["QueueUrl"]
            dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
            src = sqs.create_queue(QueueName="mt-src", Attributes={"RedrivePolicy": json.dumps(
                {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 1})})["QueueUrl"]
            sqs.send_message(QueueUrl=src, MessageBody="x")
            sqs.receive_message(QueueUrl=src, VisibilityTimeout=0)
            self.assertNotIn("Messages", sqs.receive_message(QueueUrl=src))  # moved to the DLQ
            sqs.start_message_move_task(SourceArn=dlq_arn)
            wait_for(lambda: sqs.list_message_move_tasks(SourceArn=dlq_arn)["Results"][0]["Status"] == "COMPLETED",
                     message="move task done")
        finally:
            d.kill()
        d = Daemon(data_dir=self.dir).start()
        try:
            sqs = d.client("sqs")
            task = sqs.list_message_move_tasks(SourceArn=dlq_arn)["Results"][0]
            self.assertEqual((task["Status"], task["ApproximateNumberOfMessagesMoved"]), ("COMPLETED", 1))
            self.assertEqual(sqs.receive_message(QueueUrl=src)["Messages"][0]["Body"], "x")
        finally:
            d.kill()

    def test_pending_http_delivery_survives_kill(self):
        ep = Endpoint()
        port = ep.server.server_address[1]
        d = Daemon(data_dir=self.dir).start()
        try:
            sns = d.client("sns")
            topic = sns.create_topic(Name="dur-http", Attributes={"DeliveryPolicy": json.dumps(
                {"http": {"defaultHealthyRetryPolicy": {"minDelayTarget": 1, "numRetries": 100}}})})["TopicArn"]
            sns.subscribe(TopicArn=topic, Protocol="http", Endpoint=ep.url)
            token = json.loads(ep.next()[1])["Token"]
            sns.confirm_subscription(TopicArn=topic, Token=token)
            ep.fail_first = 1000  # the endpoint is down
            mid = sns.publish(TopicArn=topic, Message="must arrive")["MessageId"]
            ep.next()  # one failed attempt happened
        finally:
            d.kill()
        ep.close()
        ep = _endpoint_on(port)  # the endpoint is back, on the address the subscription names
        d = Daemon(data_dir=self.dir).start()
        try:
            headers, body, _ = ep.next(timeout=20)
            self.assertEqual(headers["x-amz-sns-message-type"], "Notification")
            self.assertEqual(json.loads(body)["MessageId"], mid)
            self.assertEqual(json.loads(body)["Message"], "must arrive")
        finally:
            d.kill()
            ep.close()


def _endpoint_on(port):
    """An Endpoint listening on a given port."""
    ep = Endpoint()
    ep.close()
    ep.server = http.server.ThreadingHTTPServer(("127.0.0.1", port), ep.server.RequestHandlerClass)
    ep.url = f"http://127.0.0.1:{port}/hook"
    threading.Thread(target=ep.server.serve_forever, daemon=True).start()
    return ep


if __name__ == "__main__":
    harness.main()
