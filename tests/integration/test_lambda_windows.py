"""Tumbling windows (TumblingWindowInSeconds) on Kinesis and DynamoDB stream mappings through boto3:
records grouped into windows aligned to their arrival time, the window's `state` carried from one
invocation to the next, one final invocation per window (no records, the final state), a fresh
state for the next window, the open window's state across a daemon kill, and the refusal of a
window on an SQS mapping.

The test function `window_sum` sends each event it receives to a sink queue and answers the
state {"sum", "count"} with its records added (a Kinesis record's partition key, the number "n" of
a DynamoDB record's new image)."""
import json
import os
import shutil
import time
import unittest
from datetime import datetime, timezone

import harness
from harness import Daemon
from test_triggers import PLUGIN, ROLE, Fixture, TriggerCase


def epoch(text):
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc).timestamp()


def summer(f, name, **variables):
    """A window_sum function with its own sink queue; returns (function arn, sink url)."""
    sink, _ = f.queue(name + "-sink")
    fn = f.lam.create_function(FunctionName=name, Runtime="provided.al2023", Role=ROLE, Handler="window_sum",
                               Code={"S3Bucket": "hot-reload", "S3Key": PLUGIN}, Timeout=5,
                               Environment={"Variables": {"SINK_QUEUE_URL": sink, **variables}})
    return fn["FunctionArn"], sink


def read_windows(f, sink, want_records, timeout=15):
    """Reads the sink until `want_records` records arrived and every window they fell in had its
    final invocation; returns {window start: [events in invocation order]}."""
    by_window = {}
    deadline = time.time() + timeout

    def complete():
        count = sum(len(e["Records"]) for es in by_window.values() for e in es)
        return count >= want_records and all(any(e["isFinalInvokeForWindow"] for e in es) for es in by_window.values())

    while not complete() and time.time() < deadline:
        r = f.sqs.receive_message(QueueUrl=sink, MaxNumberOfMessages=10, WaitTimeSeconds=1)
        for m in r.get("Messages", []):
            f.sqs.delete_message(QueueUrl=sink, ReceiptHandle=m["ReceiptHandle"])
            e = json.loads(m["Body"])
            by_window.setdefault(e["window"]["start"], []).append(e)
    if not complete():
        raise AssertionError(f"windows incomplete: {by_window}")
    for es in by_window.values():
        # Within a window, the state's count says how many records came before: invocation order.
        es.sort(key=lambda e: (e["isFinalInvokeForWindow"], e["state"].get("count", 0)))
    return by_window


