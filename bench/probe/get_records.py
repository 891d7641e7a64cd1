#!/usr/bin/env python3
"""GetRecords of 1,000 records (issue figure: <= 2 ms): one shard holding 1,000 records of 96 bytes, then ROUNDS
times GetShardIterator(TRIM_HORIZON) + GetRecords(Limit=1000) on one keep-alive connection; prints the median and
p90 of the GetRecords round trip as a client sees it (Python http.client on loopback: request sent to answer read,
before the client parses it), durable mode.
Usage: get_records.py SLESS_BIN [ROUNDS]"""
import base64
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

from json_api import JsonApi, daemon_port

binary = os.path.abspath(sys.argv[1])
rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 200

with tempfile.TemporaryDirectory() as data_dir:
    proc = subprocess.Popen([binary, "up", "--port", "0", "--data-dir", data_dir, "--log-level", "warn"],
                            stdout=subprocess.PIPE, text=True)
    try:
        api = JsonApi(daemon_port(proc), "kinesis", "Kinesis_20131202.", "1.1")
        api.call("CreateStream", {"StreamName": "probe", "ShardCount": 1})
        while api.call("DescribeStreamSummary", {"StreamName": "probe"})[
                "StreamDescriptionSummary"]["StreamStatus"] != "ACTIVE":
            time.sleep(0.01)
        data = base64.b64encode(b"r" * 96).decode()
        for batch in range(2):
            records = [{"Data": data, "PartitionKey": f"k{batch}-{i}"} for i in range(500)]
            out = api.call("PutRecords", {"StreamName": "probe", "Records": records})
            assert out["FailedRecordCount"] == 0
        shard = api.call("ListShards", {"StreamName": "probe"})["Shards"][0]["ShardId"]
        times = []
        for _ in range(rounds):
            it = api.call("GetShardIterator", {"StreamName": "probe", "ShardId": shard,
                                                  "ShardIteratorType": "TRIM_HORIZON"})["ShardIterator"]
            start = time.perf_counter()  # request sent to answer read, before the client parses the JSON
            status, data = api.exchange("GetRecords", {"ShardIterator": it, "Limit": 1000})
            times.append((time.perf_counter() - start) * 1000)
            assert status == 200 and len(json.loads(data)["Records"]) == 1000
        times.sort()
        print(f"GetRecords of 1000 records x {rounds}: median {statistics.median(times):.2f} ms, "
              f"p90 {times[int(len(times) * 0.9)]:.2f} ms, min {times[0]:.2f} ms")
    finally:
        proc.terminate()
        proc.wait(timeout=10)
