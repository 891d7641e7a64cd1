#!/usr/bin/env python3
"""Instructions per call of the bench scenarios ddb_put, ddb_get, ddb_query, sqs_send, sqs_cycle, sns_publish,
kinesis_put, s3_put (s3_put_1k) and s3_get (s3_get_1k), a measure that does not move with the machine's load: runs `sless up` (durable mode, temporary data dir) under valgrind's callgrind, sends a fixed
sequence of requests one at a time (the bodies of bench/scenarios), zeroes the counters before each scenario and
dumps them after, and prints the daemon's user-space instructions (Ir) per call, all threads included (kernel
time, e.g. socket and WAL writes, is not counted). Deterministic to about 1 %.
Usage: instructions.py <sless binary> [n calls per scenario, default 400] [scenario,scenario,...]; REVERSE=1
deletes each received batch in reverse order; KEEP=1 keeps the callgrind outputs. Needs valgrind
(callgrind_control). An A/B of two binaries: run it on each; the figures are comparable to about 1 %."""
import glob, http.client, json, os, re, shutil, subprocess, sys, tempfile, time, urllib.parse

binary = sys.argv[1]; n = int(sys.argv[2]) if len(sys.argv) > 2 else 400
wanted = set(sys.argv[3].split(",")) if len(sys.argv) > 3 else None
def chosen(name): return wanted is None or name in wanted
tmp = tempfile.mkdtemp(prefix="irm-")
out_base = os.path.join(tmp, "cg.out")
proc = subprocess.Popen(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out_base}.%p",
                         binary, "up", "--port", "0", "--data-dir", os.path.join(tmp, "data"), "--log-level", "warn"],
                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
port = None
for line in proc.stdout:
    m = re.search(r"http://127\.0\.0\.1:(\d+)", line)
    if m: port = int(m.group(1))
    if line.strip() == "ready" or (port and "ready" in line): break
conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
auth = (f"AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/{stamp[:8]}/us-east-1/{{svc}}/aws4_request, "
        "SignedHeaders=host;x-amz-date, Signature=" + "0" * 64)
def call_api(svc, target, body, version="1.0"):
    h = {"X-Amz-Date": stamp, "Authorization": auth.format(svc=svc), "X-Amz-Target": target,
         "Content-Type": "application/x-amz-json-" + version}
    conn.request("POST", "/", body if isinstance(body, str) else json.dumps(body), h); r = conn.getresponse(); d = r.read()
    assert r.status == 200, d; return json.loads(d)
