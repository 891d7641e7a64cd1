#!/usr/bin/env python3
"""Server CPU per request of a running daemon under wrk (utime+stime of PID over the run / requests).
Usage: cpu_per_request.py PID PORT SCRIPT [secs] [conns]"""
import subprocess, sys, os, re
pid, port, script = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
secs = sys.argv[4] if len(sys.argv) > 4 else "5"
conns = sys.argv[5] if len(sys.argv) > 5 else "8"
tick = os.sysconf("SC_CLK_TCK")
def cpu():
    f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / tick
# warm-up
subprocess.run(["wrk", "-t1", "-c" + conns, "-d1s", "-s", script, f"http://127.0.0.1:{port}/"], capture_output=True)
c0 = cpu()
out = subprocess.run(["wrk", "-t1", "-c" + conns, "-d" + secs + "s", "-s", script, f"http://127.0.0.1:{port}/"], capture_output=True, text=True).stdout
c1 = cpu()
m = re.search(r"(\d+) requests in", out); n = int(m.group(1))
rps = re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)
non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
print(f"requests {n} req/s {rps} cpu {c1-c0:.2f}s  -> {1e6*(c1-c0)/n:.1f} us/req  non2xx {non2xx.group(1) if non2xx else 0}")