class Windows(TriggerCase):

    def check_window(self, start, events, source_arn, value_of, length=1):
        """The invariants of one window's invocations; returns its records."""
        ws, we = epoch(events[0]["window"]["start"]), epoch(events[0]["window"]["end"])
        self.assertEqual(ws % length, 0)
        self.assertEqual(we - ws, length)
        finals = [e for e in events if e["isFinalInvokeForWindow"]]
        self.assertEqual(len(finals), 1, events)
        self.assertTrue(events[-1]["isFinalInvokeForWindow"])
        self.assertEqual(events[-1]["Records"], [])
        self.assertEqual(events[0]["state"], {})  # a window starts with a fresh state
        total, count = 0, 0
        records = []
        for e in events:
            self.assertEqual(e["window"], events[0]["window"])
            self.assertEqual(e["eventSourceARN"], source_arn)
            self.assertFalse(e["isWindowTerminatedEarly"])
            self.assertTrue(e["shardId"])
            # Each invocation gets what the previous one of its window answered.
            self.assertEqual(e["state"], {} if count == 0 else {"sum": total, "count": count})
            for r in e["Records"]:
                total += value_of(r)
                count += 1
                records.append(r)
        self.assertGreater(count, 0)
        return records

    def test_kinesis_windows_carry_state_and_end_with_a_final_invocation(self):
        f = self.f
        kin = self.d.client("kinesis")
        name = f.unique("meters")
        arn = f.kinesis_stream(name)
        fn, sink = summer(f, f.unique("kin-sum"))
        m = f.lam.create_event_source_mapping(EventSourceArn=arn, FunctionName=fn, StartingPosition="TRIM_HORIZON",
                                              BatchSize=2, TumblingWindowInSeconds=1)
        self.assertEqual(m["TumblingWindowInSeconds"], 1)
        f.mapping_enabled(m["UUID"])
        kin.put_records(StreamName=name, Records=[{"Data": b"x", "PartitionKey": str(v)} for v in (1, 2, 3)])
        first = read_windows(f, sink, 3)
        # Records put after the first windows closed fall in later windows, with fresh states.
        kin.put_records(StreamName=name, Records=[{"Data": b"x", "PartitionKey": str(v)} for v in (10, 20)])
        second = read_windows(f, sink, 2)
        self.assertTrue(min(second) > max(first))
        seen = []
        for windows in (first, second):
            for start, events in sorted(windows.items()):
                records = self.check_window(start, events, arn, lambda r: int(r["kinesis"]["partitionKey"]))
                for r in records:
                    self.assertLessEqual(epoch(start), r["kinesis"]["approximateArrivalTimestamp"])
                    self.assertLess(r["kinesis"]["approximateArrivalTimestamp"], epoch(events[0]["window"]["end"]))
                seen += [int(r["kinesis"]["partitionKey"]) for r in records]
        self.assertEqual(seen, [1, 2, 3, 10, 20])
        # The final invocation of a window carries its whole state.
        for windows in (first, second):
            for events in windows.values():
                final = events[-1]["state"]
                self.assertEqual(final["count"], sum(len(e["Records"]) for e in events))
        self.assertEqual(f.nothing_more(sink, wait=1), [])

    def test_failed_invocation_does_not_advance_the_state(self):
        f = self.f
        name = f.unique("retried")
        arn = f.kinesis_stream(name)
        fail_key = f"7{int(time.time() * 1000)}"  # a number, unique per run (the marker file stays)
        fn, sink = summer(f, f.unique("kin-retry"), WINDOW_FAIL_KEY=fail_key)
        m = f.lam.create_event_source_mapping(EventSourceArn=arn, FunctionName=fn, StartingPosition="TRIM_HORIZON",
                                              BatchSize=1, TumblingWindowInSeconds=1)
        f.mapping_enabled(m["UUID"])
        kin = self.d.client("kinesis")
        kin.put_records(StreamName=name, Records=[{"Data": b"x", "PartitionKey": k} for k in ("1", fail_key)])
        try:
            windows = read_windows(f, sink, 3)  # the failing record is delivered twice
        finally:
            marker = "/tmp/sless-window-fail-" + fail_key
            if os.path.exists(marker):
                os.remove(marker)
        events = [e for _, es in sorted(windows.items()) for e in es]
        tries = [e for e in events if any(r["kinesis"]["partitionKey"] == fail_key for r in e["Records"])]
        self.assertEqual(len(tries), 2)
        # The retry gets the state the failed attempt got; the record counts once in the end.
        self.assertEqual(tries[0]["state"], tries[1]["state"])
        finals = [e for e in events if e["isFinalInvokeForWindow"]]
        self.assertEqual(sum(e["state"]["sum"] for e in finals), 1 + int(fail_key))
        self.assertEqual(sum(e["state"]["count"] for e in finals), 2)

    def test_dynamodb_stream_windows(self):
        f = self.f
        ddb = self.d.client("dynamodb")
        table = f.unique("readings")
        stream_arn = f.table_stream(table, "NEW_IMAGE")
        fn, sink = summer(f, f.unique("ddb-sum"))
        m = f.lam.create_event_source_mapping(EventSourceArn=stream_arn, FunctionName=fn,
                                              StartingPosition="TRIM_HORIZON", BatchSize=1, TumblingWindowInSeconds=1)
        f.mapping_enabled(m["UUID"])
        for i, n in enumerate((5, 7)):
            ddb.put_item(TableName=table, Item={"id": {"S": f"r{i}"}, "n": {"N": str(n)}})
        windows = read_windows(f, sink, 2)
        total = 0
        for start, events in sorted(windows.items()):
            records = self.check_window(start, events, stream_arn, lambda r: int(r["dynamodb"]["NewImage"]["n"]["N"]))
            total += events[-1]["state"]["sum"]
            for r in records:
                created = r["dynamodb"]["ApproximateCreationDateTime"]
                self.assertLessEqual(int(epoch(start)), int(created))
        self.assertEqual(total, 12)

    def test_sqs_mappings_refuse_windows(self):
        f = self.f
        fn, _ = summer(f, f.unique("sqs-sum"))
        _, queue_arn = f.queue(f.unique("win-q"))
        with self.assertRaises(f.lam.exceptions.InvalidParameterValueException):
            f.lam.create_event_source_mapping(EventSourceArn=queue_arn, FunctionName=fn, TumblingWindowInSeconds=5)
        m = f.lam.create_event_source_mapping(EventSourceArn=queue_arn, FunctionName=fn)
        with self.assertRaises(f.lam.exceptions.InvalidParameterValueException):
            f.lam.update_event_source_mapping(UUID=m["UUID"], TumblingWindowInSeconds=5)
        f.lam.delete_event_source_mapping(UUID=m["UUID"])


class WindowDurability(unittest.TestCase):
    def test_open_window_state_survives_a_kill(self):
        d = Daemon().start()
        data_dir = d.data_dir
        try:
            f = Fixture(d)
            kin = d.client("kinesis")
            arn = f.kinesis_stream("gauges")
            fn, sink = summer(f, "gauges-sum")
            m = f.lam.create_event_source_mapping(EventSourceArn=arn, FunctionName=fn, StartingPosition="TRIM_HORIZON",
                                                  TumblingWindowInSeconds=3)
            f.mapping_enabled(m["UUID"])
            kin.put_record(StreamName="gauges", Data=b"x", PartitionKey="4")
            # OK is reported once the batch and the window's state are checkpointed.
            harness.wait_for(lambda: f.lam.get_event_source_mapping(UUID=m["UUID"])["LastProcessingResult"] == "OK",
                             10, message="first batch processed")
            d.kill()

            d = Daemon(data_dir=data_dir).start()
            f = Fixture(d)
            kin = d.client("kinesis")
            kin.put_record(StreamName="gauges", Data=b"x", PartitionKey="6")
            windows = read_windows(f, sink, 2)
            events = [e for _, es in sorted(windows.items()) for e in es]
            records = [e for e in events if not e["isFinalInvokeForWindow"]]
            self.assertEqual(records[0]["state"], {})
            self.assertEqual([r["kinesis"]["partitionKey"] for e in records for r in e["Records"]], ["4", "6"])
            # The first window's final state includes the record processed before the kill, whether
            # the record after it fell in the same window or in the next.
            first = sorted(windows)[0]
            self.assertEqual(windows[first][-1]["state"]["sum"], 10 if len(windows) == 1 else 4)
            if len(windows) == 1:
                self.assertEqual(records[1]["state"], {"sum": 4, "count": 1})
        finally:
            d.stop()
            shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    harness.main()
