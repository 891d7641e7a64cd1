"""The daemon itself: start-up, health and reset, every protocol's error shapes as real clients
see them (unknown operation, validation error, unimplemented operation), malformed and oversized
requests, and graceful shutdown."""
import json
import os
import shutil
import socket
import subprocess
import time
import unittest


import harness
from harness import Daemon, client_error

# Operations no provider implements yet, one per protocol, to see the 501 shape. Once a service
# lands, point these at an operation that stays unimplemented (see docs/services/*.md).
UNIMPLEMENTED = {
    "json": ("stepfunctions", "list_activities", {}, "stepfunctions.ListActivities"),
    "query": ("sns", "list_platform_applications", {}, "sns.ListPlatformApplications"),
    "rest-json": ("lambda", "list_layers", {}, "lambda.ListLayers"),
    "rest-xml": ("s3", "get_bucket_accelerate_configuration", {"Bucket": "b"},
                 "s3.GetBucketAccelerateConfiguration"),
}


def raw_request(port, data, read=True, timeout=5):
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(data)
        if not read:
            return b""
        chunks = []
        while True:
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                break
            if not chunk:
                break
            chunks.append(chunk)
            if b"\r\n\r\n" in b"".join(chunks):
                head, _, rest = b"".join(chunks).partition(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n")[1:]:
                    k, _, v = line.partition(b":")
                    if k.strip().lower() == b"content-length":
                        length = int(v.strip())
                if len(rest) >= length:
                    break
        return b"".join(chunks)


class StartAndHealth(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.d = Daemon().start()

    @classmethod
    def tearDownClass(cls):
        cls.d.cleanup()

    def test_health_lists_every_service(self):
        status, headers, body = self.d.http("GET", "/_sless/health")
        self.assertEqual(status, 200)
        health = json.loads(body)
        self.assertEqual(health["version"], subprocess.run([harness.SLESS_BIN, "version"], capture_output=True,
                                                           text=True).stdout.split()[1])
        self.assertGreaterEqual(health["uptime_seconds"], 0)
        for name in ["dynamodb", "dynamodbstreams", "s3", "sqs", "sns", "kinesis", "lambda", "apigateway",
                     "stepfunctions", "events", "cognito-idp", "kms", "logs"]:
            self.assertIn(name, health["services"])
            self.assertIn(health["services"][name]["state"], ("running", "unimplemented"))
        self.assertEqual(os.path.realpath(health["data_dir"]), os.path.realpath(self.d.data_dir))
        self.assertIn("x-amzn-requestid", headers)

    def test_status_command_finds_the_daemon_through_its_data_dir(self):
        out = subprocess.run([harness.SLESS_BIN, "status", "--data-dir", self.d.data_dir], capture_output=True,
                             text=True, timeout=10)
        self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
        self.assertIn(f"running at {self.d.endpoint}", out.stdout)
        self.assertIn("dynamodb", out.stdout)
        as_json = subprocess.run([harness.SLESS_BIN, "status", "--endpoint", self.d.endpoint, "--json"],
                                 capture_output=True, text=True, timeout=10)
        self.assertIn("services", json.loads(as_json.stdout))

    def test_status_without_a_daemon_says_so(self):
        out = subprocess.run([harness.SLESS_BIN, "status", "--endpoint", "http://127.0.0.1:1"], capture_output=True,
                             text=True, timeout=10)
        self.assertEqual(out.returncode, 3)
        self.assertIn("not answering", out.stdout)

    def test_reset_all_and_one_service(self):
        status, _, body = self.d.http("POST", "/_sless/reset")
        self.assertEqual((status, json.loads(body)["reset"]), (200, "all"))
        status, _, body = self.d.http("POST", "/_sless/reset?service=sqs")
        self.assertEqual((status, json.loads(body)["reset"]), (200, "sqs"))
        status, _, body = self.d.http("POST", "/_sless/reset?service=nope")
        self.assertEqual(status, 404)
        self.assertIn("nope", json.loads(body)["error"])

    def test_unknown_internal_endpoint_is_404(self):
        status, _, _ = self.d.http("GET", "/_sless/nothing")
        self.assertEqual(status, 404)

    def test_help_and_version(self):
        out = subprocess.run([harness.SLESS_BIN, "--help"], capture_output=True, text=True)
        self.assertEqual(out.returncode, 0)
        for word in ("up", "status", "version"):
            self.assertIn(word, out.stdout)
        up_help = subprocess.run([harness.SLESS_BIN, "up", "--help"], capture_output=True, text=True).stdout
        for flag in ("--host", "--port", "--data-dir", "--in-memory", "--log-level", "--region"):
            self.assertIn(flag, up_help)
        self.assertIn("SLESS_PORT", up_help)


class ErrorShapes(unittest.TestCase):
    """What boto3 and the aws CLI see for errors in each protocol."""

    @classmethod
    def setUpClass(cls):
        cls.d = Daemon(in_memory=True).start()

    @classmethod
    def tearDownClass(cls):
        cls.d.cleanup()

    def check_unimplemented(self, protocol):
        service, method, params, name = UNIMPLEMENTED[protocol]
        e = client_error(getattr(self.d.client(service), method), **params)
        self.assertEqual(e.response["Error"]["Code"], "NotImplemented")
        self.assertEqual(e.response["ResponseMetadata"]["HTTPStatusCode"], 501)
        self.assertEqual(e.response["Error"]["Message"], f"not implemented: {name}")
        self.assertTrue(e.response["ResponseMetadata"]["RequestId"])

    def test_unimplemented_json(self):
        self.check_unimplemented("json")

    def test_unimplemented_query(self):
        self.check_unimplemented("query")

    def test_unimplemented_rest_json(self):
        self.check_unimplemented("rest-json")

    def test_unimplemented_rest_xml(self):
        self.check_unimplemented("rest-xml")

    def test_unimplemented_through_the_cli(self):
        proc = self.d.aws("stepfunctions", "list-activities", check=False)
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn("NotImplemented", proc.stderr)
        self.assertIn("not implemented: stepfunctions.ListActivities", proc.stderr)

    def test_json_validation_error(self):
        ddb = self.d.client("dynamodb", validate=False)
        e = client_error(ddb.create_table, TableName="", AttributeDefinitions=[],
                         KeySchema=[{"AttributeName": "k", "KeyType": "SIDEWAYS"}])
        err = e.response["Error"]
        self.assertEqual(err["Code"], "ValidationException")
        self.assertEqual(e.response["ResponseMetadata"]["HTTPStatusCode"], 400)
        self.assertTrue(err["Message"].startswith("2 validation errors detected: "), err["Message"])
        self.assertIn("Value '' at 'tableName' failed to satisfy constraint: "
                      "Member must have length greater than or equal to 1", err["Message"])
        self.assertIn("Value 'SIDEWAYS' at 'keySchema.1.member.keyType' failed to satisfy constraint: "
                      "Member must satisfy enum value set: [HASH, RANGE]", err["Message"])

    def test_json_missing_member(self):
        e = client_error(self.d.client("logs", validate=False).create_log_group)
        self.assertEqual(e.response["Error"]["Code"], "ValidationException")
        self.assertEqual("1 validation error detected: Value null at 'logGroupName' failed to satisfy constraint: "
                         "Member must not be null", e.response["Error"]["Message"])

    def test_json_type_error_is_a_serialization_exception(self):
        status, _, body = self.d.http("POST", "/", body=json.dumps({"TableName": 5}),
                                      headers={"X-Amz-Target": "DynamoDB_20120810.DescribeTable",
                                               "Content-Type": "application/x-amz-json-1.0"})
        self.assertEqual(status, 400)
        self.assertTrue(json.loads(body)["__type"].endswith("#SerializationException"))

    def test_json_unknown_operation(self):
        status, _, body = self.d.http("POST", "/", body="{}",
                                      headers={"X-Amz-Target": "DynamoDB_20120810.MakeCoffee",
                                               "Content-Type": "application/x-amz-json-1.0"})
        self.assertEqual(status, 400)
        self.assertTrue(json.loads(body)["__type"].endswith("#UnknownOperationException"))

    def test_json_malformed_body(self):
        status, _, body = self.d.http("POST", "/", body="{not json",
                                      headers={"X-Amz-Target": "DynamoDB_20120810.ListTables",
                                               "Content-Type": "application/x-amz-json-1.0"})
        self.assertEqual(status, 400)
        self.assertTrue(json.loads(body)["__type"].endswith("#SerializationException"))

    def test_sqs_json_errors_carry_query_codes(self):
        sqs = self.d.client("sqs", validate=False)
        e = client_error(sqs.get_queue_url)
        self.assertEqual(e.response["Error"]["Code"], "MissingParameter")
        self.assertEqual(e.response["Error"]["Message"], "The request must contain the parameter QueueName.")

    def test_query_validation_error(self):
        sns = self.d.client("sns", validate=False)
        e = client_error(sns.create_topic)
        self.assertEqual(e.response["Error"]["Code"], "ValidationError")
        self.assertEqual(e.response["ResponseMetadata"]["HTTPStatusCode"], 400)
        self.assertIn("Value null at 'name' failed to satisfy constraint: Member must not be null",
                      e.response["Error"]["Message"])

    def test_query_unknown_action(self):
        status, _, body = self.d.http("POST", "/", body="Action=MakeCoffee&Version=2010-03-31",
                                      headers={"Content-Type": "application/x-www-form-urlencoded",
                                               "Authorization": "AWS4-HMAC-SHA256 Credential=AKID/20250101/us-east-1/sns/aws4_request, SignedHeaders=host, Signature=00"})
        self.assertEqual(status, 400)
        self.assertIn(b"<Code>InvalidAction</Code>", body)
        self.assertIn(b"<ErrorResponse", body)

    def test_sqs_query_protocol_error_shape(self):
        # Every SQS operation is implemented: a missing queue shows the query error shape.
        status, _, body = self.d.http("POST", "/", body="Action=GetQueueUrl&QueueName=missing&Version=2012-11-05",
                                      headers={"Content-Type": "application/x-www-form-urlencoded"})
        self.assertEqual(status, 400)
        self.assertIn(b"<Code>AWS.SimpleQueueService.NonExistentQueue</Code>", body)
        self.assertIn(b"<Type>Sender</Type>", body)

    def test_rest_json_validation_error(self):
        lam = self.d.client("lambda", validate=False)
        e = client_error(lam.create_function, FunctionName="f", Role="arn:aws:iam::000000000000:role/r",
                         Code={"ZipFile": b"x"}, MemorySize=64, Timeout=0)
        self.assertEqual(e.response["Error"]["Code"], "ValidationException")
        self.assertEqual(e.response["ResponseMetadata"]["HTTPStatusCode"], 400)
        self.assertIn("Value '64' at 'memorySize' failed to satisfy constraint: Member must have value greater than "
                      "or equal to 128", e.response["Error"]["Message"])
        self.assertIn("Value '0' at 'timeout' failed to satisfy constraint: Member must have value greater than "
                      "or equal to 1", e.response["Error"]["Message"])

    def test_rest_json_unknown_route(self):
        status, headers, body = self.d.http("GET", "/2015-03-31/nothing-here")
        self.assertEqual(status, 404)
        self.assertEqual(headers.get("x-amzn-errortype"), "UnknownOperationException")

    def test_rest_xml_unknown_method(self):
        status, _, body = self.d.http("PATCH", "/bucket/key")
        self.assertEqual(status, 405)
        self.assertIn(b"<Code>MethodNotAllowed</Code>", body)


class HttpRobustness(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.d = Daemon(in_memory=True).start()

    @classmethod
    def tearDownClass(cls):
        cls.d.cleanup()

    def alive(self):
        status, _, _ = self.d.http("GET", "/_sless/health")
        return status == 200

    def test_garbage_gets_400_and_the_daemon_survives(self):
        for junk in [b"NOT HTTP AT ALL\r\n\r\n", b"GET / HTTP/9.9\r\n\r\n", b"\x00\x01\x02\r\n\r\n",
                     b"POST / HTTP/1.1\r\nContent-Length: abc\r\n\r\n",
                     b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nZZZ\r\n"]:
            reply = raw_request(self.d.port, junk)
            self.assertTrue(reply.startswith(b"HTTP/1.1 400"), (junk, reply[:80]))
        self.assertTrue(self.alive())

    def test_oversized_body_gets_413(self):
        head = (b"POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: DynamoDB_20120810.ListTables\r\n"
                b"Content-Length: %d\r\n\r\n" % (64 * 1024 * 1024))
        reply = raw_request(self.d.port, head)
        self.assertTrue(reply.startswith(b"HTTP/1.1 413"), reply[:80])
        self.assertTrue(self.alive())

    def test_oversized_header_gets_431(self):
        reply = raw_request(self.d.port, b"GET / HTTP/1.1\r\nX-Big: " + b"a" * 100000 + b"\r\n\r\n")
        self.assertTrue(reply.startswith(b"HTTP/1.1 431"), reply[:80])
        self.assertTrue(self.alive())

    def test_client_disconnect_mid_body(self):
        raw_request(self.d.port, b"POST / HTTP/1.1\r\nContent-Length: 1000\r\n\r\nabc", read=False)
        self.assertTrue(self.alive())

    def test_keep_alive_serves_many_requests_on_one_connection(self):
        req = b"GET /_sless/health HTTP/1.1\r\nHost: x\r\n\r\n"
        with socket.create_connection(("127.0.0.1", self.d.port), timeout=5) as s:
            for _ in range(5):
                s.sendall(req)
                data = b""
                while b"}" not in data:
                    data += s.recv(65536)
                self.assertTrue(data.startswith(b"HTTP/1.1 200"))

    def test_expect_100_continue(self):
        body = b'{"Limit": 1}'
        with socket.create_connection(("127.0.0.1", self.d.port), timeout=5) as s:
            s.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: AWSStepFunctions.ListActivities\r\n"
                      b"Content-Type: application/x-amz-json-1.0\r\nExpect: 100-continue\r\n"
                      b"Content-Length: %d\r\n\r\n" % len(body))
            first = s.recv(1024)
            self.assertTrue(first.startswith(b"HTTP/1.1 100 Continue"), first)
            s.sendall(body)
            rest = s.recv(65536)
            self.assertIn(b"HTTP/1.1 501", first + rest)

    def test_cors_preflight_and_headers(self):
        status, headers, _ = self.d.http("OPTIONS", "/", headers={
            "Origin": "http://localhost:3000", "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type,x-amz-target"})
        self.assertEqual(status, 200)
        self.assertEqual(headers["access-control-allow-origin"], "*")
        self.assertIn("x-amz-target", headers["access-control-allow-headers"])
        status, headers, _ = self.d.http("GET", "/_sless/health", headers={"Origin": "http://localhost:3000"})
        status, headers, _ = self.d.http("POST", "/", body="{}", headers={
            "Origin": "http://localhost:3000", "X-Amz-Target": "AWSStepFunctions.ListActivities",
            "Content-Type": "application/x-amz-json-1.0"})
        self.assertEqual(headers.get("access-control-allow-origin"), "*")


    def curl_h2(self, *args):
        out = subprocess.run(["curl", "-sS", "--http2-prior-knowledge", "-o", "-", "-w", "\n%{http_version} %{http_code}",
                              *args], capture_output=True, text=True, timeout=20)
        self.assertEqual(out.returncode, 0, out.stderr)
        body, _, last = out.stdout.rpartition("\n")
        version, code = last.split()
        return version, int(code), body

    @unittest.skipUnless(shutil.which("curl"), "curl is not installed")
    def test_http2_prior_knowledge(self):
        # Clients that speak HTTP/2 to an http:// endpoint (the JS SDK's Kinesis client) are served too.
        base = f"http://127.0.0.1:{self.d.port}"
        version, code, body = self.curl_h2(base + "/_sless/health")
        self.assertEqual((version, code), ("2", 200))
        self.assertIn("services", json.loads(body))
        version, code, body = self.curl_h2(
            "-X", "POST", "-H", "X-Amz-Target: DynamoDB_20120810.CreateTable",
            "-H", "Content-Type: application/x-amz-json-1.0",
            "--data", json.dumps({"TableName": "h2-table", "BillingMode": "PAY_PER_REQUEST",
                                  "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
                                  "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}]}),
            base + "/")
        self.assertEqual(code, 200, body)
        self.assertEqual(json.loads(body)["TableDescription"]["TableName"], "h2-table")
        # Errors in their protocol's shape (curl 7.88 cannot reuse a prior-knowledge connection;
        # the JS SDK test sends many requests over one).
        version, code, body = self.curl_h2(
            "-X", "POST", "-H", "X-Amz-Target: DynamoDB_20120810.DescribeTable",
            "-H", "Content-Type: application/x-amz-json-1.0", "--data", '{"TableName": "missing-table"}', base + "/")
        self.assertEqual(code, 400)
        self.assertIn("ResourceNotFoundException", json.loads(body)["__type"])
        self.assertTrue(self.alive())


class Shutdown(unittest.TestCase):
    def test_sigterm_drains_a_request_in_flight_then_exits_zero(self):
        d = Daemon().start()
        try:
            body = b'{"Limit": 1}'
            s = socket.create_connection(("127.0.0.1", d.port), timeout=10)
            # Expect: 100-continue makes the daemon answer once it has parsed the header and counted
            # the request, so the signal below cannot overtake the read of the header.
            s.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: AWSStepFunctions.ListActivities\r\n"
                      b"Content-Type: application/x-amz-json-1.0\r\nExpect: 100-continue\r\n"
                      b"Content-Length: %d\r\n\r\n" % len(body))
            interim = b""
            while not interim.endswith(b"\r\n\r\n"):
                got = s.recv(1)
                self.assertTrue(got, "connection closed before 100 Continue")
                interim += got
            self.assertTrue(interim.startswith(b"HTTP/1.1 100"), interim)
            s.sendall(body[:4])
            d.proc.send_signal(15)
            time.sleep(0.2)  # the daemon must still be waiting for our body
            self.assertIsNone(d.proc.poll(), "daemon exited with a request in flight")
            s.sendall(body[4:])
            reply = s.recv(65536)
            self.assertTrue(reply.startswith(b"HTTP/1.1 501"), reply[:80])
            s.close()
            self.assertEqual(d.proc.wait(15), 0)
            self.assertFalse(os.path.exists(os.path.join(d.data_dir, "daemon.json")))
        finally:
            d.cleanup()

    def test_sigint_exits_zero(self):
        d = Daemon(in_memory=True).start()
        d.proc.send_signal(2)
        self.assertEqual(d.proc.wait(15), 0)
        d.cleanup()

    def test_second_daemon_on_the_same_data_dir_is_refused(self):
        with Daemon() as first:
            second = subprocess.run([harness.SLESS_BIN, "up", "--port", "0", "--data-dir", first.data_dir],
                                    capture_output=True, text=True, timeout=20, stdin=subprocess.DEVNULL)
            self.assertEqual(second.returncode, 1)
            self.assertIn("in use", second.stderr)


if __name__ == "__main__":
    harness.main()
