"""EventBridge through boto3: buses, rules with event patterns routing PutEvents to Lambda and
CloudWatch Logs targets (with input transformation), scheduled rules firing as a function's
Schedule event (the daemon's clock is moved forward instead of waiting), and errors."""
import json
import os
import time
import unittest

import botocore.exceptions

import harness
from harness import Daemon, client_error

PLUGINS = os.environ.get("SLESS_TEST_PLUGINS") or os.path.join(harness.ROOT, "build", "tests", "plugins")
PLUGIN = os.path.join(PLUGINS, "libtest_functions.so")
ACCOUNT = "000000000000"


class EventsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.d = Daemon(in_memory=True).start()
        cls.ev = cls.d.client("events")
        cls.lam = cls.d.client("lambda")
        cls.logs = cls.d.client("logs")
        cls.lam.create_function(FunctionName="recorder", Runtime="provided.al2023", Role="arn:aws:iam::0:role/r",
                                Handler="record", Code={"S3Bucket": "hot-reload", "S3Key": PLUGIN})
        cls.recorder = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:recorder"

    @classmethod
    def tearDownClass(cls):
        cls.d.cleanup()

    def received(self, text, timeout=10):
        def find():
            try:
                events = self.logs.filter_log_events(logGroupName="/aws/lambda/recorder",
                                                     filterPattern=f'"{text}"')["events"]
            except botocore.exceptions.ClientError:
                return None
            return [json.loads(e["message"].split("EVENT ", 1)[1]) for e in events] or None
        return harness.wait_for(find, timeout=timeout, message=f"an event with {text}")

    def test_pattern_rule_routes_matching_events_only(self):
        arn = self.ev.put_rule(Name="big-orders", EventPattern=json.dumps(
            {"source": ["shop"], "detail": {"total": [{"numeric": [">", 100]}]}}))["RuleArn"]
        self.assertEqual(arn, f"arn:aws:events:us-east-1:{ACCOUNT}:rule/big-orders")
        r = self.ev.put_targets(Rule="big-orders", Targets=[{"Id": "fn", "Arn": self.recorder}])
        self.assertEqual(r["FailedEntryCount"], 0)
        out = self.ev.put_events(Entries=[
            {"Source": "shop", "DetailType": "OrderPlaced", "Detail": json.dumps({"total": 500, "tag": "big-one"})},
            {"Source": "shop", "DetailType": "OrderPlaced", "Detail": json.dumps({"total": 5, "tag": "small-one"})},
        ])
        self.assertEqual(out["FailedEntryCount"], 0)
        self.assertEqual(len(out["Entries"]), 2)
        event = self.received("big-one")[0]
        self.assertEqual(event["source"], "shop")
        self.assertEqual(event["detail-type"], "OrderPlaced")
        self.assertEqual(event["account"], ACCOUNT)
        self.assertEqual(event["detail"], {"total": 500, "tag": "big-one"})
        self.assertEqual(event["id"], out["Entries"][0]["EventId"])
        time.sleep(0.3)
        self.assertIsNone(self.logs.filter_log_events(logGroupName="/aws/lambda/recorder",
                                                      filterPattern='"small-one"')["events"] or None)

    def test_input_transformer_and_logs_target(self):
        self.logs.create_log_group(logGroupName="/events/audit")
        self.ev.put_rule(Name="audit", EventPattern=json.dumps({"source": ["audit"]}))
        self.ev.put_targets(Rule="audit", Targets=[
            {"Id": "log", "Arn": f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:/events/audit"},
            {"Id": "fn", "Arn": self.recorder, "InputTransformer": {
                "InputPathsMap": {"who": "$.detail.user", "what": "$.detail-type"},
                "InputTemplate": '{"summary": "<who> did <what>", "rule": "<aws.events.rule-name>"}'}}])
        self.ev.put_events(Entries=[{"Source": "audit", "DetailType": "Login", "Detail": '{"user": "ada"}'}])
        event = self.received("ada did Login")[0]
        self.assertEqual(event, {"summary": "ada did Login", "rule": "audit"})
        logged = harness.wait_for(lambda: self.logs.filter_log_events(logGroupName="/events/audit")["events"])
        self.assertEqual(json.loads(logged[0]["message"])["detail"], {"user": "ada"})

    def test_schedule_rule_fires_when_the_clock_moves(self):
        self.ev.put_rule(Name="every-5", ScheduleExpression="rate(5 minutes)")
        self.ev.put_targets(Rule="every-5", Targets=[{"Id": "fn", "Arn": self.recorder}])
        status, _, body = self.d.http("POST", "/_sless/clock?advance_ms=301000")
        self.assertEqual(status, 200)
        event = self.received("Scheduled Event")[0]
        self.assertEqual(event["source"], "aws.events")
        self.assertEqual(event["resources"], [f"arn:aws:events:us-east-1:{ACCOUNT}:rule/every-5"])
        self.assertEqual(event["detail"], {})
        self.ev.disable_rule(Name="every-5")
        self.assertEqual(self.ev.describe_rule(Name="every-5")["State"], "DISABLED")

    def test_custom_bus(self):
        self.ev.create_event_bus(Name="orders")
        self.ev.put_rule(Name="on-orders", EventBusName="orders", EventPattern='{"source": ["custom-bus"]}')
        self.ev.put_targets(Rule="on-orders", EventBusName="orders", Targets=[{"Id": "fn", "Arn": self.recorder}])
        self.ev.put_events(Entries=[{"Source": "custom-bus", "DetailType": "x", "Detail": '{"via": "default-bus"}'}])
        self.ev.put_events(Entries=[{"Source": "custom-bus", "DetailType": "x", "Detail": '{"via": "orders-bus"}',
                                     "EventBusName": "orders"}])
        self.received("orders-bus")
        self.assertEqual(self.logs.filter_log_events(logGroupName="/aws/lambda/recorder",
                                                     filterPattern='"default-bus"')["events"], [])
        names = [b["Name"] for b in self.ev.list_event_buses()["EventBuses"]]
        self.assertEqual(names[:1], ["default"])
        self.assertIn("orders", names)

    def test_rule_management_and_errors(self):
        self.ev.put_rule(Name="managed", EventPattern='{"source": ["m"]}', Description="first")
        self.ev.put_rule(Name="managed", EventPattern='{"source": ["m2"]}', Description="second")
        rule = self.ev.describe_rule(Name="managed")
        self.assertEqual((rule["Description"], json.loads(rule["EventPattern"])), ("second", {"source": ["m2"]}))
        self.assertIn("managed", [r["Name"] for r in self.ev.list_rules(NamePrefix="man")["Rules"]])
        self.ev.put_targets(Rule="managed", Targets=[{"Id": "t", "Arn": self.recorder}])
        self.assertEqual(self.ev.list_rule_names_by_target(TargetArn=self.recorder)["RuleNames"].count("managed"), 1)
        e = client_error(self.ev.delete_rule, Name="managed")
        self.assertEqual(e.response["Error"]["Code"], "ValidationException")
        self.ev.remove_targets(Rule="managed", Ids=["t"])
        self.ev.delete_rule(Name="managed")
        e = client_error(self.ev.describe_rule, Name="managed")
        self.assertEqual(e.response["Error"]["Code"], "ResourceNotFoundException")
        e = client_error(self.ev.put_rule, Name="bad", EventPattern='{"source": "not-an-array"}')
        self.assertEqual(e.response["Error"]["Code"], "InvalidEventPatternException")
        e = client_error(self.ev.put_rule, Name="bad", ScheduleExpression="rate(1 minutes)")
        self.assertEqual(e.response["Error"]["Code"], "ValidationException")
        e = client_error(self.ev.put_targets, Rule="nope", Targets=[{"Id": "t", "Arn": self.recorder}])
        self.assertEqual(e.response["Error"]["Code"], "ResourceNotFoundException")
        out = self.ev.put_events(Entries=[{"Source": "s", "DetailType": "d", "Detail": "not json"}])
        self.assertEqual(out["FailedEntryCount"], 1)
        self.assertEqual(out["Entries"][0]["ErrorCode"], "MalformedDetail")
        # Five targets per rule: a request that would pass the limit changes nothing, even the
        # targets of it that would fit.
        self.ev.put_rule(Name="full", EventPattern='{"source": ["f"]}')
        self.ev.put_targets(Rule="full", Targets=[{"Id": f"t{i}", "Arn": self.recorder} for i in range(4)])
        e = client_error(self.ev.put_targets, Rule="full", Targets=[{"Id": "t4", "Arn": self.recorder},
                                                                    {"Id": "t5", "Arn": self.recorder}])
        self.assertEqual(e.response["Error"]["Code"], "LimitExceededException")
        ids = lambda: sorted(t["Id"] for t in self.ev.list_targets_by_rule(Rule="full")["Targets"])
        self.assertEqual(ids(), ["t0", "t1", "t2", "t3"])
        self.ev.put_targets(Rule="full", Targets=[{"Id": "t0", "Arn": self.recorder}, {"Id": "t4", "Arn": self.recorder}])
        self.assertEqual(ids(), ["t0", "t1", "t2", "t3", "t4"])

    def test_test_event_pattern(self):
        event = json.dumps({"id": "1", "account": ACCOUNT, "source": "shop", "time": "2025-01-01T00:00:00Z",
                            "region": "us-east-1", "resources": [], "detail-type": "x", "detail": {"n": 3}})
        self.assertTrue(self.ev.test_event_pattern(EventPattern='{"detail": {"n": [3]}}', Event=event)["Result"])
        self.assertFalse(self.ev.test_event_pattern(EventPattern='{"detail": {"n": [4]}}', Event=event)["Result"])


if __name__ == "__main__":
    harness.main()
