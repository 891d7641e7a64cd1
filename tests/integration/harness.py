"""Integration test harness: starts the real `sless up` on a free loopback port with a
temporary data dir (or in memory), waits for its "ready" line (no fixed sleeps), and hands out
real clients (boto3, the aws CLI, plain HTTP) pointed at it.

Every test module runs as one ctest test: `python3 tests/integration/test_x.py`. SLESS_BIN names
the binary (ctest sets it; default build/sless).
"""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.error
import urllib.request

import boto3
import botocore.config
import botocore.exceptions

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SLESS_BIN = os.environ.get("SLESS_BIN") or os.path.join(ROOT, "build", "sless")
ACCESS_KEY = "AKIDSLESSTEST"
SECRET_KEY = "sless-secret"
REGION = "us-east-1"

_ENDPOINT_RE = re.compile(r"listening on (http://[^ ]+)")


class Daemon:
    """One `sless up` process. Use as a context manager or call start()/stop()."""

    def __init__(self, in_memory=False, data_dir=None, extra_args=(), env=None, log_level="warn"):
        self.in_memory = in_memory
        self._own_dir = data_dir is None and not in_memory
        self.data_dir = data_dir or (None if in_memory else tempfile.mkdtemp(prefix="sless-test-"))
        self.extra_args = list(extra_args)
        self.env = env
        self.log_level = log_level
        self.proc = None
        self.endpoint = None
        self.port = None
        self.lines = []          # stdout lines after ready
        self.stderr_lines = []

    # -- lifecycle -------------------------------------------------------------------------

    def command(self):
        cmd = [SLESS_BIN, "up", "--port", "0", "--log-level", self.log_level]
        cmd += ["--in-memory"] if self.in_memory else ["--data-dir", self.data_dir]
        return cmd + self.extra_args

    def start(self, timeout=20):
        env = dict(os.environ)
        if self.env:
            env.update(self.env)
        self.proc = subprocess.Popen(self.command(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     stdin=subprocess.DEVNULL, text=True, env=env)
        threading.Thread(target=self._pump_stderr, daemon=True).start()
        deadline = time.monotonic() + timeout
        ready = threading.Event()
        failure = []

        def read_stdout():
            for line in self.proc.stdout:
                line = line.rstrip("\n")
                m = _ENDPOINT_RE.search(line)
                if m:
                    self.endpoint = m.group(1)
                    self.port = int(self.endpoint.rsplit(":", 1)[1])
                elif line == "ready":
                    ready.set()
                else:
                    self.lines.append(line)
            if not ready.is_set():
                failure.append("exited")
                ready.set()

        threading.Thread(target=read_stdout, daemon=True).start()
        if not ready.wait(max(0.0, deadline - time.monotonic())) or failure or not self.endpoint:
            self.kill()
            raise RuntimeError("sless did not become ready: " + "\n".join(self.stderr_lines[-20:]))
        return self

    def _pump_stderr(self):
        for line in self.proc.stderr:
            self.stderr_lines.append(line.rstrip("\n"))

    def stop(self, timeout=15):
        """SIGTERM and wait; returns the exit code."""
        if not self.proc:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode

    def kill(self):
        """SIGKILL (as `kill -9`), for crash-durability tests."""
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def cleanup(self):
        self.stop()
        if self._own_dir and self.data_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.cleanup()

    # -- clients ---------------------------------------------------------------------------

    def client(self, service, access_key=ACCESS_KEY, region=REGION, validate=True, **config):
        cfg = botocore.config.Config(retries={"max_attempts": 1, "mode": "standard"},
                                     parameter_validation=validate, **config)
        return boto3.client(service, endpoint_url=self.endpoint, region_name=region,
                            aws_access_key_id=access_key, aws_secret_access_key=SECRET_KEY, config=cfg)

    def resource(self, service, **kw):
        return boto3.resource(service, endpoint_url=self.endpoint, region_name=REGION,
                              aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY, **kw)

    def aws(self, *args, check=True, input=None):
        """Runs the aws CLI against the daemon; returns parsed JSON output (or text)."""
        env = dict(os.environ, AWS_ACCESS_KEY_ID=ACCESS_KEY, AWS_SECRET_ACCESS_KEY=SECRET_KEY,
                   AWS_DEFAULT_REGION=REGION, AWS_PAGER="", AWS_MAX_ATTEMPTS="1")
        env.pop("AWS_PROFILE", None)
        proc = subprocess.run(["aws", "--endpoint-url", self.endpoint, "--output", "json", *args],
                              capture_output=True, text=True, env=env, input=input, timeout=60)
        if check and proc.returncode != 0:
            raise AssertionError(f"aws {' '.join(args)} failed ({proc.returncode}): {proc.stderr}")
        if not check:
            return proc
        out = proc.stdout.strip()
        try:
            return json.loads(out) if out else None
        except ValueError:
            return out

    def http(self, method, path, body=None, headers=None, timeout=10):
        """A plain HTTP request; returns (status, headers dict (lower-case names), body bytes)."""
        data = body.encode() if isinstance(body, str) else body
        req = urllib.request.Request(self.endpoint + path, data=data, method=method, headers=headers or {})
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                return resp.status, {k.lower(): v for k, v in resp.headers.items()}, resp.read()
        except urllib.error.HTTPError as e:
            return e.code, {k.lower(): v for k, v in e.headers.items()}, e.read()


def wait_for(predicate, timeout=10.0, interval=0.01, message="condition"):
    """Polls predicate() until it returns a truthy value or the deadline passes."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {message}")
        time.sleep(interval)


def client_error(fn, *args, **kwargs):
    """The botocore ClientError that fn(*args, **kwargs) raises; fails the test when it raises none."""
    try:
        fn(*args, **kwargs)
    except botocore.exceptions.ClientError as e:
        return e
    raise AssertionError("expected a ClientError")


def main():
    """Runs the calling module's tests; exits non-zero on failure (for ctest)."""
    if not os.path.exists(SLESS_BIN):
        print(f"sless binary not found at {SLESS_BIN}; build first", file=sys.stderr)
        sys.exit(2)
    unittest.main(module="__main__", verbosity=2)
