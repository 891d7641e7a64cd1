"""Kinesis Data Streams through boto3 and the aws CLI: stream life cycle and waiters, records and
every iterator type, PutRecords, ordering per shard under concurrent producers, split/merge and
UpdateShardCount, ListShards filters and pagination, tags, consumers, encryption, ARNs in place
of names, the errors clients see, and durability across a restart and `kill -9`."""
import base64
import hashlib
import json
import subprocess
import threading
import time
import unittest

import botocore.exceptions

import harness
from harness import Daemon, wait_for

MAX_HASH = 2 ** 128 - 1


def error_of(fn, *args, **kwargs):
    try:
        fn(*args, **kwargs)
    except botocore.exceptions.ClientError as e:
        return e.response["Error"]["Code"], e.response["Error"].get("Message", ""), \
            e.response["ResponseMetadata"]["HTTPStatusCode"]
    raise AssertionError("expected a ClientError")


def read_shard(k, stream, shard_id, iterator_type="TRIM_HORIZON", **kw):
    """Every record of a shard from the given position until it is drained (or closed)."""
    it = k.get_shard_iterator(StreamName=stream, ShardId=shard_id, ShardIteratorType=iterator_type,
                              **kw)["ShardIterator"]
    out = []
    while it:
        page = k.get_records(ShardIterator=it, Limit=1000)
        out.extend(page["Records"])
        if not page["Records"]:
            break
        it = page.get("NextShardIterator")
    return out


def cli_major_version():
    """1 or 2 (the aws CLI on PATH), without starting it when its package is importable."""
    try:
        import awscli  # noqa: PLC0415 - only to read the version
        return int(awscli.__version__.split(".")[0])
    except ImportError:
        out = subprocess.run(["aws", "--version"], capture_output=True, text=True).stdout
        return 1 if out.startswith("aws-cli/1.") else 2


def shard_for_key(shards, key):
    h = int(hashlib.md5(key.encode()).hexdigest(), 16)
    for s in shards:
        r = s["HashKeyRange"]
        if int(r["StartingHashKey"]) <= h <= int(r["EndingHashKey"]):
            return s["ShardId"]
    raise AssertionError("no shard for " + key)