def call_json(target, body): return call_api("sqs", "AmazonSQS." + target, body)
def ddb(op, body): return call_api("dynamodb", "DynamoDB_20120810." + op, body)
def call_query(svc, params):
    h = {"X-Amz-Date": stamp, "Authorization": auth.format(svc=svc),
         "Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
    conn.request("POST", "/", urllib.parse.urlencode(params), h); r = conn.getresponse(); d = r.read()
    assert r.status == 200, d; return d.decode()
pid = proc.pid
def ctl(*args): subprocess.run(["callgrind_control", *args, str(pid)], stdout=subprocess.DEVNULL, check=True)
def files(): return set(glob.glob(out_base + ".*"))
def measure(name, calls, fn):
    before = files(); ctl("-z"); fn(); ctl("-d", name)
    for _ in range(100):
        new = files() - before
        if new: break
        time.sleep(0.1)
    time.sleep(0.5)
    f = sorted(new)[-1]
    ir = None
    for line in open(f):
        if line.startswith("summary:") or line.startswith("totals:"): ir = int(line.split()[1])
    print(f"{name:12s} {calls:5d} calls  {ir/calls:10.0f} Ir/call", flush=True)

# DynamoDB: the bodies of bench/scenarios/ddb_*.lua, on a table of the same key schema.
ddb("CreateTable", {"TableName": "bench", "BillingMode": "PAY_PER_REQUEST",
                    "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
                    "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "sk", "AttributeType": "S"}]})
def put_body(name, i):
    return ('{"TableName":"bench","Item":{"pk":{"S":"%s"},"sk":{"S":"profile"},"name":{"S":"User %d"},"age":{"N":"%d"},'
            '"active":{"BOOL":true},"tags":{"SS":["bench","load"]}}}' % (name, i, 18 + i % 60))
for i in range(100):
    ddb("PutItem", put_body(f"user#pre-{i}", i))
    ddb("PutItem", {"TableName": "bench", "Item": {"pk": {"S": "orders#1"}, "sk": {"S": f"order#{i:04d}"},
                                                   "total": {"N": str(10 + i)}, "status": {"S": "shipped"}}})
ddb("GetItem", {"TableName": "bench", "Key": {"pk": {"S": "user#pre-0"}, "sk": {"S": "profile"}}})
def ddb_put():
    for i in range(n): ddb("PutItem", put_body(f"user#w-{i}", i))
def ddb_get():
    for i in range(n): ddb("GetItem", {"TableName": "bench", "Key": {"pk": {"S": f"user#pre-{i % 100}"}, "sk": {"S": "profile"}}})
def ddb_query():
    for i in range(n):
        got = ddb("Query", {"TableName": "bench", "KeyConditionExpression": "pk = :p", "Limit": 20,
                            "ExpressionAttributeValues": {":p": {"S": "orders#1"}}})
        assert got["Count"] == 20
if chosen("ddb_put"): measure("ddb_put", n, ddb_put)
if chosen("ddb_get"): measure("ddb_get", n, ddb_get)
if chosen("ddb_query"): measure("ddb_query", n, ddb_query)
# Kinesis: PutRecord of 96-byte records on a stream of 2 shards.
call_api("kinesis", "Kinesis_20131202.CreateStream", {"StreamName": "bench", "ShardCount": 2}, "1.1")
for _ in range(100):
    if call_api("kinesis", "Kinesis_20131202.DescribeStreamSummary", {"StreamName": "bench"}, "1.1")[
            "StreamDescriptionSummary"]["StreamStatus"] == "ACTIVE": break
    time.sleep(0.1)
record = "A" * 128  # base64 of 96 bytes
call_api("kinesis", "Kinesis_20131202.PutRecord", {"StreamName": "bench", "Data": record, "PartitionKey": "warm"}, "1.1")
def kinesis_put():
    for i in range(n):
        call_api("kinesis", "Kinesis_20131202.PutRecord", {"StreamName": "bench", "Data": record, "PartitionKey": f"device-{i}"}, "1.1")
if chosen("kinesis_put"): measure("kinesis_put", n, kinesis_put)

url = call_json("CreateQueue", {"QueueName": "bench"})["QueueUrl"]
call_json("SendMessage", {"QueueUrl": url, "MessageBody": "warm-up"})  # one-time costs (digest fetch) out of the window
def send():
    for i in range(n): call_json("SendMessage", {"QueueUrl": url, "MessageBody": f"order w-{i}: 3 items, express shipping"})
if chosen("sqs_send"): measure("sqs_send", n, send)
curl = call_json("CreateQueue", {"QueueName": "bench-cycle"})["QueueUrl"]
for k in range(10):
    call_json("SendMessageBatch", {"QueueUrl": curl, "Entries": [{"Id": f"m{i}", "MessageBody": f"pre {k}-{i}"} for i in range(10)]})
def cycle():
    for j in range(n // 3):
        got = call_json("ReceiveMessage", {"QueueUrl": curl, "MaxNumberOfMessages": 10, "WaitTimeSeconds": 0})
        hs = [m["ReceiptHandle"] for m in got.get("Messages", [])]
        if os.environ.get("REVERSE"): hs.reverse()
        assert len(hs) == 10
        call_json("DeleteMessageBatch", {"QueueUrl": curl, "Entries": [{"Id": f"d{i}", "ReceiptHandle": h} for i, h in enumerate(hs)]})
        call_json("SendMessageBatch", {"QueueUrl": curl, "Entries": [{"Id": f"m{i}", "MessageBody": f"job w-{j}-{i}: resize image 640x480"} for i in range(10)]})
if chosen("sqs_cycle"): measure("sqs_cycle", 3 * (n // 3), cycle)
sink = call_json("CreateQueue", {"QueueName": "bench-sns-sink"})["QueueUrl"]
topic = re.search(r"<TopicArn>(.*?)</TopicArn>", call_query("sns", {"Action": "CreateTopic", "Name": "bench", "Version": "2010-03-31"})).group(1)
call_query("sns", {"Action": "Subscribe", "TopicArn": topic, "Protocol": "sqs", "Endpoint": "arn:aws:sqs:us-east-1:000000000000:bench-sns-sink", "Version": "2010-03-31"})
call_query("sns", {"Action": "Publish", "TopicArn": topic, "Message": "warm-up", "Version": "2010-03-31"})
def publish():
    for i in range(n): call_query("sns", {"Action": "Publish", "TopicArn": topic, "Message": f"price update w-{i}: 42.17 EUR", "Version": "2010-03-31"})
if chosen("sns_publish"): measure("sns_publish", n, publish)
depth = call_json("GetQueueAttributes", {"QueueUrl": sink, "AttributeNames": ["ApproximateNumberOfMessages"]})
if chosen("sns_publish"): print("sink depth", depth["Attributes"]["ApproximateNumberOfMessages"], "(n+1 expected)")
# S3: PUT of a new 1 KiB object and GET of a preloaded one, path-style, with s3_objects.lua's headers.
def s3(method, path, body=None):
    h = {"X-Amz-Date": stamp, "Authorization": auth.format(svc="s3"), "X-Amz-Content-Sha256": "UNSIGNED-PAYLOAD"}
    if body is not None: h["Content-Type"] = "application/octet-stream"
    conn.request(method, path, body, h); r = conn.getresponse(); d = r.read()
    assert r.status == 200, d; return d
s3("PUT", "/bench")
payload = b"0123456789abcdef" * 64
for i in range(100): s3("PUT", f"/bench/obj-{i}", payload)
def s3_put():
    for i in range(n): s3("PUT", f"/bench/obj-w-{i}", payload)
def s3_get():
    for i in range(n): assert len(s3("GET", f"/bench/obj-{i % 100}")) == len(payload)
if chosen("s3_put"): measure("s3_put", n, s3_put)
if chosen("s3_get"): measure("s3_get", n, s3_get)
proc.terminate(); proc.wait(timeout=60)
if os.environ.get("KEEP"):
    print("callgrind outputs in", tmp)  # callgrind_annotate --inclusive=yes <file>
else:
    shutil.rmtree(tmp, ignore_errors=True)
