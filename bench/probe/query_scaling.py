#!/usr/bin/env python3
"""Query latency against table size (issue figure: flat from 10 k to 1 M items). One table in durable mode; the
queried partition holds 100 items, the rest of the table grows to each size in turn (other partitions, written with
BatchWriteItem over a few connections). At each size: ROUNDS Queries (Limit 20, the ddb_query scenario's request)
on one keep-alive connection, p50 / p90 / p99 of the round trip, and the daemon's RSS.
Usage: query_scaling.py SLESS_BIN [ROUNDS] [SIZES, comma-separated] [SETTLE_SECONDS after each fill, default 10]"""
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time

from json_api import JsonApi, daemon_port

binary = os.path.abspath(sys.argv[1])
rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 2000
sizes = [int(s) for s in (sys.argv[3] if len(sys.argv) > 3 else "10000,100000,1000000").split(",")]
settle_s = float(sys.argv[4]) if len(sys.argv) > 4 else 10.0
TABLE = "scaling"


def item(pk, sk):
    return {"pk": {"S": pk}, "sk": {"S": sk}, "title": {"S": "task " + sk}, "points": {"N": str(len(sk) % 13)}}


def fill(port, start, end, writers=4):
    """Items start..end-1 of the other partitions (100 items each), BatchWriteItem of 25."""
    def work(first):
        api = JsonApi(port, "dynamodb", "DynamoDB_20120810.", "1.0")
        for base in range(first, end, 25 * writers):
            batch = [{"PutRequest": {"Item": item(f"other#{i // 100}", f"item#{i % 100:03d}")}}
                     for i in range(base, min(base + 25, end))]
            pending = {TABLE: batch}
            while pending:
                pending = api.call("BatchWriteItem", {"RequestItems": pending}).get("UnprocessedItems") or {}
    threads = [threading.Thread(target=work, args=(start + 25 * w,)) for w in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


with tempfile.TemporaryDirectory() as data_dir:
    proc = subprocess.Popen([binary, "up", "--port", "0", "--data-dir", data_dir, "--log-level", "warn"],
                            stdout=subprocess.PIPE, text=True)
    try:
        port = daemon_port(proc)
        api = JsonApi(port, "dynamodb", "DynamoDB_20120810.", "1.0")
        api.call("CreateTable", {
            "TableName": TABLE, "BillingMode": "PAY_PER_REQUEST",
            "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"},
                                     {"AttributeName": "sk", "AttributeType": "S"}],
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}]})
        for i in range(0, 100, 25):
            api.call("BatchWriteItem", {"RequestItems": {TABLE: [
                {"PutRequest": {"Item": item("team#1", f"item#{j:03d}")}} for j in range(i, i + 25)]}})
        query = {"TableName": TABLE, "KeyConditionExpression": "pk = :p", "Limit": 20,
                 "ExpressionAttributeValues": {":p": {"S": "team#1"}}}
        filled = 100
        print(f"{'items':>10} {'fill s':>7} {'p50 ms':>7} {'p90 ms':>7} {'p99 ms':>7} {'RSS MiB':>8}")
        for size in sizes:
            t0 = time.time()
            fill(port, filled - 100, size - 100)
            filled = size
            fill_s = time.time() - t0
            time.sleep(settle_s)  # let the store's flushes and compactions after the fill finish
            for _ in range(200):  # warm-up
                api.call("Query", query)
            times = []
            for _ in range(rounds):
                start = time.perf_counter()
                out = api.call("Query", query)
                times.append((time.perf_counter() - start) * 1000)
                assert out["Count"] == 20 and out["Items"][0]["sk"]["S"] == "item#000"
            times.sort()
            print(f"{size:>10,} {fill_s:>7.1f} {statistics.median(times):>7.3f} {times[int(rounds * 0.9)]:>7.3f} "
                  f"{times[int(rounds * 0.99)]:>7.3f} {rss_mib(proc.pid):>8.1f}", flush=True)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