class KinesisStreams(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.d = Daemon(in_memory=True).start()
        cls.k = cls.d.client("kinesis")

    @classmethod
    def tearDownClass(cls):
        cls.d.cleanup()

    def create(self, name, shards=1):
        self.k.create_stream(StreamName=name, ShardCount=shards)
        self.k.get_waiter("stream_exists").wait(StreamName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 20})

    def test_life_cycle_and_waiters(self):
        start = time.monotonic()
        self.k.create_stream(StreamName="life", ShardCount=3)
        self.k.get_waiter("stream_exists").wait(StreamName="life")
        self.assertLess(time.monotonic() - start, 5, "the waiter should not need its 10 s delay")
        d = self.k.describe_stream(StreamName="life")["StreamDescription"]
        self.assertEqual(d["StreamStatus"], "ACTIVE")
        self.assertEqual(d["StreamARN"], "arn:aws:kinesis:us-east-1:000000000000:stream/life")
        self.assertEqual(d["RetentionPeriodHours"], 24)
        self.assertEqual(d["StreamModeDetails"], {"StreamMode": "PROVISIONED"})
        self.assertFalse(d["HasMoreShards"])
        ranges = [(int(s["HashKeyRange"]["StartingHashKey"]), int(s["HashKeyRange"]["EndingHashKey"]))
                  for s in d["Shards"]]
        self.assertEqual(ranges[0][0], 0)
        self.assertEqual(ranges[-1][1], MAX_HASH)
        self.assertEqual(ranges[1][0], MAX_HASH // 3)  # AWS's even layout
        for (a, b), (c, _) in zip(ranges, ranges[1:]):
            self.assertEqual(b + 1, c)
        s = self.k.describe_stream_summary(StreamName="life")["StreamDescriptionSummary"]
        self.assertEqual(s["OpenShardCount"], 3)
        self.assertEqual(s["ConsumerCount"], 0)
        page = self.k.describe_stream(StreamName="life", Limit=2)["StreamDescription"]
        self.assertTrue(page["HasMoreShards"])
        rest = self.k.describe_stream(StreamName="life", ExclusiveStartShardId=page["Shards"][-1]["ShardId"])
        self.assertEqual([x["ShardId"] for x in rest["StreamDescription"]["Shards"]], ["shardId-000000000002"])

        self.assertEqual(error_of(self.k.create_stream, StreamName="life", ShardCount=1)[0], "ResourceInUseException")
        self.k.delete_stream(StreamName="life")
        self.k.get_waiter("stream_not_exists").wait(StreamName="life", WaiterConfig={"Delay": 1, "MaxAttempts": 20})
        code, msg, status = error_of(self.k.describe_stream, StreamName="life")
        self.assertEqual((code, status), ("ResourceNotFoundException", 400))
        self.assertIn("Stream life under account 000000000000 not found", msg)
        # The name is free again, and the new stream starts empty.
        self.create("life")
        self.assertEqual(read_shard(self.k, "life", "shardId-000000000000"), [])

    def test_on_demand_and_bad_names(self):
        self.k.create_stream(StreamName="od", StreamModeDetails={"StreamMode": "ON_DEMAND"})
        s = self.k.describe_stream_summary(StreamName="od")["StreamDescriptionSummary"]
        self.assertEqual(s["StreamModeDetails"]["StreamMode"], "ON_DEMAND")
        self.assertEqual(s["OpenShardCount"], 4)
        code, msg, _ = error_of(self.k.create_stream, StreamName="bad name!", ShardCount=1)
        self.assertEqual(code, "ValidationException")
        self.assertIn("regular expression", msg)
        unchecked = self.d.client("kinesis", validate=False)
        self.assertEqual(error_of(unchecked.create_stream, StreamName="x", ShardCount=0)[0], "ValidationException")

    def test_list_streams_paginates(self):
        for i in range(5):
            self.k.create_stream(StreamName=f"page-{i}", ShardCount=1)
        names = []
        for page in self.k.get_paginator("list_streams").paginate(PaginationConfig={"PageSize": 2}):
            names.extend(page["StreamNames"])
            self.assertEqual(len(page["StreamSummaries"]), len(page["StreamNames"]))
        self.assertEqual([n for n in names if n.startswith("page-")], [f"page-{i}" for i in range(5)])
        self.assertEqual(names, sorted(names))
        first = self.k.list_streams(Limit=1, ExclusiveStartStreamName="page-2")
        self.assertEqual(first["StreamNames"], ["page-3"])
        self.assertTrue(first["HasMoreStreams"])

    def test_put_and_get_with_every_iterator_type(self):
        self.create("recs", 2)
        shards = self.k.list_shards(StreamName="recs")["Shards"]
        seqs = []
        for i in range(6):
            r = self.k.put_record(StreamName="recs", Data=f"m{i}".encode(), PartitionKey="sensor-1")
            self.assertEqual(r["ShardId"], shard_for_key(shards, "sensor-1"))
            self.assertEqual(len(r["SequenceNumber"]), 56)
            seqs.append(r["SequenceNumber"])
        self.assertEqual(seqs, sorted(seqs, key=int))
        self.assertEqual(seqs, sorted(seqs))
        shard = shard_for_key(shards, "sensor-1")

        records = read_shard(self.k, "recs", shard)
        self.assertEqual([r["Data"] for r in records], [f"m{i}".encode() for i in range(6)])
        self.assertEqual([r["SequenceNumber"] for r in records], seqs)
        self.assertTrue(all(r["PartitionKey"] == "sensor-1" for r in records))
        self.assertTrue(all(abs(r["ApproximateArrivalTimestamp"].timestamp() - time.time()) < 60 for r in records))

        at = read_shard(self.k, "recs", shard, "AT_SEQUENCE_NUMBER", StartingSequenceNumber=seqs[2])
        self.assertEqual([r["Data"] for r in at], [b"m2", b"m3", b"m4", b"m5"])
        after = read_shard(self.k, "recs", shard, "AFTER_SEQUENCE_NUMBER", StartingSequenceNumber=seqs[2])
        self.assertEqual([r["Data"] for r in after], [b"m3", b"m4", b"m5"])
        # boto3 sends timestamps in whole seconds.
        ts = int(records[3]["ApproximateArrivalTimestamp"].timestamp())
        by_time = read_shard(self.k, "recs", shard, "AT_TIMESTAMP", Timestamp=ts)
        self.assertEqual([r["SequenceNumber"] for r in by_time],
                         [r["SequenceNumber"] for r in records if r["ApproximateArrivalTimestamp"].timestamp() >= ts])
        self.assertEqual(read_shard(self.k, "recs", shard, "AT_TIMESTAMP", Timestamp=time.time() + 3600), [])
        self.assertEqual(len(read_shard(self.k, "recs", shard, "AT_TIMESTAMP", Timestamp=0)), 6)

        latest = self.k.get_shard_iterator(StreamName="recs", ShardId=shard,
                                           ShardIteratorType="LATEST")["ShardIterator"]
        page = self.k.get_records(ShardIterator=latest)
        self.assertEqual(page["Records"], [])
        self.assertEqual(page["MillisBehindLatest"], 0)
        self.k.put_record(StreamName="recs", Data=b"late", PartitionKey="sensor-1")
        page = self.k.get_records(ShardIterator=page["NextShardIterator"])
        self.assertEqual([r["Data"] for r in page["Records"]], [b"late"])

        # Limit, and how far behind the tip a partial read is.
        it = self.k.get_shard_iterator(StreamName="recs", ShardId=shard,
                                       ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        page = self.k.get_records(ShardIterator=it, Limit=2)
        self.assertEqual(len(page["Records"]), 2)
        self.assertGreaterEqual(page["MillisBehindLatest"], 0)
        page = self.k.get_records(ShardIterator=page["NextShardIterator"], Limit=10)
        self.assertEqual([r["Data"] for r in page["Records"]], [b"m2", b"m3", b"m4", b"m5", b"late"])
        self.assertEqual(page["MillisBehindLatest"], 0)

    def test_iterator_errors(self):
        self.create("iters", 1)
        seq = self.k.put_record(StreamName="iters", Data=b"x", PartitionKey="k")["SequenceNumber"]
        cases = [
            dict(ShardId="shardId-000000000000", ShardIteratorType="AT_SEQUENCE_NUMBER"),
            dict(ShardId="shardId-000000000000", ShardIteratorType="LATEST", StartingSequenceNumber=seq),
            dict(ShardId="shardId-000000000000", ShardIteratorType="AT_SEQUENCE_NUMBER",
                 StartingSequenceNumber="12345"),
            dict(ShardId="shardId-000000000000", ShardIteratorType="AT_TIMESTAMP"),
        ]
        for kw in cases:
            self.assertEqual(error_of(self.k.get_shard_iterator, StreamName="iters", **kw)[0],
                             "InvalidArgumentException", kw)
        code, msg, _ = error_of(self.k.get_shard_iterator, StreamName="iters", ShardId="shardId-000000000009",
                                ShardIteratorType="LATEST")
        self.assertEqual(code, "ResourceNotFoundException")
        self.assertIn("shardId-000000000009", msg)
        self.assertEqual(error_of(self.k.get_records, ShardIterator="AAAAAAAAAAE=")[0], "InvalidArgumentException")
        self.assertEqual(error_of(self.k.get_shard_iterator, StreamName="iters", ShardId="shardId-000000000000",
                                  ShardIteratorType="SIDEWAYS")[0], "ValidationException")

    def test_put_records_entries_and_limits(self):
        self.create("batch", 4)
        shards = self.k.list_shards(StreamName="batch")["Shards"]
        entries = [{"Data": f"b{i}".encode(), "PartitionKey": f"key-{i}"} for i in range(50)]
        entries.append({"Data": b"pinned", "PartitionKey": "any", "ExplicitHashKey": str(MAX_HASH)})
        r = self.k.put_records(StreamName="batch", Records=entries)
        self.assertEqual(r["FailedRecordCount"], 0)
        self.assertEqual(len(r["Records"]), 51)
        for e, res in zip(entries[:-1], r["Records"]):
            self.assertEqual(res["ShardId"], shard_for_key(shards, e["PartitionKey"]))
        self.assertEqual(r["Records"][-1]["ShardId"], shards[-1]["ShardId"])
        total = sum(len(read_shard(self.k, "batch", s["ShardId"])) for s in shards)
        self.assertEqual(total, 51)

        big = [{"Data": b"z" * (1024 * 1024), "PartitionKey": "k"} for _ in range(5)]
        self.assertEqual(error_of(self.k.put_records, StreamName="batch", Records=big)[0], "InvalidArgumentException")
        too_many = [{"Data": b"z", "PartitionKey": "k"}] * 501
        self.assertEqual(error_of(self.k.put_records, StreamName="batch", Records=too_many)[0], "ValidationException")
        self.assertEqual(error_of(self.k.put_record, StreamName="batch", Data=b"z" * (1024 * 1024 + 1),
                                  PartitionKey="k")[0], "ValidationException")
        self.assertEqual(error_of(self.k.put_record, StreamName="batch", Data=b"z", PartitionKey="k",
                                  ExplicitHashKey=str(MAX_HASH + 1))[0], "InvalidArgumentException")
        self.assertEqual(error_of(self.k.put_record, StreamName="missing", Data=b"z", PartitionKey="k")[0],
                         "ResourceNotFoundException")
        one_mib = self.k.put_record(StreamName="batch", Data=b"m" * (1024 * 1024), PartitionKey="big")
        got = read_shard(self.k, "batch", one_mib["ShardId"], "AT_SEQUENCE_NUMBER",
                         StartingSequenceNumber=one_mib["SequenceNumber"])
        self.assertEqual(len(got[0]["Data"]), 1024 * 1024)

    def test_concurrent_producers_keep_order_per_shard(self):
        self.create("conc", 3)
        per_writer = 120
        errors = []

        def produce(w):
            client = self.d.client("kinesis")
            try:
                for i in range(per_writer):
                    key = f"device-{w}-{i % 4}"
                    if i % 10 == 9:
                        client.put_records(StreamName="conc", Records=[
                            {"Data": f"{w}:{i}".encode(), "PartitionKey": key}])
                    else:
                        client.put_record(StreamName="conc", Data=f"{w}:{i}".encode(), PartitionKey=key)
            except Exception as e:  # noqa: BLE001 - reported below
                errors.append(e)

        threads = [threading.Thread(target=produce, args=(w,)) for w in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(errors, [])
        total = 0
        for s in self.k.list_shards(StreamName="conc")["Shards"]:
            records = read_shard(self.k, "conc", s["ShardId"])
            seqs = [int(r["SequenceNumber"]) for r in records]
            self.assertEqual(seqs, sorted(seqs))
            last = {}
            for r in records:
                w, i = map(int, r["Data"].decode().split(":"))
                self.assertGreater(i, last.get((w, r["PartitionKey"]), -1), "reordered within a shard")
                last[(w, r["PartitionKey"])] = i
            total += len(records)
        self.assertEqual(total, 4 * per_writer)

    def test_split_merge_and_order_across_the_split(self):
        self.create("reshard", 1)
        for i in range(5):
            self.k.put_record(StreamName="reshard", Data=f"before-{i}".encode(), PartitionKey="dev")
        self.k.split_shard(StreamName="reshard", ShardToSplit="shardId-000000000000",
                           NewStartingHashKey=str(2 ** 127))
        self.k.get_waiter("stream_exists").wait(StreamName="reshard", WaiterConfig={"Delay": 1, "MaxAttempts": 20})
        for i in range(5):
            self.k.put_record(StreamName="reshard", Data=f"after-{i}".encode(), PartitionKey="dev")
        shards = self.k.describe_stream(StreamName="reshard")["StreamDescription"]["Shards"]
        self.assertEqual([s["ShardId"] for s in shards],
                         ["shardId-000000000000", "shardId-000000000001", "shardId-000000000002"])
        self.assertIn("EndingSequenceNumber", shards[0]["SequenceNumberRange"])
        self.assertEqual(shards[1]["ParentShardId"], "shardId-000000000000")
        self.assertEqual(shards[2]["HashKeyRange"]["StartingHashKey"], str(2 ** 127))

        # A consumer reads the parent to its end, then the child: one partition key, in order.
        it = self.k.get_shard_iterator(StreamName="reshard", ShardId="shardId-000000000000",
                                       ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        page = self.k.get_records(ShardIterator=it)
        self.assertNotIn("NextShardIterator", page)
        children = page["ChildShards"]
        self.assertEqual(sorted(c["ShardId"] for c in children), ["shardId-000000000001", "shardId-000000000002"])
        child = shard_for_key([c for c in shards if c["ShardId"] != "shardId-000000000000"], "dev")
        seen = [r["Data"].decode() for r in page["Records"]] + \
            [r["Data"].decode() for r in read_shard(self.k, "reshard", child)]
        self.assertEqual(seen, [f"before-{i}" for i in range(5)] + [f"after-{i}" for i in range(5)])
        first_child_seq = read_shard(self.k, "reshard", child)[0]["SequenceNumber"]
        self.assertGreater(int(first_child_seq), int(shards[0]["SequenceNumberRange"]["EndingSequenceNumber"]))

        self.assertEqual(error_of(self.k.split_shard, StreamName="reshard", ShardToSplit="shardId-000000000000",
                                  NewStartingHashKey="5")[0], "InvalidArgumentException")
        self.k.merge_shards(StreamName="reshard", ShardToMerge="shardId-000000000001",
                            AdjacentShardToMerge="shardId-000000000002")
        latest = self.k.list_shards(StreamName="reshard", ShardFilter={"Type": "AT_LATEST"})["Shards"]
        self.assertEqual(len(latest), 1)
        self.assertEqual(latest[0]["ParentShardId"], "shardId-000000000001")
        self.assertEqual(latest[0]["AdjacentParentShardId"], "shardId-000000000002")

        r = self.k.update_shard_count(StreamName="reshard", TargetShardCount=2, ScalingType="UNIFORM_SCALING")
        self.assertEqual((r["CurrentShardCount"], r["TargetShardCount"]), (1, 2))
        latest = self.k.list_shards(StreamName="reshard", ShardFilter={"Type": "AT_LATEST"})["Shards"]
        self.assertEqual([x["HashKeyRange"]["StartingHashKey"] for x in latest], ["0", str(2 ** 127)])
        self.assertEqual(error_of(self.k.update_shard_count, StreamName="reshard", TargetShardCount=5,
                                  ScalingType="UNIFORM_SCALING")[0], "InvalidArgumentException")

    def test_list_shards_filters_and_tokens(self):
        self.create("lists", 3)
        self.k.split_shard(StreamName="lists", ShardToSplit="shardId-000000000001",
                           NewStartingHashKey=str(MAX_HASH // 2))
        all_ids = [s["ShardId"] for s in self.k.list_shards(StreamName="lists")["Shards"]]
        self.assertEqual(len(all_ids), 5)
        paged = []
        r = self.k.list_shards(StreamName="lists", MaxResults=2)
        paged += [s["ShardId"] for s in r["Shards"]]
        while "NextToken" in r:
            r = self.k.list_shards(NextToken=r["NextToken"], MaxResults=2)
            paged += [s["ShardId"] for s in r["Shards"]]
        self.assertEqual(paged, all_ids)
        self.assertEqual(error_of(self.k.list_shards, StreamName="lists", NextToken=r.get("NextToken", "x"))[0],
                         "InvalidArgumentException")
        open_now = [s["ShardId"] for s in self.k.list_shards(StreamName="lists",
                                                             ShardFilter={"Type": "AT_LATEST"})["Shards"]]
        self.assertEqual(open_now, ["shardId-000000000000", "shardId-000000000002", "shardId-000000000003",
                                    "shardId-000000000004"])
        horizon = [s["ShardId"] for s in self.k.list_shards(StreamName="lists",
                                                            ShardFilter={"Type": "AT_TRIM_HORIZON"})["Shards"]]
        self.assertEqual(horizon, ["shardId-000000000000", "shardId-000000000001", "shardId-000000000002"])
        after = self.k.list_shards(StreamName="lists", ShardFilter={"Type": "AFTER_SHARD_ID",
                                                                    "ShardId": "shardId-000000000002"})
        self.assertEqual([s["ShardId"] for s in after["Shards"]], ["shardId-000000000003", "shardId-000000000004"])

    def test_retention_tags_encryption_and_monitoring(self):
        self.create("misc", 1)
        self.k.increase_stream_retention_period(StreamName="misc", RetentionPeriodHours=72)
        self.k.decrease_stream_retention_period(StreamName="misc", RetentionPeriodHours=48)
        self.assertEqual(self.k.describe_stream(StreamName="misc")["StreamDescription"]["RetentionPeriodHours"], 48)
        self.assertEqual(error_of(self.k.increase_stream_retention_period, StreamName="misc",
                                  RetentionPeriodHours=24)[0], "InvalidArgumentException")
        self.assertEqual(error_of(self.k.decrease_stream_retention_period, StreamName="misc",
                                  RetentionPeriodHours=12)[0], "InvalidArgumentException")

        self.k.add_tags_to_stream(StreamName="misc", Tags={"b": "2", "a": "1", "c": "3"})
        tags = self.k.list_tags_for_stream(StreamName="misc")
        self.assertEqual(tags["Tags"], [{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"},
                                        {"Key": "c", "Value": "3"}])
        page = self.k.list_tags_for_stream(StreamName="misc", Limit=1, ExclusiveStartTagKey="a")
        self.assertEqual((page["Tags"], page["HasMoreTags"]), ([{"Key": "b", "Value": "2"}], True))
        self.k.remove_tags_from_stream(StreamName="misc", TagKeys=["b"])
        arn = self.k.describe_stream_summary(StreamName="misc")["StreamDescriptionSummary"]["StreamARN"]
        self.assertEqual([t["Key"] for t in self.k.list_tags_for_resource(ResourceARN=arn)["Tags"]], ["a", "c"])
        self.k.tag_resource(ResourceARN=arn, Tags={"d": "4"})
        self.k.untag_resource(ResourceARN=arn, TagKeys=["a"])
        self.assertEqual([t["Key"] for t in self.k.list_tags_for_stream(StreamName="misc")["Tags"]], ["c", "d"])
        too_many = {f"t{i}": "v" for i in range(60)}
        self.assertEqual(error_of(self.k.add_tags_to_stream, StreamName="misc", Tags=too_many)[0],
                         "InvalidArgumentException")

        self.k.start_stream_encryption(StreamName="misc", EncryptionType="KMS", KeyId="alias/aws/kinesis")
        s = self.k.describe_stream_summary(StreamName="misc")["StreamDescriptionSummary"]
        self.assertEqual((s["EncryptionType"], s["KeyId"]), ("KMS", "alias/aws/kinesis"))
        r = self.k.put_record(StreamName="misc", Data=b"secret", PartitionKey="k")
        self.assertEqual(r["EncryptionType"], "KMS")
        self.assertEqual(read_shard(self.k, "misc", "shardId-000000000000")[0]["EncryptionType"], "KMS")
        self.k.stop_stream_encryption(StreamName="misc", EncryptionType="KMS", KeyId="alias/aws/kinesis")
        self.assertEqual(self.k.describe_stream(StreamName="misc")["StreamDescription"]["EncryptionType"], "NONE")

        m = self.k.enable_enhanced_monitoring(StreamName="misc", ShardLevelMetrics=["IncomingBytes"])
        self.assertEqual((m["CurrentShardLevelMetrics"], m["DesiredShardLevelMetrics"]), ([], ["IncomingBytes"]))
        m = self.k.disable_enhanced_monitoring(StreamName="misc", ShardLevelMetrics=["ALL"])
        self.assertEqual(m["DesiredShardLevelMetrics"], [])
        limits = self.k.describe_limits()
        self.assertEqual(limits["ShardLimit"], 500)
        self.assertGreaterEqual(limits["OpenShardCount"], 1)

    def test_consumers(self):
        self.create("fanout", 1)
        arn = self.k.describe_stream_summary(StreamName="fanout")["StreamDescriptionSummary"]["StreamARN"]
        c = self.k.register_stream_consumer(StreamARN=arn, ConsumerName="app")["Consumer"]
        self.assertTrue(c["ConsumerARN"].startswith(arn + "/consumer/app:"))
        d = self.k.describe_stream_consumer(ConsumerARN=c["ConsumerARN"])["ConsumerDescription"]
        self.assertEqual((d["ConsumerName"], d["ConsumerStatus"], d["StreamARN"]), ("app", "ACTIVE", arn))
        d2 = self.k.describe_stream_consumer(StreamARN=arn, ConsumerName="app")["ConsumerDescription"]
        self.assertEqual(d2["ConsumerARN"], c["ConsumerARN"])
        self.assertEqual(error_of(self.k.register_stream_consumer, StreamARN=arn, ConsumerName="app")[0],
                         "ResourceInUseException")
        self.k.register_stream_consumer(StreamARN=arn, ConsumerName="app2")
        names = [x["ConsumerName"] for x in self.k.list_stream_consumers(StreamARN=arn)["Consumers"]]
        self.assertEqual(names, ["app", "app2"])
        page = self.k.list_stream_consumers(StreamARN=arn, MaxResults=1)
        self.assertEqual(len(page["Consumers"]), 1)
        rest = self.k.list_stream_consumers(StreamARN=arn, NextToken=page["NextToken"])
        self.assertEqual([x["ConsumerName"] for x in rest["Consumers"]], ["app2"])
        self.assertEqual(self.k.describe_stream_summary(StreamName="fanout")["StreamDescriptionSummary"]
                         ["ConsumerCount"], 2)
        self.assertEqual(error_of(self.k.delete_stream, StreamName="fanout")[0], "ResourceInUseException")
        self.k.deregister_stream_consumer(ConsumerARN=c["ConsumerARN"])
        self.assertEqual(error_of(self.k.describe_stream_consumer, ConsumerARN=c["ConsumerARN"])[0],
                         "ResourceNotFoundException")
        self.k.delete_stream(StreamName="fanout", EnforceConsumerDeletion=True)
        self.assertEqual(error_of(self.k.describe_stream, StreamName="fanout")[0], "ResourceNotFoundException")

    def test_stream_arns_in_place_of_names(self):
        self.create("byarn", 1)
        arn = "arn:aws:kinesis:us-east-1:000000000000:stream/byarn"
        r = self.k.put_record(StreamARN=arn, Data=b"via arn", PartitionKey="k")
        it = self.k.get_shard_iterator(StreamARN=arn, ShardId=r["ShardId"],
                                       ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        self.assertEqual(self.k.get_records(ShardIterator=it, StreamARN=arn)["Records"][0]["Data"], b"via arn")
        self.assertEqual(self.k.describe_stream(StreamARN=arn)["StreamDescription"]["StreamName"], "byarn")
        self.assertEqual(len(self.k.list_shards(StreamARN=arn)["Shards"]), 1)
        self.k.put_records(StreamARN=arn, Records=[{"Data": b"x", "PartitionKey": "k"}])
        other = "arn:aws:kinesis:eu-west-1:000000000000:stream/byarn"
        self.assertEqual(error_of(self.k.describe_stream, StreamARN=other)[0], "ResourceNotFoundException")

    def test_accounts_and_regions_are_separate(self):
        self.create("scoped", 1)
        other = self.d.client("kinesis", access_key="111122223333")
        self.assertEqual(error_of(other.describe_stream, StreamName="scoped")[0], "ResourceNotFoundException")
        other.create_stream(StreamName="scoped", ShardCount=2)
        self.assertEqual(other.describe_stream_summary(StreamName="scoped")["StreamDescriptionSummary"]
                         ["OpenShardCount"], 2)
        self.assertEqual(self.k.describe_stream_summary(StreamName="scoped")["StreamDescriptionSummary"]
                         ["OpenShardCount"], 1)

    def test_aws_cli(self):
        self.create("cli", 1)
        args = ["kinesis", "put-record", "--stream-name", "cli", "--partition-key", "p", "--data", "hello cli"]
        # aws CLI v2 reads blobs as base64 unless told otherwise; v1 takes them raw and has no flag.
        if cli_major_version() != 1:
            args += ["--cli-binary-format", "raw-in-base64-out"]
        put = self.d.aws(*args)
        self.assertEqual(put["ShardId"], "shardId-000000000000")
        it = self.d.aws("kinesis", "get-shard-iterator", "--stream-name", "cli", "--shard-id", put["ShardId"],
                        "--shard-iterator-type", "TRIM_HORIZON")["ShardIterator"]
        got = self.d.aws("kinesis", "get-records", "--shard-iterator", it)
        self.assertEqual(base64.b64decode(got["Records"][0]["Data"]), b"hello cli")
        self.assertEqual(got["Records"][0]["SequenceNumber"], put["SequenceNumber"])
        failed = self.d.aws("kinesis", "describe-stream", "--stream-name", "nope", check=False)
        self.assertNotEqual(failed.returncode, 0)
        self.assertIn("ResourceNotFoundException", failed.stderr)

    def test_subscribe_to_shard_is_unsupported(self):
        code, msg, status = error_of(self.k.subscribe_to_shard, ConsumerARN="arn:x", ShardId="shardId-000000000000",
                                     StartingPosition={"Type": "LATEST"})
        self.assertEqual((code, status), ("NotImplemented", 501))
        self.assertIn("kinesis.SubscribeToShard", msg)

    def test_malformed_json_body(self):
        status, headers, body = self.d.http("POST", "/", body="{not json", headers={
            "X-Amz-Target": "Kinesis_20131202.ListStreams", "Content-Type": "application/x-amz-json-1.1"})
        self.assertEqual(status, 400)
        self.assertIn("SerializationException", json.loads(body)["__type"])


class KinesisTransitions(unittest.TestCase):
    """With SLESS_KINESIS_STATUS_DELAY_MS, statuses pass through CREATING/UPDATING/DELETING as on
    AWS, and clients that wait for them (the SDK waiters) see the change."""

    @classmethod
    def setUpClass(cls):
        cls.d = Daemon(in_memory=True, env={"SLESS_KINESIS_STATUS_DELAY_MS": "300"}).start()
        cls.k = cls.d.client("kinesis")

    @classmethod
    def tearDownClass(cls):
        cls.d.cleanup()

    def status(self, name):
        return self.k.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["StreamStatus"]

    def test_statuses(self):
        self.k.create_stream(StreamName="slow", ShardCount=1)
        self.assertEqual(self.status("slow"), "CREATING")
        self.assertEqual(error_of(self.k.put_record, StreamName="slow", Data=b"x", PartitionKey="k")[0],
                         "ResourceNotFoundException")
        self.k.get_waiter("stream_exists").wait(StreamName="slow", WaiterConfig={"Delay": 1, "MaxAttempts": 10})
        self.k.put_record(StreamName="slow", Data=b"x", PartitionKey="k")
        self.k.update_shard_count(StreamName="slow", TargetShardCount=2, ScalingType="UNIFORM_SCALING")
        self.assertEqual(self.status("slow"), "UPDATING")
        self.k.put_record(StreamName="slow", Data=b"y", PartitionKey="k")  # writes go on while UPDATING
        self.assertEqual(error_of(self.k.split_shard, StreamName="slow", ShardToSplit="shardId-000000000001",
                                  NewStartingHashKey="12345")[0], "ResourceInUseException")
        wait_for(lambda: self.status("slow") == "ACTIVE", timeout=10, message="ACTIVE after UPDATING")
        self.k.delete_stream(StreamName="slow")
        self.assertEqual(self.status("slow"), "DELETING")
        self.k.get_waiter("stream_not_exists").wait(StreamName="slow", WaiterConfig={"Delay": 1, "MaxAttempts": 10})


class KinesisDurability(unittest.TestCase):
    """Records and positions survive a graceful restart and `kill -9` (the default durable mode)."""

    def test_restart_and_kill(self):
        d = Daemon().start()
        try:
            k = d.client("kinesis")
            k.create_stream(StreamName="durable", ShardCount=2)
            acked = []
            for i in range(40):
                r = k.put_record(StreamName="durable", Data=f"r{i}".encode(), PartitionKey=f"k{i % 3}")
                acked.append((r["ShardId"], r["SequenceNumber"], f"r{i}"))
            k.split_shard(StreamName="durable", ShardToSplit="shardId-000000000000",
                          NewStartingHashKey=str(2 ** 126))
            self.assertEqual(d.stop(), 0)

            d.start()
            k = d.client("kinesis")
            shards = k.describe_stream(StreamName="durable")["StreamDescription"]["Shards"]
            self.assertEqual(len(shards), 4)
            for i in range(40, 60):
                r = k.put_record(StreamName="durable", Data=f"r{i}".encode(), PartitionKey=f"k{i % 3}")
                acked.append((r["ShardId"], r["SequenceNumber"], f"r{i}"))
            r = k.put_records(StreamName="durable", Records=[{"Data": f"r{i}".encode(), "PartitionKey": f"k{i % 3}"}
                                                             for i in range(60, 80)])
            for i, res in zip(range(60, 80), r["Records"]):
                acked.append((res["ShardId"], res["SequenceNumber"], f"r{i}"))
            d.kill()  # kill -9: nothing flushed on purpose

            d.start()
            k = d.client("kinesis")
            stored = {}
            for s in k.list_shards(StreamName="durable")["Shards"]:
                records = read_shard(k, "durable", s["ShardId"])
                seqs = [r["SequenceNumber"] for r in records]
                self.assertEqual(seqs, sorted(seqs), s["ShardId"])
                for r in records:
                    stored[r["SequenceNumber"]] = (s["ShardId"], r["Data"].decode())
            for shard, seq, data in acked:
                self.assertEqual(stored.get(seq), (shard, data), f"acknowledged record {data} lost")
            # Numbering continues above everything acknowledged before the crash.
            newest = k.put_record(StreamName="durable", Data=b"new", PartitionKey="k0")
            before = max(int(seq) for shard, seq, _ in acked if shard == newest["ShardId"])
            self.assertGreater(int(newest["SequenceNumber"]), before)
        finally:
            d.cleanup()


if __name__ == "__main__":
    harness.main()
