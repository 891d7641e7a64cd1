#!/usr/bin/env python3
"""GetRecords of 1,000 records (issue figure: <= 2 ms): one shard holding 1,000 records of 96 bytes, then ROUNDS
times GetShardIterator(TRIM_HORIZON) + GetRecords(Limit=1000) on one keep-alive connection; prints the median and
p90 of the GetRecords round trip as a client sees it (Python http.client on loopback: request sent to answer read,
before the client parses it), durable mode.
Usage: get_records.py SLESS_BIN [ROUNDS]"""
import base64
import http.client
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

binary = os.path.abspath(sys.argv[1])
rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 200
HEADERS = {
    "Content-Type": "application/x-amz-json-1.1",
    "Authorization": "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/us-east-1/kinesis/aws4_request, "
                     "SignedHeaders=host, Signature=" + "0" * 64,
}


def exchange(conn, op, body):
    """The answer's status and bytes (read whole)."""
    conn.request("POST", "/", json.dumps(body), dict(HEADERS, **{"X-Amz-Target": "Kinesis_20131202." + op}))
    res = conn.getresponse()
    return res.status, res.read()


def call(conn, op, body):
    status, data = exchange(conn, op, body)
    if status != 200:
        raise RuntimeError(f"{op}: {status} {data[:200]!r}")
    return json.loads(data) if data else {}


with tempfile.TemporaryDirectory() as data_dir:
    proc = subprocess.Popen([binary, "up", "--port", "0", "--data-dir", data_dir, "--log-level", "warn"],
                            stdout=subprocess.PIPE, text=True)
    try:
        port = int(proc.stdout.readline().split("http://127.0.0.1:")[1].split()[0])
        conn = http.client.HTTPConnection("127.0.0.1", port)
        call(conn, "CreateStream", {"StreamName": "probe", "ShardCount": 1})
        while call(conn, "DescribeStreamSummary", {"StreamName": "probe"})[
                "StreamDescriptionSummary"]["StreamStatus"] != "ACTIVE":
            time.sleep(0.01)
        data = base64.b64encode(b"r" * 96).decode()
        for batch in range(2):
            records = [{"Data": data, "PartitionKey": f"k{batch}-{i}"} for i in range(500)]
            out = call(conn, "PutRecords", {"StreamName": "probe", "Records": records})
            assert out["FailedRecordCount"] == 0
        shard = call(conn, "ListShards", {"StreamName": "probe"})["Shards"][0]["ShardId"]
        times = []
        for _ in range(rounds):
            it = call(conn, "GetShardIterator", {"StreamName": "probe", "ShardId": shard,
                                                  "ShardIteratorType": "TRIM_HORIZON"})["ShardIterator"]
            start = time.perf_counter()  # request sent to answer read, before the client parses the JSON
            status, data = exchange(conn, "GetRecords", {"ShardIterator": it, "Limit": 1000})
            times.append((time.perf_counter() - start) * 1000)
            assert status == 200 and len(json.loads(data)["Records"]) == 1000
        times.sort()
        print(f"GetRecords of 1000 records x {rounds}: median {statistics.median(times):.2f} ms, "
              f"p90 {times[int(len(times) * 0.9)]:.2f} ms, min {times[0]:.2f} ms")
    finally:
        proc.terminate()
        proc.wait(timeout=10)
