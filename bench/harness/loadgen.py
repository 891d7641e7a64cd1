"""One wrk run against one server, with the server's CPU and memory read around it.

wrk's Lua done() prints a line "BENCH_RESULT {json}" (see bench/scenarios/common.lua); everything else wrk prints
is kept only for error messages. The server's CPU is its process tree's utime+stime delta over the run; wrk's own
CPU comes from the runner's reaped-children usage (nothing else is reaped meanwhile). Whatever else the machine
did meanwhile (its busy time and steal from /proc/stat, less those two) is kept as a noise gauge.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from .procs import Server, machine_busy_seconds

RESULT_PREFIX = "BENCH_RESULT "
WRK_GRACE_S = 60  # beyond --duration, before the runner gives up on wrk


@dataclass(frozen=True)
class LoadSettings:
    threads: int
    connections: int
    duration_s: int
    timeout_s: int

    def describe(self) -> str:
        return f"wrk -t{self.threads} -c{self.connections} -d{self.duration_s}s"


class LoadFailed(RuntimeError):
    pass


def children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def wait_for_quiet(server: Server, max_wait_s: float, sample_s: float = 0.5, threshold: float = 0.1) -> float:
    """Waits, up to max_wait_s, until the machine outside the (idle) server used under threshold of one core for two
    samples in a row; returns the seconds waited. Lowers the noise of a machine shared with builds."""
    started = time.monotonic()
    quiet_samples = 0
    while quiet_samples < 2 and time.monotonic() - started < max_wait_s:
        machine_before, server_before = machine_busy_seconds(), server.cpu_seconds()
        time.sleep(sample_s)
        other = machine_busy_seconds() - machine_before - (server.cpu_seconds() - server_before)
        quiet_samples = quiet_samples + 1 if other < threshold * sample_s else 0
    return time.monotonic() - started


def run_wrk(script: Path, server: Server, settings: LoadSettings, duration_s: int, script_args: dict) -> dict:
    """Runs wrk with the scenario script; returns the measured numbers (see the keys at the end)."""
    url = f"http://127.0.0.1:{server.port}/"
    command = ["wrk", f"-t{settings.threads}", f"-c{settings.connections}", f"-d{duration_s}s",
               f"--timeout={settings.timeout_s}s", "-s", str(script), url, "--"]
    command += [f"{key}={value}" for key, value in script_args.items()]

    with tempfile.TemporaryFile() as output:
        machine_before = machine_busy_seconds()
        server_cpu_before = server.cpu_seconds()
        client_cpu_before = children_cpu_seconds()
        wrk = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT,
                               start_new_session=True)
        try:
            wrk.wait(timeout=duration_s + WRK_GRACE_S)
        except subprocess.TimeoutExpired:
            raise LoadFailed(f"wrk still running {WRK_GRACE_S} s after its duration")
        finally:
            if wrk.poll() is None:
                os.killpg(wrk.pid, signal.SIGKILL)
                wrk.wait()
        server_cpu = server.cpu_seconds() - server_cpu_before
        client_cpu = children_cpu_seconds() - client_cpu_before
        machine = machine_busy_seconds() - machine_before
        rss = server.rss_bytes()
        output.seek(0)
        text = output.read().decode(errors="replace")

    lines = [line for line in text.splitlines() if line.startswith(RESULT_PREFIX)]
    if wrk.returncode != 0 or not lines:
        raise LoadFailed(f"wrk exited with code {wrk.returncode}: {text.strip()[-600:]}")
    raw = json.loads(lines[-1][len(RESULT_PREFIX):])

    requests = raw["requests"]
    seconds = raw["duration_us"] / 1e6
    counters = raw["counters"]
    socket_errors = sum(raw["socket_errors"].values())
    latency = raw["latency_us"]
    return {
        "duration_s": duration_s,
        "requests": requests,
        "elapsed_s": seconds,
        "rps": requests / seconds if seconds else 0.0,
        "latency_ms": {name: (value / 1000 if value is not None else None) for name, value in latency.items()},
        "errors": counters["non2xx"] + socket_errors,
        "non2xx": counters["non2xx"],
        "socket_errors": raw["socket_errors"],
        "counters": counters,
        "server_cpu_s": server_cpu,
        "server_cpu_us_per_request": server_cpu * 1e6 / requests if requests else None,
        "client_cpu_s": client_cpu,
        "other_cpu_s": max(0.0, machine - server_cpu - client_cpu),
        "server_rss_bytes": rss,
        "bytes_received": raw["bytes"],
    }
