#!/usr/bin/env python3
"""Start-up probe of `sless up --port 0`: ms to the "ready" line and to the first HTTP answer, and the
RSS 0.5 s later split into anonymous and file-backed pages (/proc/PID/smaps_rollup), over N runs.
Usage: startup.py BIN [N] [--in-memory] [LD_PRELOAD=lib]"""
import os, socket, subprocess, sys, tempfile, time, statistics, shutil, re

def free_port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close(); return p

def answers(port):
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=0.5)
    except OSError:
        return False
    try:
        s.sendall(b"GET /_sless/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        data = s.recv(64)
        return data.startswith(b"HTTP/1.1 ")
    except OSError:
        return False
    finally:
        s.close()

def rollup(pid):
    out = {}
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            m = re.match(r"(\w+):\s+(\d+) kB", line)
            if m: out[m.group(1)] = int(m.group(2))
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            for k in ("VmRSS", "RssAnon", "RssFile", "RssShmem", "Threads", "VmSize"):
                if line.startswith(k + ":"): out["st_" + k] = line.split()[1]
    return out

def one(binary, in_memory, extra_env=None):
    port = free_port()
    d = tempfile.mkdtemp(prefix="slessprobe")
    args = [binary, "up", "--port", str(port), "--log-level", "warn"]
    args += ["--in-memory"] if in_memory else ["--data-dir", d + "/data"]
    env = dict(os.environ, **(extra_env or {}))
    t0 = time.monotonic()
    p = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd=d, env=env)
    ready_line = None
    while True:
        line = p.stdout.readline()
        if not line: raise SystemExit("exited")
        if line.strip() == b"ready":
            ready_line = time.monotonic() - t0; break
    while not answers(port):
        time.sleep(0.0005)
    first = time.monotonic() - t0
    time.sleep(0.5)
    r = rollup(p.pid)
    p.terminate(); p.wait()
    shutil.rmtree(d, ignore_errors=True)
    return ready_line * 1000, first * 1000, r

binary = sys.argv[1]; n = int(sys.argv[2]) if len(sys.argv) > 2 else 5
inmem = "--in-memory" in sys.argv
env = {}
for a in sys.argv:
    if a.startswith("LD_PRELOAD="): env["LD_PRELOAD"] = a.split("=",1)[1]
res = [one(binary, inmem, env) for _ in range(n)]
rl = [r[0] for r in res]; fa = [r[1] for r in res]
print(f"ready line ms: median {statistics.median(rl):.1f} min {min(rl):.1f}  first answer ms: median {statistics.median(fa):.1f} min {min(fa):.1f}")
last = res[-1][2]
print("idle RSS kB: Rss {Rss} Anon {Anonymous} File(RssFile) {st_RssFile} Shmem {st_RssShmem} Threads {st_Threads} VmSize {st_VmSize}".format(**last))
rss = [int(r[2]["Rss"]) for r in res]
print("Rss per run kB:", rss)
