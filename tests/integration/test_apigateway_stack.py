"""API Gateway through a stack started from its template (tests/integration/stacks/api): routes of
an HTTP API and a REST API on their own ports and in execute-api form, payload formats 1.0 and
2.0 as AWS documents them, response mapping, API Gateway's errors, CORS, Lambda and JWT
authorizers; then template updates, removals and errors."""
import base64
import http.server
import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
import unittest

import requests
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

import harness
from harness import Daemon

PLUGINS = os.path.abspath(os.environ.get("SLESS_TEST_PLUGINS") or os.path.join(harness.ROOT, "build", "tests", "plugins"))
PLUGIN = os.path.join(PLUGINS, "libtest_functions.so")
STACK = os.path.join(os.path.dirname(os.path.abspath(__file__)), "stacks", "api", "template.yaml")
API_LINE = re.compile(r"^API (\w+) on (http://[^ ]+/)")


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class Issuer:
    """A JWT issuer: an RSA key, its JWKS served over HTTP (OpenID discovery), and token signing."""

    def __init__(self):
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        numbers = self.key.public_key().public_numbers()
        jwk = {"kty": "RSA", "kid": "k1", "alg": "RS256", "use": "sig",
               "n": b64url(numbers.n.to_bytes((numbers.n.bit_length() + 7) // 8, "big")),
               "e": b64url(numbers.e.to_bytes(3, "big"))}
        issuer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                if self.path.endswith("/openid-configuration"):
                    body = json.dumps({"issuer": issuer.url, "jwks_uri": issuer.url + "/keys"})
                elif self.path.endswith("/keys"):
                    body = json.dumps({"keys": [jwk]})
                else:
                    self.send_response(404)
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(body.encode())

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def token(self, **claims):
        body = {"iss": self.url, "aud": "app", "sub": "user-1", "exp": int(time.time()) + 600, "scope": "read"}
        body.update(claims)
        head = b64url(json.dumps({"alg": "RS256", "kid": "k1", "typ": "JWT"}).encode())
        payload = b64url(json.dumps(body).encode())
        signature = self.key.sign(f"{head}.{payload}".encode(), padding.PKCS1v15(), hashes.SHA256())
        return f"{head}.{payload}.{b64url(signature)}"

    def close(self):
        self.server.shutdown()


def api_urls(daemon):
    urls = {}
    for line in daemon.lines:
        m = API_LINE.match(line)
        if m:
            urls[m.group(1)] = m.group(2)
    return urls


def outputs(daemon):
    out = {}
    for line in daemon.lines:
        m = re.match(r"^  (\w+) = (.*)$", line)
        if m:
            out[m.group(1)] = m.group(2)
    return out


class ApiStackTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.issuer = Issuer()
        cls.d = Daemon(in_memory=True, extra_args=[
            "--template", STACK, "--api-port", "0",
            "--parameter-overrides", f"Plugin={PLUGIN} Issuer={cls.issuer.url}"]).start()
        urls = api_urls(cls.d)
        cls.http = urls["HttpApi"]
        cls.rest = urls["RestApi"]
        cls.out = outputs(cls.d)
        cls.http_id = cls.out["HttpApiUrl"].split("//")[1].split(".")[0]
        cls.rest_id = cls.out["RestApiId"]

    @classmethod
    def tearDownClass(cls):
        cls.d.cleanup()
        cls.issuer.close()

    # -- the stack ---------------------------------------------------------------------------

    def test_start_reports_changes_apis_and_outputs(self):
        text = "\n".join(self.d.lines)
        self.assertIn("created EchoFunction (AWS::Serverless::Function)", text)
        self.assertIn("created HttpApi (AWS::Serverless::HttpApi)", text)
        self.assertNotIn("ExtraFunction", text)  # its condition is false
        self.assertEqual(self.out["EchoArn"], "arn:aws:lambda:us-east-1:000000000000:function:EchoFunction")
        lam = self.d.client("lambda", access_key="AKIDEXAMPLE")
        env = lam.get_function_configuration(FunctionName="EchoFunction")["Environment"]["Variables"]
        self.assertEqual(env, {"STAGE": "test"})  # Globals and a parameter default
        apis = self.d.client("apigatewayv2", access_key="AKIDEXAMPLE").get_apis()["Items"]
        self.assertEqual([a["ApiId"] for a in apis], [self.http_id])
        routes = self.d.client("apigatewayv2", access_key="AKIDEXAMPLE").get_routes(ApiId=self.http_id)["Items"]
        self.assertIn("GET /items/{id}", [r["RouteKey"] for r in routes])

    def test_other_resources_and_triggers(self):
        # A Kinesis stream and a Kinesis event: records reach the function.
        kinesis = self.d.client("kinesis", access_key="AKIDEXAMPLE")
        self.assertEqual(self.out["StreamName"], "Stream")
        kinesis.put_record(StreamName="Stream", Data=b"from-the-stack", PartitionKey="k")
        logs = self.d.client("logs", access_key="AKIDEXAMPLE")

        def delivered():
            try:
                events = logs.filter_log_events(logGroupName="/aws/lambda/RecordFunction")["events"]
            except logs.exceptions.ResourceNotFoundException:
                return False
            return any(base64.b64encode(b"from-the-stack").decode() in e["message"] for e in events)
        harness.wait_for(delivered, timeout=20, message="the Kinesis record in RecordFunction's log")
        # A Schedule event: an EventBridge rule targeting the function.
        events = self.d.client("events", access_key="AKIDEXAMPLE")
        rule = events.describe_rule(Name="RecordFunctionNightly")
        self.assertEqual((rule["ScheduleExpression"], rule["State"]), ("cron(0 3 * * ? *)", "ENABLED"))
        target = events.list_targets_by_rule(Rule="RecordFunctionNightly")["Targets"][0]
        self.assertEqual((target["Arn"], target["Input"]),
                         ("arn:aws:lambda:us-east-1:000000000000:function:RecordFunction", '{"job": "nightly"}'))

    # -- payload 2.0 -------------------------------------------------------------------------

    def test_payload_v2_shape(self):
        r = requests.get(self.http + "items/42?a=1&a=2&b=x%20y", headers={"X-Multi": "p", "Cookie": "c=1; d=2"})
        self.assertEqual(r.status_code, 200)
        self.assertTrue(r.headers["apigw-requestid"])
        e = r.json()
        self.assertEqual(e["version"], "2.0")
        self.assertEqual(e["routeKey"], "GET /items/{id}")
        self.assertEqual(e["rawPath"], "/items/42")
        self.assertEqual(e["rawQueryString"], "a=1&a=2&b=x%20y")
        self.assertEqual(e["queryStringParameters"], {"a": "1,2", "b": "x y"})
        self.assertEqual(e["cookies"], ["c=1", "d=2"])
        self.assertEqual(e["headers"]["x-multi"], "p")
        self.assertNotIn("cookie", e["headers"])
        self.assertEqual(e["pathParameters"], {"id": "42"})
        self.assertEqual(e["stageVariables"], {"color": "green"})
        self.assertFalse(e["isBase64Encoded"])
        self.assertNotIn("body", e)
        c = e["requestContext"]
        self.assertEqual(set(c), {"accountId", "apiId", "domainName", "domainPrefix", "http", "requestId", "routeKey",
                                  "stage", "time", "timeEpoch"})
        self.assertEqual((c["accountId"], c["apiId"], c["stage"]), ("000000000000", self.http_id, "$default"))
        self.assertEqual(c["http"]["method"], "GET")
        self.assertEqual(c["http"]["path"], "/items/42")
        self.assertEqual(c["http"]["sourceIp"], "127.0.0.1")
        self.assertTrue(c["http"]["userAgent"].startswith("python-requests"))
        self.assertEqual(c["requestId"], r.headers["apigw-requestid"])
        self.assertRegex(c["time"], r"^\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d \+0000$")
        self.assertAlmostEqual(c["timeEpoch"] / 1000, time.time(), delta=60)

    def test_payload_v2_text_and_binary_bodies(self):
        e = requests.post(self.http + "items/1", data="{}").json() if False else None
        r = requests.get(self.http + "items/1", data=b"\x00\xffbinary", headers={"Content-Type": "image/png"})
        e = r.json()
        self.assertTrue(e["isBase64Encoded"])
        self.assertEqual(base64.b64decode(e["body"]), b"\x00\xffbinary")
        e = requests.get(self.http + "items/1", json={"k": "v"}).json()
        self.assertFalse(e["isBase64Encoded"])
        self.assertEqual(json.loads(e["body"]), {"k": "v"})

    # -- payload 1.0 -------------------------------------------------------------------------

    def test_payload_v1_on_http_api(self):
        r = requests.post(self.http + "v1/a/b?x=1&x=2", data="hello", headers={"Content-Type": "text/plain"})
        e = r.json()
        self.assertEqual(e["version"], "1.0")
        self.assertEqual(e["resource"], "/v1/{proxy+}")
        self.assertEqual(e["path"], "/v1/a/b")
        self.assertEqual(e["httpMethod"], "POST")
        self.assertEqual(e["pathParameters"], {"proxy": "a/b"})
        self.assertEqual(e["queryStringParameters"], {"x": "2"})
        self.assertEqual(e["multiValueQueryStringParameters"], {"x": ["1", "2"]})
        self.assertEqual(e["multiValueHeaders"]["content-type"], ["text/plain"])
        self.assertEqual(e["body"], "hello")
        self.assertFalse(e["isBase64Encoded"])
        self.assertEqual(e["requestContext"]["routeKey"], "ANY /v1/{proxy+}")

    def test_payload_v1_on_rest_api(self):
        r = requests.get(self.rest + "items/7?q=1", headers={"X-Custom": "v"})
        self.assertEqual(r.status_code, 200)
        e = r.json()
        self.assertNotIn("version", e)
        self.assertEqual(set(e), {"resource", "path", "httpMethod", "headers", "multiValueHeaders",
                                  "queryStringParameters", "multiValueQueryStringParameters", "pathParameters",
                                  "stageVariables", "requestContext", "body", "isBase64Encoded"})
        self.assertEqual((e["resource"], e["path"], e["httpMethod"]), ("/items/{id}", "/items/7", "GET"))
        self.assertEqual(e["headers"]["X-Custom"], "v")
        self.assertEqual(e["multiValueHeaders"]["X-Custom"], ["v"])
        self.assertIsNone(e["body"])
        self.assertEqual(e["stageVariables"], {"color": "blue"})
        c = e["requestContext"]
        self.assertEqual((c["stage"], c["resourcePath"], c["httpMethod"], c["apiId"]),
                         ("test", "/items/{id}", "GET", self.rest_id))
        self.assertEqual(c["identity"]["sourceIp"], "127.0.0.1")
        self.assertIn("cognitoIdentityId", c["identity"])
        self.assertEqual(c["requestId"], r.headers["x-amzn-requestid"])

    def test_rest_binary_media_types(self):
        e = requests.put(self.rest + "files/a/b.bin", data=b"\x01\x02",
                         headers={"Content-Type": "application/octet-stream"}).json()
        self.assertTrue(e["isBase64Encoded"])
        self.assertEqual(base64.b64decode(e["body"]), b"\x01\x02")
        self.assertEqual(e["pathParameters"], {"proxy": "a/b.bin"})
        e = requests.put(self.rest + "files/x", data="text", headers={"Content-Type": "text/plain"}).json()
        self.assertEqual((e["body"], e["isBase64Encoded"]), ("text", False))

    # -- execute-api on the main port ---------------------------------------------------------

    def test_execute_api_host_and_path_forms(self):
        main = self.d.endpoint
        port = self.d.port
        r = requests.get(f"{main}/test/items/3", headers={"Host": f"{self.rest_id}.execute-api.localhost:{port}"})
        self.assertEqual(r.status_code, 200)
        e = r.json()
        self.assertEqual((e["path"], e["requestContext"]["path"]), ("/items/3", "/test/items/3"))
        self.assertEqual(e["requestContext"]["domainPrefix"], self.rest_id)
        r = requests.get(f"{main}/_aws/execute-api/{self.rest_id}/test/items/4")
        self.assertEqual(r.json()["pathParameters"], {"id": "4"})
        r = requests.get(f"{main}/_aws/execute-api/{self.http_id}/items/5")
        self.assertEqual(r.json()["rawPath"], "/items/5")
        r = requests.get(f"{main}/_aws/execute-api/{self.rest_id}/nostage/items/4")
        self.assertEqual((r.status_code, r.json()), (403, {"message": "Forbidden"}))
        r = requests.get(f"{main}/_aws/execute-api/nosuchapi1/items/4")
        self.assertEqual((r.status_code, r.json()), (404, {"message": "Not Found"}))

    # -- responses and errors ----------------------------------------------------------------

    def respond(self, base, answer, **kw):
        return requests.post(base + "respond", data=json.dumps(answer) if not isinstance(answer, str) else answer, **kw)

    def test_response_mapping_v2(self):
        r = self.respond(self.http, {"statusCode": 201, "headers": {"x-one": "1", "content-type": "text/plain"},
                                     "cookies": ["a=1; Path=/", "b=2"], "body": "created"})
        self.assertEqual((r.status_code, r.text, r.headers["x-one"]), (201, "created", "1"))
        self.assertEqual(r.headers["content-type"], "text/plain")
        self.assertEqual(r.raw.headers.getlist("Set-Cookie"), ["a=1; Path=/", "b=2"])
        r = self.respond(self.http, {"statusCode": 200, "body": base64.b64encode(b"\x89PNG").decode(),
                                     "isBase64Encoded": True, "headers": {"content-type": "image/png"}})
        self.assertEqual(r.content, b"\x89PNG")
        r = self.respond(self.http, {"just": "json"})  # no statusCode: 200 with the answer as body
        self.assertEqual((r.status_code, r.json(), r.headers["content-type"]), (200, {"just": "json"}, "application/json"))
        r = self.respond(self.http, {"statusCode": "200"})
        self.assertEqual((r.status_code, r.json()), (500, {"message": "Internal Server Error"}))

    def test_response_mapping_v1(self):
        r = self.respond(self.rest, {"statusCode": 202, "headers": {"X-A": "1"},
                                     "multiValueHeaders": {"X-B": ["1", "2"]}, "body": "ok"})
        self.assertEqual((r.status_code, r.text, r.headers["x-a"], r.headers["x-b"]), (202, "ok", "1", "1, 2"))
        for bad in ({"body": "no status"}, {"statusCode": 200, "body": {"not": "a string"}}, "not json"):
            r = self.respond(self.rest, bad)
            self.assertEqual((r.status_code, r.json()), (502, {"message": "Internal server error"}), bad)

    def test_errors(self):
        r = requests.get(self.http + "no/such/route")
        self.assertEqual((r.status_code, r.json()), (404, {"message": "Not Found"}))
        r = requests.delete(self.http + "items/1")
        self.assertEqual(r.status_code, 404)
        r = requests.get(self.rest + "no/such/route")
        self.assertEqual((r.status_code, r.json()), (403, {"message": "Missing Authentication Token"}))
        r = requests.get(self.http + "crash")
        self.assertEqual((r.status_code, r.json()), (500, {"message": "Internal Server Error"}))
        r = requests.get(self.rest + "crash")
        self.assertEqual((r.status_code, r.json()), (502, {"message": "Internal server error"}))
        r = requests.get(self.http + "slow")
        self.assertEqual((r.status_code, r.json()), (504, {"message": "Gateway Timeout"}))
        r = requests.post(self.http + "v1/big", data=b"x" * (10 * 1024 * 1024 + 1))
        self.assertEqual((r.status_code, r.json()), (413, {"message": "Request Entity Too Large"}))

    def test_cors_from_the_api_config(self):
        r = requests.options(self.http + "items/1", headers={"Origin": "http://app.example",
                                                             "Access-Control-Request-Method": "GET",
                                                             "Access-Control-Request-Headers": "content-type"})
        self.assertEqual(r.status_code, 204)
        self.assertEqual(r.headers["access-control-allow-origin"], "http://app.example")
        self.assertEqual(r.headers["access-control-allow-methods"], "GET,POST")
        self.assertEqual(r.headers["access-control-allow-headers"], "content-type,authorization")
        self.assertEqual(r.headers["access-control-max-age"], "600")
        r = requests.options(self.http + "items/1", headers={"Origin": "http://evil.example",
                                                             "Access-Control-Request-Method": "GET"})
        self.assertEqual(r.status_code, 204)
        self.assertNotIn("access-control-allow-origin", r.headers)
        r = requests.get(self.http + "items/1", headers={"Origin": "http://app.example"})
        self.assertEqual(r.headers["access-control-allow-origin"], "http://app.example")
        self.assertEqual(r.headers["access-control-expose-headers"], "x-total")
        r = requests.get(self.rest + "items/1", headers={"Origin": "http://app.example"})
        self.assertNotIn("access-control-allow-origin", r.headers)  # the REST API has no CORS config

    # -- authorizers -------------------------------------------------------------------------

    def test_lambda_authorizer_simple_responses_and_cache(self):
        r = requests.get(self.http + "secure")
        self.assertEqual((r.status_code, r.json()), (401, {"message": "Unauthorized"}))
        r = requests.get(self.http + "secure", headers={"Authorization": "simple-no"})
        self.assertEqual((r.status_code, r.json()), (403, {"message": "Forbidden"}))
        first = requests.get(self.http + "secure", headers={"Authorization": "simple-allow"})
        self.assertEqual(first.status_code, 200)
        ctx = first.json()["requestContext"]["authorizer"]["lambda"]
        self.assertEqual(ctx["user"], "ada")
        second = requests.get(self.http + "secure", headers={"Authorization": "simple-allow"})
        # Cached for ReauthorizeEvery (300 s): the authorizer did not run again.
        self.assertEqual(second.json()["requestContext"]["authorizer"]["lambda"]["calls"], ctx["calls"])

    def test_token_authorizer_iam_policies(self):
        r = requests.get(self.rest + "secure")
        self.assertEqual((r.status_code, r.json()), (401, {"message": "Unauthorized"}))
        r = requests.get(self.rest + "secure", headers={"Authorization": "unauthorized"})
        self.assertEqual((r.status_code, r.json()), (401, {"message": "Unauthorized"}))
        r = requests.get(self.rest + "secure", headers={"Authorization": "deny"})
        self.assertEqual(r.status_code, 403)
        self.assertEqual(r.json(), {"Message": "User is not authorized to access this resource with an explicit deny"})
        r = requests.get(self.rest + "secure", headers={"Authorization": "garbage"})
        self.assertEqual(r.status_code, 500)
        r = requests.get(self.rest + "secure", headers={"Authorization": "allow"})
        self.assertEqual(r.status_code, 200)
        auth = r.json()["requestContext"]["authorizer"]
        self.assertEqual((auth["principalId"], auth["user"]), ("user-1", "ada"))
        self.assertIsInstance(auth["calls"], str)  # REST hands context values over as strings
        again = requests.get(self.rest + "secure", headers={"Authorization": "allow"}).json()
        self.assertNotEqual(again["requestContext"]["authorizer"]["calls"], auth["calls"])  # TTL 0: no cache

    def test_jwt_authorizer(self):
        good = self.issuer.token(scope="read write", email="ada@example.com")
        r = requests.get(self.http + "jwt", headers={"Authorization": "Bearer " + good})
        self.assertEqual(r.status_code, 200, r.text)
        jwt = r.json()["requestContext"]["authorizer"]["jwt"]
        self.assertEqual(jwt["claims"]["email"], "ada@example.com")
        self.assertEqual(jwt["claims"]["sub"], "user-1")
        self.assertEqual(jwt["scopes"], ["read", "write"])
        for token in (self.issuer.token(exp=int(time.time()) - 10), self.issuer.token(aud="other"),
                      self.issuer.token(iss="http://elsewhere"), good[:-4] + "AAAA", "not-a-jwt"):
            r = requests.get(self.http + "jwt", headers={"Authorization": "Bearer " + token})
            self.assertEqual((r.status_code, r.json()), (401, {"message": "Unauthorized"}))
        r = requests.get(self.http + "jwt", headers={"Authorization": "Bearer " + self.issuer.token(scope="write")})
        self.assertEqual((r.status_code, r.json()), (403, {"message": "Forbidden"}))
        r = requests.get(self.http + "jwt")
        self.assertEqual(r.status_code, 401)


def run_sless(*args, timeout=30):
    return subprocess.run([harness.SLESS_BIN, *args], capture_output=True, text=True, timeout=timeout)


class StackLifecycleTest(unittest.TestCase):
    """Restarts with the same, a changed and a broken template."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="sless-stack-")
        self.data = os.path.join(self.dir, "data")
        self.template = os.path.join(self.dir, "template.yaml")
        with open(STACK) as f:
            self.original = f.read()

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def write(self, text):
        with open(self.template, "w") as f:
            f.write(text)

    def up(self):
        return Daemon(data_dir=self.data, extra_args=["--template", self.template, "--api-port", "0",
                                                      "--parameter-overrides", f"Plugin={PLUGIN}"]).start()

    def test_restart_update_and_removal(self):
        self.write(self.original)
        d = self.up()
        rest_id = outputs(d)["RestApiId"]
        d.stop()

        d = self.up()
        text = "\n".join(d.lines)
        self.assertIn("no changes", text)
        self.assertEqual(outputs(d)["RestApiId"], rest_id)
        d.stop()

        changed = self.original.replace("Timeout: 5", "Timeout: 7").replace("/crash, Method: get}\n        Rest:",
                                                                              "/crash2, Method: get}\n        Rest:")
        changed = re.sub(r"\n  SlowFunction:.*?(?=\n  AuthFunction:)", "", changed, flags=re.S)
        self.write(changed)
        d = self.up()
        text = "\n".join(d.lines)
        self.assertIn("updated EchoFunction (AWS::Serverless::Function)", text)
        self.assertIn("updated HttpApi (AWS::Serverless::HttpApi)", text)
        self.assertIn("deleted SlowFunction (AWS::Serverless::Function)", text)
        self.assertEqual(outputs(d)["RestApiId"], rest_id)  # an updated API keeps its id
        http = api_urls(d)["HttpApi"]
        self.assertEqual(requests.get(http + "crash2").status_code, 500)
        self.assertEqual(requests.get(http + "crash").status_code, 404)
        self.assertEqual(requests.get(http + "slow").status_code, 404)
        lam = d.client("lambda", access_key="AKIDEXAMPLE")
        self.assertEqual(lam.get_function_configuration(FunctionName="EchoFunction")["Timeout"], 7)
        names = [f["FunctionName"] for f in lam.list_functions()["Functions"]]
        self.assertNotIn("SlowFunction", names)
        d.cleanup()

    def test_template_errors_create_nothing(self):
        broken = self.original.replace("FunctionArn: !GetAtt AuthFunction.Arn\n            Identity: {Header",
                                       "FunctionArn: !GetAtt NoSuchFunction.Arn\n            Identity: {Header")
        self.write(broken)
        r = run_sless("validate", "--template", self.template, "--parameter-overrides", f"Plugin={PLUGIN}")
        self.assertEqual(r.returncode, 1)
        line = broken.splitlines().index("  RestApi:") + 1
        self.assertIn(f"Resources.RestApi (line {line}): unknown reference NoSuchFunction", r.stderr)
        with self.assertRaises(RuntimeError):
            self.up()

        self.write(self.original.replace("Type: AWS::Serverless::Function\n    Properties:\n      Handler: authorize",
                                         "Type: AWS::EC2::Instance\n    Properties:\n      Handler: authorize"))
        r = run_sless("validate", "--template", self.template, "--parameter-overrides", f"Plugin={PLUGIN}")
        self.assertIn("resource type AWS::EC2::Instance is not supported", r.stderr)

        self.write("Resources:\n  Q: [unclosed\n")
        r = run_sless("validate", "--template", self.template)
        self.assertEqual(r.returncode, 1)
        self.assertRegex(r.stderr, r"line \d+: ")

        # The failed starts created nothing.
        d = Daemon(data_dir=self.data).start()
        self.assertEqual(d.client("lambda", access_key="AKIDEXAMPLE").list_functions()["Functions"], [])
        d.cleanup()

    def test_values_that_resolve_to_the_wrong_type_fail_the_deployment_not_the_daemon(self):
        # The plan checks properties as written; an intrinsic function may resolve to anything,
        # and the resource handlers read what it gives with json::value(), which throws on the
        # wrong type (sless up died in std::terminate).
        head = "Parameters:\n  Plugin:\n    Type: String\nResources:\n  Queue:\n    Type: AWS::SQS::Queue\n  Bucket:\n    Type: AWS::S3::Bucket\n" \
               "    DependsOn: Queue\n    Properties:\n"
        cases = {
            "      CorsConfiguration: !Join ['', [a, b]]\n": "property CorsConfiguration must be a mapping",
            "      BucketName: !Join ['', [{a: 1}]]\n": "Fn::Join: the values to join must be strings",
        }
        for body, message in cases.items():
            self.write(head + body)
            with self.assertRaises(RuntimeError) as caught:
                self.up()
            self.assertIn(message, str(caught.exception), body)
            self.assertIn("Resources.Bucket", str(caught.exception))
        # Each failed start rolled back the queue it had created.
        d = Daemon(data_dir=self.data).start()
        self.assertEqual(d.client("sqs", access_key="AKIDEXAMPLE").list_queues().get("QueueUrls", []), [])
        d.cleanup()

    def test_failed_deployment_rolls_back(self):
        # The plugin of one function is missing: the functions created before it are removed.
        self.write(self.original.replace("Handler: crash", "Handler: crash\n      CodeUri: /nonexistent/lib.so"))
        with self.assertRaises(RuntimeError):
            self.up()
        d = Daemon(data_dir=self.data).start()
        self.assertEqual(d.client("lambda", access_key="AKIDEXAMPLE").list_functions()["Functions"], [])
        self.assertEqual(d.client("apigatewayv2", access_key="AKIDEXAMPLE").get_apis()["Items"], [])
        d.cleanup()

    def test_services_not_there_yet_are_named(self):
        health = None
        with Daemon(in_memory=True) as d:
            health = json.loads(d.http("GET", "/_sless/health")[2])
        self.write("Resources:\n  Table:\n    Type: AWS::DynamoDB::Table\n    Properties:\n"
                   "      KeySchema: [{AttributeName: id, KeyType: HASH}]\n"
                   "      AttributeDefinitions: [{AttributeName: id, AttributeType: S}]\n"
                   "      BillingMode: PAY_PER_REQUEST\n")
        r = run_sless("validate", "--template", self.template)
        if health["services"]["dynamodb"]["implemented_operations"] == 0:
            self.assertEqual(r.returncode, 1)
            self.assertIn("Resources.Table (line 2): AWS::DynamoDB::Table is not supported yet: "
                          "dynamodb.CreateTable is not implemented", r.stderr)
        else:
            self.assertEqual(r.returncode, 0, r.stderr)


if __name__ == "__main__":
    harness.main()
