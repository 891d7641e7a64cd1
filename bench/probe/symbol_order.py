#!/usr/bin/env python3
"""Writes the link order of the daemon's functions (emulator/main/symbol_order.txt): every function of
the sless binary that runs while the daemon starts on a fresh data dir, answers its health check and a
few calls of the main services, in the order they first ran. The linker (lld --symbol-ordering-file)
places those functions, or the sections holding them, first and together, so that the pages a
running daemon touches are few and contiguous; the rest of the code stays on pages it never maps in.
A stale list only costs memory: a function missing from it is laid out after the listed ones.

Runs the daemon under valgrind's callgrind (function names as the linker sees them) for ~1 minute.
Usage: symbol_order.py BIN [OUTPUT]"""
import os, re, signal, socket, subprocess, sys, tempfile, time

import boto3
from botocore.config import Config


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def exercise(endpoint):
    """A little of what the daemon does most: each main service's common calls."""
    cfg = dict(endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="test",
               aws_secret_access_key="test", config=Config(retries={"max_attempts": 1}, read_timeout=120))
    ddb = boto3.client("dynamodb", **cfg)
    ddb.create_table(TableName="items", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"},
                                               {"AttributeName": "sk", "KeyType": "RANGE"}],
                     AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                           {"AttributeName": "sk", "AttributeType": "N"}],
                     BillingMode="PAY_PER_REQUEST")
    for i in range(3):
        ddb.put_item(TableName="items", Item={"pk": {"S": "a"}, "sk": {"N": str(i)}, "v": {"S": "x" * 100}})
    ddb.get_item(TableName="items", Key={"pk": {"S": "a"}, "sk": {"N": "1"}})
    ddb.query(TableName="items", KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "a"}})
    sqs = boto3.client("sqs", **cfg)
    url = sqs.create_queue(QueueName="jobs")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="hello")
    sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": "m"} for i in range(3)])
    for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    sns = boto3.client("sns", **cfg)
    topic = sns.create_topic(Name="news")["TopicArn"]
    sns.publish(TopicArn=topic, Message="hello")
    s3 = boto3.client("s3", **cfg)
    s3.create_bucket(Bucket="bucket-1")
    s3.list_buckets()
    s3.put_object(Bucket="bucket-1", Key="k", Body=b"x" * 1024)
    s3.get_object(Bucket="bucket-1", Key="k")["Body"].read()
    kinesis = boto3.client("kinesis", **cfg)
    kinesis.create_stream(StreamName="readings", ShardCount=1)
    while kinesis.describe_stream_summary(StreamName="readings")["StreamDescriptionSummary"]["StreamStatus"] != "ACTIVE":
        time.sleep(0.1)
    kinesis.put_record(StreamName="readings", Data=b"reading", PartitionKey="device-1")


def main():
    if len(sys.argv) < 2:
        raise SystemExit(__doc__)
    binary = os.path.abspath(sys.argv[1])
    here = os.path.dirname(os.path.abspath(__file__))
    output = sys.argv[2] if len(sys.argv) > 2 else os.path.join(here, "..", "..", "emulator", "main", "symbol_order.txt")
    work = tempfile.mkdtemp(prefix="slessorder")
    port = free_port()
    out_file = os.path.join(work, "callgrind.out")
    log = open(os.path.join(work, "log"), "w+")
    daemon = subprocess.Popen(["valgrind", "--tool=callgrind", "--demangle=no", f"--callgrind-out-file={out_file}",
                               binary, "up", "--port", str(port), "--data-dir", os.path.join(work, "data"),
                               "--log-level", "warn"], stdout=log, stderr=subprocess.STDOUT, cwd=work)
    deadline = time.time() + 180
    while time.time() < deadline:
        log.seek(0)
        if "\nready\n" in "\n" + log.read():
            break
        if daemon.poll() is not None:
            raise SystemExit("the daemon exited under valgrind")
        time.sleep(0.2)
    else:
        daemon.kill()
        raise SystemExit("the daemon was not ready under valgrind within 180 s")
    endpoint = f"http://127.0.0.1:{port}"
    try:
        # The health check, then a bare GET / (an S3 ListBuckets: what readiness probes send).
        for request in (b"GET /_sless/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                        b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"):
            with socket.create_connection(("127.0.0.1", port), timeout=60) as s:
                s.sendall(request)
                s.recv(4096)
        exercise(endpoint)
    finally:
        daemon.send_signal(signal.SIGINT)
        daemon.wait(timeout=120)

    # callgrind numbers names at first sight ("fn=(id) name" once, then "fn=(id)"): by id is by first run.
    pattern = re.compile(r"^(ob|cob|fn|cfn)=\((\d+)\)(?: (.*))?$")
    objects, functions, order, current = {}, {}, {}, None
    with open(out_file, errors="replace") as f:
        for line in f:
            m = pattern.match(line.rstrip("\n"))
            if not m:
                continue
            kind, ident, name = m.group(1), int(m.group(2)), m.group(3)
            if kind in ("ob", "cob"):
                if name:
                    objects[ident] = name
                if kind == "ob":
                    current = objects.get(ident)
                continue
            if name:
                functions[ident] = name
            if kind == "fn" and current == binary and ident in functions:
                order.setdefault(ident, functions[ident])
    # Linker symbols only (callgrind also names "(below main)" and the like).
    symbols = [order[i] for i in sorted(order) if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.$]*", order[i])]
    with open(output, "w") as f:
        f.write("\n".join(symbols) + "\n")
    print(f"{len(symbols)} functions -> {os.path.relpath(output)}")


if __name__ == "__main__":
    main()
