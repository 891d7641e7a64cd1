#!/usr/bin/env python3
"""Instructions per call of the sqs_send, sqs_cycle and sns_publish scenarios, a measure that does not move with
the machine's load: runs `sless up` (durable mode, temporary data dir) under valgrind's callgrind, sends a fixed
sequence of requests one at a time (the bodies of bench/scenarios), zeroes the counters before each scenario and
dumps them after, and prints the daemon's user-space instructions (Ir) per call, all threads included (kernel
time, e.g. socket and WAL writes, is not counted). Deterministic to about 1 %.
Usage: sqs_sns_instructions.py <sless binary> [n calls per scenario, default 400]; REVERSE=1 deletes each
received batch in reverse order; KEEP=1 keeps the callgrind outputs. Needs valgrind (callgrind_control)."""
import glob, http.client, json, os, re, shutil, subprocess, sys, tempfile, time, urllib.parse

binary = sys.argv[1]; n = int(sys.argv[2]) if len(sys.argv) > 2 else 400
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
def call_json(target, body):
    h = {"X-Amz-Date": stamp, "Authorization": auth.format(svc="sqs"), "X-Amz-Target": "AmazonSQS." + target,
         "Content-Type": "application/x-amz-json-1.0"}
    conn.request("POST", "/", json.dumps(body), h); r = conn.getresponse(); d = r.read()
    assert r.status == 200, d; return json.loads(d)
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

url = call_json("CreateQueue", {"QueueName": "bench"})["QueueUrl"]
call_json("SendMessage", {"QueueUrl": url, "MessageBody": "warm-up"})  # one-time costs (digest fetch) out of the window
def send():
    for i in range(n): call_json("SendMessage", {"QueueUrl": url, "MessageBody": f"order w-{i}: 3 items, express shipping"})
measure("sqs_send", n, send)
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
measure("sqs_cycle", 3 * (n // 3), cycle)
sink = call_json("CreateQueue", {"QueueName": "bench-sns-sink"})["QueueUrl"]
topic = re.search(r"<TopicArn>(.*?)</TopicArn>", call_query("sns", {"Action": "CreateTopic", "Name": "bench", "Version": "2010-03-31"})).group(1)
call_query("sns", {"Action": "Subscribe", "TopicArn": topic, "Protocol": "sqs", "Endpoint": "arn:aws:sqs:us-east-1:000000000000:bench-sns-sink", "Version": "2010-03-31"})
call_query("sns", {"Action": "Publish", "TopicArn": topic, "Message": "warm-up", "Version": "2010-03-31"})
def publish():
    for i in range(n): call_query("sns", {"Action": "Publish", "TopicArn": topic, "Message": f"price update w-{i}: 42.17 EUR", "Version": "2010-03-31"})
measure("sns_publish", n, publish)
depth = call_json("GetQueueAttributes", {"QueueUrl": sink, "AttributeNames": ["ApproximateNumberOfMessages"]})
print("sink depth", depth["Attributes"]["ApproximateNumberOfMessages"], "(n+1 expected)")
proc.terminate(); proc.wait(timeout=60)
if os.environ.get("KEEP"):
    print("callgrind outputs in", tmp)  # callgrind_annotate --inclusive=yes <file>
else:
    shutil.rmtree(tmp, ignore_errors=True)
