#!/usr/bin/env python3
"""The daemon's instructions per request of the apigw_ddb scenario (HTTP API route -> the bench plugin -> DynamoDB
GetItem -> JSON answer), counted under callgrind like instructions.py; the function's worker processes are not
counted (they run outside valgrind). Sets up the scenario's table, function and API with bench/harness, sends 50
requests to warm up, then N one at a time. Needs valgrind and the bench_functions target built next to the binary.
Usage: apigw_instructions.py <sless binary> [N, default 200]; KEEP=1 keeps the callgrind output."""
import glob, http.client, os, re, shutil, subprocess, sys, tempfile, time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from harness import apigw_bench, aws as harness_aws  # noqa: E402

binary = os.path.abspath(sys.argv[1]); n = int(sys.argv[2]) if len(sys.argv) > 2 else 200
tmp = tempfile.mkdtemp(prefix="apigw-irm-")
out_base = os.path.join(tmp, "cg.out")
proc = subprocess.Popen(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out_base}.%p", binary, "up",
                         "--port", "0", "--data-dir", os.path.join(tmp, "data"), "--log-level", "warn"],
                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
port = None
for line in proc.stdout:
    m = re.search(r"http://127\.0\.0\.1:(\d+)", line)
    if m: port = int(m.group(1))
    if port and "ready" in line: break
aws = harness_aws.Aws(f"http://127.0.0.1:{port}", "AKIAIOSFODNN7EXAMPLE")
aws.sless_bin = binary
api = apigw_bench.setup(aws)["api"]
conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
def get(i):
    conn.request("GET", f"/items/item-{i % apigw_bench.ITEMS}", headers={"Host": f"{api}.execute-api.localhost:{port}"})
    r = conn.getresponse(); body = r.read()
    assert r.status == 200, body
for i in range(50): get(i)
before = set(glob.glob(out_base + ".*"))
subprocess.run(["callgrind_control", "-z", str(proc.pid)], stdout=subprocess.DEVNULL, check=True)
for i in range(n): get(i)
subprocess.run(["callgrind_control", "-d", "apigw_ddb", str(proc.pid)], stdout=subprocess.DEVNULL, check=True)
new = set()
for _ in range(100):
    new = set(glob.glob(out_base + ".*")) - before
    if new: break
    time.sleep(0.1)
time.sleep(0.5)
ir = [int(l.split()[1]) for l in open(sorted(new)[-1]) if l.startswith(("summary:", "totals:"))][-1]
print(f"apigw_ddb    {n:5d} calls  {ir / n:10.0f} Ir/call (daemon only)", flush=True)
proc.terminate(); proc.wait(timeout=60)
if os.environ.get("KEEP"):
    print("callgrind outputs in", tmp)
else:
    shutil.rmtree(tmp, ignore_errors=True)
