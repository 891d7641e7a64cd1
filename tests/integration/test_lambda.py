"""The function host and the Lambda API through boto3 and the aws CLI: create/update/delete,
code from a zip, a local path (hot reload) and refused plugins, sync and async invokes, function
errors (handled, exceptions, crashes, timeouts, out of memory), isolation, versions, aliases,
concurrency, permissions, tags, event invoke configs, logs, and restart durability."""
import base64
import io
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
import unittest
import zipfile

import botocore.exceptions

import harness
from harness import Daemon, client_error

PLUGINS = os.environ.get("SLESS_TEST_PLUGINS") or os.path.join(harness.ROOT, "build", "tests", "plugins")
PLUGIN = os.path.join(PLUGINS, "libtest_functions.so")
PLUGIN_V2 = os.path.join(PLUGINS, "libtest_functions_v2.so")
ROLE = "arn:aws:iam::000000000000:role/lambda-role"


def local_code(path=PLUGIN):
    return {"S3Bucket": "hot-reload", "S3Key": path}


def zip_of(path, name="libtest_functions.so"):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.write(path, name)
    return buf.getvalue()


class LambdaTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.d = Daemon(extra_args=["--lambda-retry-delay-ms", "50"]).start()
        cls.lam = cls.d.client("lambda")
        cls.logs = cls.d.client("logs")

    @classmethod
    def tearDownClass(cls):
        cls.d.cleanup()

    def make(self, name, handler, code=None, **kw):
        kw.setdefault("Timeout", 3)
        return self.lam.create_function(FunctionName=name, Runtime="provided.al2023", Role=ROLE, Handler=handler,
                                        Code=code or local_code(), **kw)

    def invoke(self, name, event=None, **kw):
        r = self.lam.invoke(FunctionName=name, Payload=json.dumps(event or {}).encode(), **kw)
        body = r["Payload"].read()
        return r, json.loads(body) if body else None

    # -- functions -------------------------------------------------------------------------

    def test_create_get_list_update_delete(self):
        created = self.make("crud", "echo", MemorySize=256, Description="d",
                            Environment={"Variables": {"STAGE": "test"}}, Tags={"team": "core"})
        self.assertEqual(created["FunctionName"], "crud")
        self.assertEqual(created["FunctionArn"], "arn:aws:lambda:us-east-1:000000000000:function:crud")
        self.assertEqual((created["State"], created["LastUpdateStatus"], created["Version"]),
                         ("Active", "Successful", "$LATEST"))
        self.assertEqual(created["MemorySize"], 256)
        self.assertEqual(created["CodeSize"], os.path.getsize(PLUGIN))
        got = self.lam.get_function(FunctionName="crud")
        self.assertEqual(got["Configuration"]["Environment"]["Variables"], {"STAGE": "test"})
        self.assertEqual(got["Tags"], {"team": "core"})
        self.assertIn("crud", [f["FunctionName"] for f in self.lam.list_functions()["Functions"]])
        # the SDK waiters work
        self.lam.get_waiter("function_active_v2").wait(FunctionName="crud")
        updated = self.lam.update_function_configuration(FunctionName="crud", Timeout=10,
                                                         Environment={"Variables": {"STAGE": "prod"}})
        self.assertEqual(updated["Timeout"], 10)
        self.assertNotEqual(updated["RevisionId"], created["RevisionId"])
        self.lam.get_waiter("function_updated_v2").wait(FunctionName="crud")
        _, out = self.invoke("crud", {"x": 1})
        self.assertEqual(out["event"], {"x": 1})
        self.lam.delete_function(FunctionName="crud")
        e = client_error(self.lam.get_function, FunctionName="crud")
        self.assertEqual(e.response["Error"]["Code"], "ResourceNotFoundException")
        self.assertEqual(e.response["ResponseMetadata"]["HTTPStatusCode"], 404)
        self.assertIn("function:crud", e.response["Error"]["Message"])

    def test_create_errors(self):
        self.make("dup", "echo")
        e = client_error(self.make, "dup", "echo")
        self.assertEqual(e.response["Error"]["Code"], "ResourceConflictException")
        e = client_error(self.lam.create_function, FunctionName="py", Runtime="python3.12", Role=ROLE,
                         Handler="index.handler", Code=local_code())
        self.assertEqual(e.response["Error"]["Code"], "InvalidParameterValueException")
        self.assertIn("python3.12", e.response["Error"]["Message"])
        e = client_error(self.make, "reserved", "echo", Environment={"Variables": {"AWS_REGION": "x"}})
        self.assertEqual(e.response["Error"]["Code"], "InvalidParameterValueException")
        self.assertIn("AWS_REGION", e.response["Error"]["Message"])
        for key in ["1st", "has-dash", "X", "_HANDLER"]:
            e = client_error(self.make, "badkey", "echo", Environment={"Variables": {key: "x"}})
            self.assertEqual(e.response["Error"]["Code"], "ValidationException", key)
        e = client_error(self.make, "big-env", "echo", Environment={"Variables": {"AA": "x" * 2100, "BB": "y" * 2100}})
        self.assertEqual(e.response["Error"]["Code"], "InvalidParameterValueException")
        self.assertIn("4KB", e.response["Error"]["Message"])
        self.make("env-at-limit", "echo", Environment={"Variables": {"AA": "x" * 2000, "BB": "y" * 2000}})
        e = client_error(self.make, "missing-handler", "no_such_handler")
        self.assertEqual(e.response["Error"]["Code"], "InvalidParameterValueException")
        self.assertIn("no_such_handler", e.response["Error"]["Message"])
        self.assertIn("echo", e.response["Error"]["Message"])  # it names what the plugin exports
        e = client_error(self.make, "future", "noop", code=local_code(os.path.join(PLUGINS, "libtest_future_abi.so")))
        self.assertIn("ABI v99", e.response["Error"]["Message"])
        self.assertIn("ABI v1", e.response["Error"]["Message"])
        e = client_error(self.make, "notplugin", "x", code=local_code(os.path.join(PLUGINS, "libtest_not_a_plugin.so")))
        self.assertIn("sless_plugin_entry", e.response["Error"]["Message"])
        e = client_error(self.make, "nofile", "echo", code=local_code("/nonexistent/lib.so"))
        self.assertEqual(e.response["Error"]["Code"], "InvalidParameterValueException")
        e = client_error(self.make, "notzip", "echo", code={"ZipFile": b"definitely not a zip"})
        self.assertIn("unzip", e.response["Error"]["Message"])
        for name in ("missing-handler", "future", "notplugin", "nofile", "notzip"):
            self.assertNotIn(name, [f["FunctionName"] for f in self.lam.list_functions()["Functions"]])

    def test_functions_created_together_from_one_plugin(self):
        # Created at once from the same plugin (as a stack does), they share one proof that the
        # plugin loads; each still gets its own environment and serves.
        names = ["twin%d" % i for i in range(6)]
        errors = []

        def create(name):
            try:
                self.make(name, "env", Environment={"Variables": {"STAGE": "same"}})
            except Exception as e:  # reported below
                errors.append((name, e))

        threads = [threading.Thread(target=create, args=(n,)) for n in names]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(errors, [])
        for name in names:
            _, out = self.invoke(name, {"names": ["STAGE", "AWS_LAMBDA_FUNCTION_NAME"]})
            self.assertEqual(out, {"STAGE": "same", "AWS_LAMBDA_FUNCTION_NAME": name})
        # A handler the plugin lacks is refused every time, also after the same plugin proved itself.
        for attempt in range(2):
            e = client_error(self.make, "twin-bad%d" % attempt, "no_such_handler")
            self.assertEqual(e.response["Error"]["Code"], "InvalidParameterValueException")
            self.assertIn("no_such_handler", e.response["Error"]["Message"])

    def test_deployment_packages_that_cannot_serve(self):
        def refused(name, package):
            e = client_error(self.make, name, "echo", code={"ZipFile": package})
            self.assertEqual(e.response["Error"]["Code"], "InvalidParameterValueException")
            return e.response["Error"]["Message"]

        good = zip_of(PLUGIN)
        self.assertIn("unzip", refused("truncated", good[: len(good) // 2]))
        corrupt = bytearray(good)
        corrupt[len(corrupt) // 2] ^= 0xFF  # inside the plugin's data: its CRC no longer matches
        self.assertIn("unzip", refused("corrupt", bytes(corrupt)))
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as z:
            z.writestr("README.txt", "no plugin here")
        self.assertIn("no .so plugin", refused("noplugin", buf.getvalue()))
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as z:
            z.write(PLUGIN, "liba.so")
            z.write(PLUGIN, "libb.so")
        self.assertIn("several .so plugins", refused("twoplugins", buf.getvalue()))
        names = [f["FunctionName"] for f in self.lam.list_functions()["Functions"]]
        for name in ("truncated", "corrupt", "noplugin", "twoplugins"):
            self.assertNotIn(name, names)

    def test_deflated_package_naming_its_plugin_after_the_handler(self):
        # Several plugins in a compressed zip: the one named lib<Handler>.so serves.
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as z:
            z.writestr("docs/notes.txt", "x" * 1000)
            z.write(PLUGIN_V2, "lib/libother.so")
            z.write(PLUGIN, "lib/libecho.so")
        self.make("deflated", "echo", code={"ZipFile": buf.getvalue()})
        _, out = self.invoke("deflated")
        self.assertEqual(out["variant"], 1)

    def test_zip_code_and_update_function_code(self):
        self.make("zipped", "echo", code={"ZipFile": zip_of(PLUGIN)})
        _, out = self.invoke("zipped")
        self.assertEqual(out["variant"], 1)
        r = self.lam.update_function_code(FunctionName="zipped", ZipFile=zip_of(PLUGIN_V2))
        self.assertEqual(r["CodeSize"], len(zip_of(PLUGIN_V2)))
        _, out = self.invoke("zipped")
        self.assertEqual(out["variant"], 2)

    # -- invoking --------------------------------------------------------------------------

    def test_invoke_returns_result_and_context(self):
        self.make("ctx", "echo", MemorySize=512, Timeout=7)
        r, out = self.invoke("ctx", {"order": 42}, LogType="Tail")
        self.assertEqual(r["StatusCode"], 200)
        self.assertEqual(r["ExecutedVersion"], "$LATEST")
        self.assertNotIn("FunctionError", r)
        self.assertEqual(out["event"], {"order": 42})
        self.assertEqual(out["function_name"], "ctx")
        self.assertEqual(out["memory"], 512)
        self.assertTrue(0 < out["remaining_ms"] <= 7000)
        self.assertEqual(out["log_group"], "/aws/lambda/ctx")
        self.assertEqual(out["request_id"], r["ResponseMetadata"]["RequestId"])
        log = base64.b64decode(r["LogResult"]).decode()
        self.assertIn(f"START RequestId: {out['request_id']} Version: $LATEST", log)
        self.assertIn(f"END RequestId: {out['request_id']}", log)
        self.assertIn("REPORT RequestId", log)
        self.assertIn("Memory Size: 512 MB", log)

    def test_environment(self):
        self.make("envfn", "env", Environment={"Variables": {"TABLE": "orders"}})
        _, out = self.invoke("envfn", {"names": ["TABLE", "AWS_LAMBDA_FUNCTION_NAME", "AWS_REGION",
                                                 "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "_HANDLER", "HOME"]})
        self.assertEqual(out, {"TABLE": "orders", "AWS_LAMBDA_FUNCTION_NAME": "envfn", "AWS_REGION": "us-east-1",
                               "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128", "_HANDLER": "env", "HOME": None})

    def test_each_cold_start_sees_only_its_own_environment(self):
        # Workers after the first come from a process the zygote forked ahead of the request: each
        # must still start from the function's environment alone, and report its cold start.
        self.make("envcold", "env", Environment={"Variables": {"ROUND": "0"}})
        for i in range(1, 5):
            self.lam.update_function_configuration(FunctionName="envcold", Environment={"Variables": {"ROUND": str(i)}})
            r, out = self.invoke("envcold", {"names": ["ROUND", "SLESS_SPARE", "HOME", "AWS_LAMBDA_FUNCTION_NAME"]},
                                 LogType="Tail")
            self.assertEqual(out, {"ROUND": str(i), "SLESS_SPARE": None, "HOME": None,
                                   "AWS_LAMBDA_FUNCTION_NAME": "envcold"})
            self.assertIn("Init Duration", base64.b64decode(r["LogResult"]).decode())

    def test_a_shorter_timeout_fires_while_a_longer_one_runs(self):
        # Deadlines share one timer armed for the earliest: a 1 s invocation started while a 3 s one
        # runs must still end at its own deadline, before the longer one.
        self.make("slow3", "sleep_forever", Timeout=3)
        self.make("slow1", "sleep_forever", Timeout=1)
        done = {}

        def long_call():
            _, out = self.invoke("slow3")
            done["slow3"] = out

        t = threading.Thread(target=long_call)
        t.start()
        try:
            def slow3_busy():
                pools = json.loads(self.d.http("GET", "/_sless/health")[2])["services"]["lambda"]["worker_pools"]
                return any(":function:slow3:" in k and p["live"] == 1 and p["idle"] == 0 for k, p in pools.items())

            harness.wait_for(slow3_busy, message="the 3 s invocation running")
            r, out = self.invoke("slow1")
            self.assertNotIn("slow3", done)
            self.assertEqual(r["FunctionError"], "Unhandled")
            self.assertEqual(out["errorType"], "Sandbox.Timedout")
            self.assertIn("Task timed out after 1.00 seconds", out["errorMessage"])
        finally:
            t.join()
        self.assertEqual(done["slow3"]["errorType"], "Sandbox.Timedout")
        self.assertIn("Task timed out after 3.00 seconds", done["slow3"]["errorMessage"])

    def test_function_errors(self):
        self.make("fail", "fail")
        self.make("throws", "throws")
        r, out = self.invoke("fail")
        self.assertEqual(r["FunctionError"], "Unhandled")
        self.assertEqual(out, {"errorMessage": "the order is invalid", "errorType": "InvalidOrder"})
        r, out = self.invoke("throws")
        self.assertEqual(r["FunctionError"], "Unhandled")
        self.assertEqual(out["errorMessage"], "something broke")

    def test_crash_timeout_and_oom_are_isolated(self):
        self.make("crash", "crash")
        self.make("abort", "abort")
        self.make("sleepy", "sleep_forever", Timeout=1)
        self.make("hog", "allocate_forever", Timeout=30, MemorySize=128)
        self.make("fine", "echo")
        results = {}

        def call(name):
            results[name] = self.invoke(name)

        threads = [threading.Thread(target=call, args=(n,)) for n in ("crash", "abort", "sleepy", "hog")]
        for t in threads:
            t.start()
        # the daemon answers other requests while functions misbehave
        for _ in range(5):
            _, out = self.invoke("fine")
            self.assertIn("event", out)
            self.assertEqual(self.d.http("GET", "/_sless/health")[0], 200)
        for t in threads:
            t.join(60)
        r, out = results["crash"]
        self.assertEqual((r["FunctionError"], out["errorType"]), ("Unhandled", "Runtime.ExitError"))
        self.assertIn("Runtime exited with error: signal: segmentation fault", out["errorMessage"])
        r, out = results["abort"]
        self.assertIn("signal: aborted", out["errorMessage"])
        r, out = results["sleepy"]
        self.assertEqual(out["errorType"], "Sandbox.Timedout")
        self.assertIn("Task timed out after 1.00 seconds", out["errorMessage"])
        r, out = results["hog"]
        self.assertEqual(out["errorType"], "Runtime.OutOfMemory")
        # each one is replaced and serves again
        r, out = self.invoke("crash")
        self.assertEqual(out["errorType"], "Runtime.ExitError")
        _, out = self.invoke("fine")
        self.assertIn("event", out)

    def test_function_processes_hold_no_connection_of_the_daemon(self):
        # A worker that inherited a client connection's fd would keep it open after the daemon
        # closed it, and the client's next request on it would never be answered.
        self.make("fd-check", "echo")
        self.invoke("fd-check", {})

        def children(pid):
            out = []
            for entry in os.listdir("/proc"):
                if entry.isdigit():
                    try:
                        with open(f"/proc/{entry}/stat") as f:
                            if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                                out.append(int(entry))
                    except (OSError, ValueError, IndexError):
                        pass
            return out

        tcp_inodes = set()
        for table in ("/proc/net/tcp", "/proc/net/tcp6"):
            with open(table) as f:
                tcp_inodes |= {line.split()[9] for line in f.readlines()[1:]}
        descendants, todo = [], children(self.d.proc.pid)
        while todo:
            pid = todo.pop()
            descendants.append(pid)
            todo += children(pid)
        self.assertTrue(descendants, "the zygote and a worker run")
        for pid in descendants:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                try:
                    target = os.readlink(f"/proc/{pid}/fd/{fd}")
                except OSError:
                    continue
                if target.startswith("socket:["):
                    self.assertNotIn(target[8:-1], tcp_inodes, f"process {pid} holds TCP socket fd {fd}")

    def test_warm_workers_are_reused(self):
        self.make("warm", "echo")
        pids = {self.invoke("warm")[1]["pid"] for _ in range(5)}
        self.assertEqual(len(pids), 1)

    def test_large_events_go_through_whole(self):
        # Events larger than a socket's buffer reach the worker in several writes and its answer
        # comes back in several reads; the next invocation on the same worker is unaffected.
        self.make("bigecho", "echo", MemorySize=512)
        for size in (300 * 1024, 5 * 1024 * 1024):
            blob = "".join(chr(ord("a") + i % 26) for i in range(size))
            _, out = self.invoke("bigecho", {"blob": blob})
            self.assertEqual(len(out["event"]["blob"]), size)
            self.assertEqual(out["event"]["blob"], blob)
            _, small = self.invoke("bigecho", {"n": 1})
            self.assertEqual(small["event"], {"n": 1})
            self.assertEqual(small["pid"], out["pid"])

    def test_invoke_errors(self):
        self.make("inv-errors", "echo")
        e = client_error(self.lam.invoke, FunctionName="nope", Payload=b"{}")
        self.assertEqual(e.response["Error"]["Code"], "ResourceNotFoundException")
        e = client_error(self.lam.invoke, FunctionName="inv-errors", Payload=b"not json")
        self.assertEqual(e.response["Error"]["Code"], "InvalidRequestContentException")
        e = client_error(self.lam.invoke, FunctionName="inv-errors", Payload=b'"' + b"x" * (6 * 1024 * 1024) + b'"')
        self.assertEqual(e.response["Error"]["Code"], "RequestTooLargeException")
        self.assertEqual(e.response["ResponseMetadata"]["HTTPStatusCode"], 413)
        r = self.lam.invoke(FunctionName="inv-errors", InvocationType="DryRun")
        self.assertEqual(r["StatusCode"], 204)

    def test_names_arns_and_qualifiers(self):
        self.make("named", "echo")
        arn = "arn:aws:lambda:us-east-1:000000000000:function:named"
        for ref in ("named", arn, "000000000000:function:named", "named:$LATEST", arn + ":$LATEST"):
            _, out = self.invoke(ref)
            self.assertEqual(out["function_name"], "named", ref)

    # -- asynchronous invocations ----------------------------------------------------------

    def wait_log(self, function, text, timeout=15):
        def found():
            try:
                events = self.logs.filter_log_events(logGroupName="/aws/lambda/" + function,
                                                     filterPattern=f'"{text}"')["events"]
            except botocore.exceptions.ClientError:
                return None
            return events or None
        return harness.wait_for(found, timeout=timeout, message=f"'{text}' in the log of {function}")

    def test_event_invoke_retries_then_destination(self):
        self.make("recorder", "record")
        counters = tempfile.mkdtemp(prefix="sless-flaky-")
        self.addCleanup(shutil.rmtree, counters, True)
        self.make("flaky", "flaky", Environment={"Variables": {"COUNTER_DIR": counters}})
        self.lam.put_function_event_invoke_config(
            FunctionName="flaky", MaximumRetryAttempts=1,
            DestinationConfig={"OnSuccess": {"Destination": "arn:aws:lambda:us-east-1:000000000000:function:recorder"},
                               "OnFailure": {"Destination": "arn:aws:lambda:us-east-1:000000000000:function:recorder"}})
        ok_id, bad_id = f"ok-{time.time()}", f"bad-{time.time()}"
        r = self.lam.invoke(FunctionName="flaky", InvocationType="Event",
                            Payload=json.dumps({"id": ok_id, "fail_times": 1}).encode())
        self.assertEqual(r["StatusCode"], 202)
        self.lam.invoke(FunctionName="flaky", InvocationType="Event",
                        Payload=json.dumps({"id": bad_id, "fail_times": 5}).encode())
        success = self.wait_log("recorder", ok_id)
        record = json.loads(success[0]["message"].split("EVENT ", 1)[1])
        self.assertEqual(record["requestContext"]["condition"], "Success")
        self.assertEqual(record["requestContext"]["approximateInvokeCount"], 2)
        self.assertEqual(record["responsePayload"], {"attempts": 2})
        self.assertEqual(record["requestPayload"]["id"], ok_id)
        failure = self.wait_log("recorder", bad_id)
        record = json.loads(failure[0]["message"].split("EVENT ", 1)[1])
        self.assertEqual(record["requestContext"]["condition"], "RetriesExhausted")
        self.assertEqual(record["requestContext"]["approximateInvokeCount"], 2)
        self.assertEqual(record["responseContext"]["functionError"], "Unhandled")
        self.assertEqual(record["responsePayload"]["errorType"], "Flaky")

    def test_event_invoke_config_api(self):
        self.make("eic", "echo")
        e = client_error(self.lam.get_function_event_invoke_config, FunctionName="eic")
        self.assertEqual(e.response["Error"]["Code"], "ResourceNotFoundException")
        self.lam.put_function_event_invoke_config(FunctionName="eic", MaximumRetryAttempts=0,
                                                  MaximumEventAgeInSeconds=300)
        got = self.lam.get_function_event_invoke_config(FunctionName="eic")
        self.assertEqual((got["MaximumRetryAttempts"], got["MaximumEventAgeInSeconds"]), (0, 300))
        self.lam.update_function_event_invoke_config(FunctionName="eic", MaximumRetryAttempts=2)
        got = self.lam.get_function_event_invoke_config(FunctionName="eic")
        self.assertEqual((got["MaximumRetryAttempts"], got["MaximumEventAgeInSeconds"]), (2, 300))
        self.assertEqual(len(self.lam.list_function_event_invoke_configs(FunctionName="eic")
                             ["FunctionEventInvokeConfigs"]), 1)
        # Destinations: an ARN (the API's pattern) of a queue, topic, function or event bus.
        e = client_error(self.lam.put_function_event_invoke_config, FunctionName="eic",
                         DestinationConfig={"OnFailure": {"Destination": "my-queue"}})
        self.assertEqual(e.response["Error"]["Code"], "ValidationException")
        self.assertIn("destinationConfig.onFailure.destination", e.response["Error"]["Message"])
        bucket = "arn:aws:s3:::no-such-destination"
        e = client_error(self.lam.update_function_event_invoke_config, FunctionName="eic",
                         DestinationConfig={"OnSuccess": {"Destination": bucket}})
        self.assertEqual(e.response["Error"]["Code"], "InvalidParameterValueException")
        self.assertEqual(e.response["Error"]["Message"], f"The destination ARN {bucket} is invalid.")
        queue = "arn:aws:sqs:us-east-1:000000000000:eic-failures"
        self.lam.update_function_event_invoke_config(FunctionName="eic",
                                                     DestinationConfig={"OnFailure": {"Destination": queue}})
        got = self.lam.get_function_event_invoke_config(FunctionName="eic")
        self.assertEqual((got["MaximumRetryAttempts"], got["DestinationConfig"]["OnFailure"]), (2, {"Destination": queue}))
        self.lam.delete_function_event_invoke_config(FunctionName="eic")
        self.assertEqual(self.lam.list_function_event_invoke_configs(FunctionName="eic")
                         ["FunctionEventInvokeConfigs"], [])

    # -- versions, aliases, concurrency, policy, tags --------------------------------------

    def test_versions_and_aliases(self):
        self.make("versioned", "echo", code=local_code(self.copy_plugin("versioned")))
        v1 = self.lam.publish_version(FunctionName="versioned")
        self.assertEqual(v1["Version"], "1")
        self.assertEqual(v1["FunctionArn"], "arn:aws:lambda:us-east-1:000000000000:function:versioned:1")
        self.assertEqual(self.lam.publish_version(FunctionName="versioned")["Version"], "1")  # nothing changed
        self.lam.update_function_code(FunctionName="versioned", ZipFile=zip_of(PLUGIN_V2))
        v2 = self.lam.publish_version(FunctionName="versioned")
        self.assertEqual(v2["Version"], "2")
        versions = [v["Version"] for v in self.lam.list_versions_by_function(FunctionName="versioned")["Versions"]]
        self.assertEqual(versions, ["$LATEST", "1", "2"])
        r, out = self.invoke("versioned", Qualifier="1")
        self.assertEqual((r["ExecutedVersion"], out["variant"], out["version"]), ("1", 1, "1"))
        alias = self.lam.create_alias(FunctionName="versioned", Name="live", FunctionVersion="2")
        self.assertEqual(alias["AliasArn"], "arn:aws:lambda:us-east-1:000000000000:function:versioned:live")
        r, out = self.invoke("versioned:live")
        self.assertEqual((r["ExecutedVersion"], out["variant"]), ("2", 2))
        self.assertTrue(out["function_arn"].endswith(":versioned:live"))
        self.lam.update_alias(FunctionName="versioned", Name="live", FunctionVersion="1",
                              RoutingConfig={"AdditionalVersionWeights": {"2": 0.5}})
        seen = {self.invoke("versioned", Qualifier="live")[0]["ExecutedVersion"] for _ in range(40)}
        self.assertEqual(seen, {"1", "2"})
        e = client_error(self.lam.delete_function, FunctionName="versioned", Qualifier="1")
        self.assertEqual(e.response["Error"]["Code"], "ResourceConflictException")
        e = client_error(self.lam.invoke, FunctionName="versioned", Qualifier="nope", Payload=b"{}")
        self.assertEqual(e.response["Error"]["Code"], "ResourceNotFoundException")
        self.lam.delete_alias(FunctionName="versioned", Name="live")
        self.lam.delete_function(FunctionName="versioned", Qualifier="1")
        versions = [v["Version"] for v in self.lam.list_versions_by_function(FunctionName="versioned")["Versions"]]
        self.assertEqual(versions, ["$LATEST", "2"])

    def test_reserved_concurrency_throttles(self):
        self.make("limited", "sleep_ms")
        self.lam.put_function_concurrency(FunctionName="limited", ReservedConcurrentExecutions=0)
        self.assertEqual(self.lam.get_function_concurrency(FunctionName="limited")["ReservedConcurrentExecutions"], 0)
        e = client_error(self.lam.invoke, FunctionName="limited", Payload=b"{}")
        self.assertEqual(e.response["Error"]["Code"], "TooManyRequestsException")
        self.assertEqual(e.response["ResponseMetadata"]["HTTPStatusCode"], 429)
        self.assertEqual(e.response["Reason"], "ReservedFunctionConcurrentInvocationLimitExceeded")
        self.lam.put_function_concurrency(FunctionName="limited", ReservedConcurrentExecutions=1)
        slow = threading.Thread(target=self.invoke, args=("limited", {"ms": 1500}))
        slow.start()
        harness.wait_for(lambda: self.d.http("GET", "/_sless/health")[0] == 200)
        time.sleep(0.3)  # let the slow invocation occupy the only slot
        e = client_error(self.lam.invoke, FunctionName="limited", Payload=b'{"ms": 1}')
        self.assertEqual(e.response["Error"]["Code"], "TooManyRequestsException")
        slow.join(10)
        self.lam.delete_function_concurrency(FunctionName="limited")
        self.assertEqual(self.invoke("limited", {"ms": 1})[1]["slept"], True)

    def test_permissions(self):
        self.make("guarded", "echo")
        r = self.lam.add_permission(FunctionName="guarded", StatementId="s3-invoke", Action="lambda:InvokeFunction",
                                    Principal="s3.amazonaws.com", SourceArn="arn:aws:s3:::bucket")
        statement = json.loads(r["Statement"])
        self.assertEqual(statement["Principal"], {"Service": "s3.amazonaws.com"})
        policy = json.loads(self.lam.get_policy(FunctionName="guarded")["Policy"])
        self.assertEqual([s["Sid"] for s in policy["Statement"]], ["s3-invoke"])
        self.assertEqual(policy["Statement"][0]["Condition"]["ArnLike"]["AWS:SourceArn"], "arn:aws:s3:::bucket")
        e = client_error(self.lam.add_permission, FunctionName="guarded", StatementId="s3-invoke",
                         Action="lambda:InvokeFunction", Principal="s3.amazonaws.com")
        self.assertEqual(e.response["Error"]["Code"], "ResourceConflictException")
        # Members outside the API's patterns: ValidationException naming the member, nothing added.
        for bad in ({"SourceArn": "not-an-arn"}, {"SourceArn": "arn:aws:s3:us-east:1:x"},
                    {"StatementId": "has space"}, {"Action": "s3:GetObject"}, {"SourceAccount": "12345"},
                    {"Principal": "two words"}):
            kw = {"FunctionName": "guarded", "StatementId": "more", "Action": "lambda:InvokeFunction",
                  "Principal": "events.amazonaws.com", **bad}
            e = client_error(self.lam.add_permission, **kw)
            self.assertEqual((e.response["Error"]["Code"], e.response["ResponseMetadata"]["HTTPStatusCode"]),
                             ("ValidationException", 400), bad)
            member = next(iter(bad))
            self.assertIn(f"at '{member[0].lower() + member[1:]}' failed to satisfy constraint", e.response["Error"]["Message"])
        policy = json.loads(self.lam.get_policy(FunctionName="guarded")["Policy"])
        self.assertEqual([s["Sid"] for s in policy["Statement"]], ["s3-invoke"])
        self.lam.add_permission(FunctionName="guarded", StatementId="rule.v2_x-1", Action="lambda:*",
                                Principal="events.amazonaws.com", SourceAccount="000000000000",
                                SourceArn="arn:aws:events:us-east-1:000000000000:rule/nightly")
        self.lam.remove_permission(FunctionName="guarded", StatementId="rule.v2_x-1")
        self.lam.remove_permission(FunctionName="guarded", StatementId="s3-invoke")
        e = client_error(self.lam.get_policy, FunctionName="guarded")
        self.assertEqual(e.response["Error"]["Code"], "ResourceNotFoundException")

    def test_tags(self):
        arn = self.make("tagged", "echo")["FunctionArn"]
        self.lam.tag_resource(Resource=arn, Tags={"a": "1", "b": "2"})
        self.lam.untag_resource(Resource=arn, TagKeys=["a"])
        self.assertEqual(self.lam.list_tags(Resource=arn)["Tags"], {"b": "2"})

    # -- logs, hot reload, CLI -------------------------------------------------------------

    def test_output_reaches_cloudwatch_logs_and_sless_logs(self):
        self.make("talker", "logs")
        r, _ = self.invoke("talker")
        rid = r["ResponseMetadata"]["RequestId"]
        streams = self.logs.describe_log_streams(logGroupName="/aws/lambda/talker")["logStreams"]
        self.assertEqual(len(streams), 1)
        self.assertRegex(streams[0]["logStreamName"], r"^\d{4}/\d{2}/\d{2}/\[\$LATEST\][0-9a-f]{32}$")
        events = self.logs.get_log_events(logGroupName="/aws/lambda/talker",
                                          logStreamName=streams[0]["logStreamName"], startFromHead=True)["events"]
        messages = [e["message"] for e in events]
        self.assertEqual(messages[0], f"START RequestId: {rid} Version: $LATEST")
        self.assertEqual(messages[1:4], [f"to stdout {rid}", "to stderr", "through the sdk"])
        self.assertEqual(messages[4], f"END RequestId: {rid}")
        self.assertTrue(messages[5].startswith(f"REPORT RequestId: {rid}\tDuration: "))
        out = subprocess.run([harness.SLESS_BIN, "logs", "talker", "--endpoint", self.d.endpoint,
                              "--account", "000000000000"], capture_output=True, text=True, timeout=20)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn(f"to stdout {rid}", out.stdout)
        self.assertIn("REPORT RequestId", out.stdout)

    def log_pages(self, group, stream, **kw):
        """Every message of GetLogEvents pages, following the token until it comes back unchanged."""
        key = "nextForwardToken" if kw.get("startFromHead") else "nextBackwardToken"
        pages, token = [], None
        for _ in range(100):
            args = dict(logGroupName=group, logStreamName=stream, **kw)
            if token:
                args["nextToken"] = token
            r = self.logs.get_log_events(**args)
            if r[key] == token:
                self.assertEqual(r["events"], [])
                break
            self.assertLessEqual(len(r["events"]), kw.get("limit", 10000))
            pages.append([e["message"] for e in r["events"]])
            token = r[key]
        if not kw.get("startFromHead"):
            pages.reverse()
        return [m for page in pages for m in page]

    def test_invocation_logs_page_and_filter_line_by_line(self):
        # An invocation's lines are stored together; reads still page, bound and filter them line by line.
        self.make("pager", "logs")
        rids = []
        for _ in range(2):
            rids.append(self.invoke("pager")[0]["ResponseMetadata"]["RequestId"])
            time.sleep(0.01)
        group = "/aws/lambda/pager"
        streams = self.logs.describe_log_streams(logGroupName=group)["logStreams"]
        self.assertEqual(len(streams), 1)  # one warm worker ran both
        stream = streams[0]["logStreamName"]
        every = self.logs.get_log_events(logGroupName=group, logStreamName=stream, startFromHead=True)["events"]
        messages = [e["message"] for e in every]
        self.assertEqual(len(messages), 12)
        self.assertEqual([m for m in messages if m.startswith("START")],
                         [f"START RequestId: {rid} Version: $LATEST" for rid in rids])
        self.assertEqual([e["timestamp"] for e in every], sorted(e["timestamp"] for e in every))
        self.assertEqual(self.log_pages(group, stream, startFromHead=True, limit=1), messages)
        self.assertEqual(self.log_pages(group, stream, startFromHead=True, limit=5), messages)
        self.assertEqual(self.log_pages(group, stream, startFromHead=False, limit=5), messages)
        # From the second invocation's START on, by time.
        second = every[6]["timestamp"]
        self.assertEqual(self.log_pages(group, stream, startFromHead=True, limit=4, startTime=second), messages[6:])
        self.assertEqual(self.log_pages(group, stream, startFromHead=False, limit=4, endTime=second), messages[:6])
        filtered = self.logs.filter_log_events(logGroupName=group, startTime=second)["events"]
        self.assertEqual([e["message"] for e in filtered], messages[6:])
        self.assertEqual(len({e["eventId"] for e in filtered}), 6)
        only = self.logs.filter_log_events(logGroupName=group, filterPattern=f'"{rids[0]}"')["events"]
        self.assertEqual(len(only), 4)  # START, the stdout line, END and REPORT name the request id
        stored = self.logs.describe_log_streams(logGroupName=group)["logStreams"][0]
        self.assertEqual(stored["storedBytes"], sum(len(m.encode()) + 26 for m in messages))
        self.assertEqual(stored["firstEventTimestamp"], every[0]["timestamp"])
        self.assertEqual(stored["lastEventTimestamp"], every[-1]["timestamp"])

    def test_log_group_and_stream_names(self):
        for bad in ["bad name!", "a:b", "tab\there"]:
            e = client_error(self.logs.create_log_group, logGroupName=bad)
            self.assertEqual(e.response["Error"]["Code"], "InvalidParameterException", bad)
            self.assertIn("at 'logGroupName' failed to satisfy constraint", e.response["Error"]["Message"])
        self.logs.create_log_group(logGroupName="/app/names_ok.v1#2-x")
        for bad in ["a:b", "star*"]:
            e = client_error(self.logs.create_log_stream, logGroupName="/app/names_ok.v1#2-x", logStreamName=bad)
            self.assertEqual(e.response["Error"]["Code"], "InvalidParameterException", bad)
        self.logs.create_log_stream(logGroupName="/app/names_ok.v1#2-x", logStreamName="2026/11/28/[$LATEST] x y")
        groups = self.logs.describe_log_groups(logGroupNamePrefix="/app/names")["logGroups"]
        self.assertEqual([g["logGroupName"] for g in groups], ["/app/names_ok.v1#2-x"])

    def test_put_log_events_pages(self):
        self.logs.create_log_group(logGroupName="/app/pages")
        self.logs.create_log_stream(logGroupName="/app/pages", logStreamName="s")
        now = int(time.time() * 1000)
        self.logs.put_log_events(logGroupName="/app/pages", logStreamName="s",
                                 logEvents=[{"timestamp": now + i, "message": f"m{i}"} for i in range(5)])
        expected = [f"m{i}" for i in range(5)]
        self.assertEqual(self.log_pages("/app/pages", "s", startFromHead=True, limit=2), expected)
        self.assertEqual(self.log_pages("/app/pages", "s", startFromHead=False, limit=2), expected)
        self.assertEqual(self.log_pages("/app/pages", "s", startFromHead=True, startTime=now + 1, endTime=now + 4),
                         ["m1", "m2", "m3"])
        e = client_error(self.logs.get_log_events, logGroupName="/app/pages", logStreamName="s", nextToken="f/zz")
        self.assertEqual(e.response["Error"]["Code"], "InvalidParameterException")

    def copy_plugin(self, name, source=PLUGIN):
        directory = tempfile.mkdtemp(prefix="sless-plugin-")
        self.addCleanup(shutil.rmtree, directory, True)
        path = os.path.join(directory, f"lib{name}.so")
        shutil.copy(source, path)
        return path

    def test_hot_reload(self):
        path = self.copy_plugin("hot")
        self.make("hot", "echo", code=local_code(path))
        self.assertEqual(self.invoke("hot")[1]["variant"], 1)
        # A build that does not load (no such handler in it) leaves the old code serving.
        tmp = path + ".new"
        shutil.copy(os.path.join(PLUGINS, "libtest_not_a_plugin.so"), tmp)
        os.replace(tmp, path)
        time.sleep(1.0)  # give the watcher time to try, and fail
        self.assertEqual(self.invoke("hot")[1]["variant"], 1)
        # A good build replaces it (written in place this time, as some linkers do).
        shutil.copy(PLUGIN_V2, path)
        harness.wait_for(lambda: self.invoke("hot")[1]["variant"] == 2, timeout=15, interval=0.1,
                         message="the new plugin to serve")
        sha = self.lam.get_function(FunctionName="hot")["Configuration"]["CodeSha256"]
        with open(PLUGIN_V2, "rb") as f:
            import hashlib
            self.assertEqual(sha, base64.b64encode(hashlib.sha256(f.read()).digest()).decode())

    def test_aws_cli_invoke(self):
        self.make("cli-fn", "echo")
        out_file = os.path.join(tempfile.mkdtemp(prefix="sless-cli-"), "out.json")
        meta = self.d.aws("lambda", "invoke", "--function-name", "cli-fn", "--payload", '{"from": "cli"}', out_file)
        self.assertEqual(meta["StatusCode"], 200)
        with open(out_file) as f:
            self.assertEqual(json.load(f)["event"], {"from": "cli"})
        shutil.rmtree(os.path.dirname(out_file))
        listed = self.d.aws("lambda", "list-functions")
        self.assertIn("cli-fn", [f["FunctionName"] for f in listed["Functions"]])

    def test_function_calls_a_service_in_process(self):
        self.make("caller", "call")
        _, out = self.invoke("caller", {"service": "logs", "operation": "CreateLogGroup",
                                        "request": {"logGroupName": "/made/by/function"}})
        self.assertEqual(out, {"ok": True, "result": {}})
        groups = [g["logGroupName"] for g in self.logs.describe_log_groups(logGroupNamePrefix="/made")["logGroups"]]
        self.assertEqual(groups, ["/made/by/function"])
        _, out = self.invoke("caller", {"service": "logs", "operation": "CreateLogGroup",
                                        "request": {"logGroupName": "/made/by/function"}})
        self.assertEqual((out["ok"], out["code"]), (False, "ResourceAlreadyExistsException"))
        _, out = self.invoke("caller", {"service": "logs", "operation": "CreateLogGroup", "request": {}})
        self.assertEqual((out["ok"], out["code"]), (False, "ValidationException"))

    def test_function_reads_dynamodb_in_process(self):
        # DynamoDB writes its answers' JSON text itself; a plugin gets that text, parsed by its SDK,
        # with every type, escapes and non-ASCII text intact, and errors as codes.
        ddb = self.d.client("dynamodb")
        ddb.create_table(TableName="fn-items", BillingMode="PAY_PER_REQUEST",
                         KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                         AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}])
        item = {"id": {"S": "k1"}, "name": {"S": "Crème brûlée \"quoted\" \\ tab\t 雪"}, "n": {"N": "12.50"},
                "ok": {"BOOL": True}, "nothing": {"NULL": True}, "blob": {"B": b"\x00\xff"},
                "tags": {"SS": ["a", "b"]}, "nested": {"M": {"list": {"L": [{"N": "1"}, {"S": "two"}]}}}}
        ddb.put_item(TableName="fn-items", Item=item)
        self.make("ddb-caller", "call")
        _, out = self.invoke("ddb-caller", {"service": "dynamodb", "operation": "GetItem",
                                        "request": {"TableName": "fn-items", "Key": {"id": {"S": "k1"}}}})
        self.assertTrue(out["ok"], out)
        got = out["result"]["Item"]
        self.assertEqual(got["name"], {"S": "Crème brûlée \"quoted\" \\ tab\t 雪"})
        self.assertEqual(got["n"], {"N": "12.5"})
        self.assertEqual(got["blob"], {"B": base64.b64encode(b"\x00\xff").decode()})
        self.assertEqual(sorted(got["tags"]["SS"]), ["a", "b"])
        self.assertEqual(got["nested"], {"M": {"list": {"L": [{"N": "1"}, {"S": "two"}]}}})
        self.assertEqual((got["ok"], got["nothing"]), ({"BOOL": True}, {"NULL": True}))
        _, out = self.invoke("ddb-caller", {"service": "dynamodb", "operation": "GetItem",
                                        "request": {"TableName": "fn-items", "Key": {"id": {"S": "missing"}}}})
        self.assertEqual(out, {"ok": True, "result": {}})
        _, out = self.invoke("ddb-caller", {"service": "dynamodb", "operation": "GetItem",
                                        "request": {"TableName": "no-such-table", "Key": {"id": {"S": "k1"}}}})
        self.assertEqual((out["ok"], out["code"]), (False, "ResourceNotFoundException"))


class Durability(unittest.TestCase):
    def test_invocation_lines_are_written_without_a_reader(self):
        # The lines are written a moment after the answer even when nothing reads them: a kill -9
        # half a second later keeps them.
        data = tempfile.mkdtemp(prefix="sless-lambda-lines-")
        d = None
        try:
            d = Daemon(data_dir=data).start()
            lam = d.client("lambda")
            lam.create_function(FunctionName="quiet", Runtime="provided.al2023", Role=ROLE, Handler="echo",
                                Code={"ZipFile": zip_of(PLUGIN)})
            ids = [lam.invoke(FunctionName="quiet", Payload=b'{}')["ResponseMetadata"]["RequestId"] for _ in range(3)]
            time.sleep(0.5)
            d.kill()  # kill -9
            d = Daemon(data_dir=data).start()
            logs = d.client("logs")
            messages = [e["message"] for e in logs.filter_log_events(logGroupName="/aws/lambda/quiet")["events"]]
            for rid in ids:
                self.assertIn(f"START RequestId: {rid} Version: $LATEST", messages)
                self.assertIn(f"END RequestId: {rid}", messages)
            self.assertEqual(d.stop(), 0)
        finally:
            if d is not None:
                d.kill()  # a failed assertion must not leave the daemon running
            shutil.rmtree(data, ignore_errors=True)

    def test_functions_survive_restart_and_kill(self):
        data = tempfile.mkdtemp(prefix="sless-lambda-durable-")
        try:
            d = Daemon(data_dir=data).start()
            lam = d.client("lambda")
            lam.create_function(FunctionName="keeper", Runtime="provided.al2023", Role=ROLE, Handler="echo",
                                Code={"ZipFile": zip_of(PLUGIN)})
            lam.publish_version(FunctionName="keeper")
            lam.create_alias(FunctionName="keeper", Name="prod", FunctionVersion="1")
            d.kill()  # kill -9
            d = Daemon(data_dir=data).start()
            lam = d.client("lambda")
            r = lam.invoke(FunctionName="keeper", Qualifier="prod", Payload=b'{"after": "kill"}')
            self.assertEqual(json.loads(r["Payload"].read())["event"], {"after": "kill"})
            self.assertEqual(r["ExecutedVersion"], "1")
            self.assertEqual(d.stop(), 0)
            d = Daemon(data_dir=data).start()
            self.assertEqual([f["FunctionName"] for f in d.client("lambda").list_functions()["Functions"]], ["keeper"])
            d.stop()
        finally:
            shutil.rmtree(data, ignore_errors=True)

    def test_lines_of_concurrent_invocations_are_all_kept_across_a_kill(self):
        # Invocation lines are written in batches after the answers: every invocation's lines must
        # be readable once the answers are in, and the streams' figures must match their events
        # after a kill -9 and a restart, with new lines appended to the same streams.
        data = tempfile.mkdtemp(prefix="sless-lambda-logs-")
        try:
            d = Daemon(data_dir=data).start()
            lam, logs = d.client("lambda"), d.client("logs")
            lam.create_function(FunctionName="chatty", Runtime="provided.al2023", Role=ROLE, Handler="logs",
                                Code={"ZipFile": zip_of(PLUGIN)})
            ids, errors = [], []

            def invoke_some():
                try:
                    client = d.client("lambda")
                    for _ in range(10):
                        r = client.invoke(FunctionName="chatty", Payload=b"{}")
                        ids.append(r["ResponseMetadata"]["RequestId"])
                except Exception as e:  # noqa: BLE001 - reported below
                    errors.append(e)

            threads = [threading.Thread(target=invoke_some) for _ in range(4)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            self.assertEqual(errors, [])
            group = "/aws/lambda/chatty"

            def lines():
                out, token = [], None
                while True:
                    kw = {"nextToken": token} if token else {}
                    page = logs.filter_log_events(logGroupName=group, **kw)
                    out += [e["message"] for e in page["events"]]
                    token = page.get("nextToken")
                    if not token:
                        return out

            got = lines()
            for rid in ids:
                self.assertIn(f"START RequestId: {rid} Version: $LATEST", got)
                self.assertIn(f"END RequestId: {rid}", got)
                self.assertEqual(sum(1 for m in got if m.startswith(f"REPORT RequestId: {rid}\t")), 1)
            streams = logs.describe_log_streams(logGroupName=group)["logStreams"]
            d.kill()  # kill -9
            d = Daemon(data_dir=data).start()
            lam, logs = d.client("lambda"), d.client("logs")
            self.assertEqual(logs.describe_log_streams(logGroupName=group)["logStreams"], streams)
            self.assertEqual(sorted(lines()), sorted(got))
            r = lam.invoke(FunctionName="chatty", Payload=b"{}")
            rid = r["ResponseMetadata"]["RequestId"]
            self.assertIn(f"END RequestId: {rid}", lines())
            after = {s["logStreamName"]: s for s in logs.describe_log_streams(logGroupName=group)["logStreams"]}
            before = {s["logStreamName"]: s for s in streams}
            self.assertTrue(set(before) <= set(after))
            self.assertEqual(sum(s["storedBytes"] for s in after.values()) > sum(s["storedBytes"] for s in streams), True)
            d.stop()
        finally:
            shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    harness.main()
