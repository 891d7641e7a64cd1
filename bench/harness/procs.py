"""Servers the runner starts, and what /proc says about them.

A Server is launched in a process group of its own (start_new_session), so that it, and whatever it forks (nginx
workers, a wrapper's child), can be stopped by that group's id and never by name. CPU time and RSS are summed over
the server's whole process tree, read from /proc. Everything here runs in the runner's main thread, except the
stdout reader of a server that announces itself on stdout (sless).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Callable

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
POLL_INTERVAL_S = 0.001  # ready-time resolution
STOP_GRACE_S = 10.0


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _stat_fields(pid: int) -> list[str] | None:
    """Fields of /proc/<pid>/stat from field 3 (state) on; the command name may hold spaces."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rindex(")") + 2:].split()


def _all_processes() -> dict[int, tuple[int, int]]:
    """pid -> (parent pid, process group) for every live process."""
    table = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            fields = _stat_fields(int(entry))
            if fields:
                table[int(entry)] = (int(fields[1]), int(fields[2]))
    return table


def process_tree(root: int) -> list[int]:
    """root and all its live descendants."""
    children: dict[int, list[int]] = {}
    for pid, (parent, _group) in _all_processes().items():
        children.setdefault(parent, []).append(pid)
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(children.get(pid, []))
    return tree


def tree_cpu_seconds(root: int) -> float:
    """User + system CPU of the tree, including children it has already reaped."""
    ticks = 0
    for pid in process_tree(root):
        fields = _stat_fields(pid)
        if fields:
            # utime, stime, cutime, cstime are stat fields 14-17.
            ticks += sum(int(value) for value in fields[11:15])
    return ticks / CLOCK_TICKS


def tree_rss_bytes(root: int) -> int:
    """Sum of VmRSS over the tree (shared pages of forked workers count once per process)."""
    total = 0
    for pid in process_tree(root):
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
        except OSError:
            continue
    return total


def machine_busy_seconds() -> float:
    """CPU seconds the whole machine has spent on processes (user + nice + system) or lost to the hypervisor
    (steal), all cores, from /proc/stat. Interrupt and softirq time (loopback traffic) is left out, as it is from
    the per-process times this is compared with."""
    fields = [int(value) for value in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    user, nice, system, steal = fields[0], fields[1], fields[2], fields[7]
    return (user + nice + system + steal) / CLOCK_TICKS


def answers_http(port: int, timeout_s: float = 2.0, path: str = "/") -> bool:
    """True once something on 127.0.0.1:port answers a GET of path with an HTTP status line."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout_s) as conn:
            conn.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode())
            return conn.recv(5) == b"HTTP/"
    except OSError:
        return False


def run_bounded(command: list[str], timeout_s: float) -> tuple[int | None, str]:
    """Runs a short command in its own process group; (exit code, stdout + stderr), or (None, output so far)
    when it ran out of time and its whole group was killed."""
    with tempfile.TemporaryFile() as output:
        try:
            child = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        except OSError as error:
            return 127, str(error)
        try:
            code = child.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            _signal_group(child.pid, signal.SIGKILL)
            child.wait()
            code = None
        output.seek(0)
        return code, output.read().decode(errors="replace").strip()


class ServerFailed(RuntimeError):
    """The server exited, or did not answer in time."""


class Server:
    """One started server process (group). Call stop() in a finally block."""

    def __init__(self, name: str, command: list[str], port: int, log_path: Path, cwd: Path | None = None,
                 watch_stdout: bool = False):
        self.name = name
        self.port = port
        self.log_path = log_path
        self.stdout_lines: list[tuple[float, str]] = []  # (seconds since start, line), when watch_stdout
        self._log = open(log_path, "wb")
        self.started_at = time.monotonic()
        try:
            self.process = subprocess.Popen(
                command, cwd=cwd, stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE if watch_stdout else self._log, stderr=self._log,
                start_new_session=True)
        except OSError:
            self._log.close()
            raise
        self._reader = None
        if watch_stdout:
            self._reader = threading.Thread(target=self._read_stdout, daemon=True)
            self._reader.start()

    @property
    def pid(self) -> int:
        return self.process.pid

    def _read_stdout(self) -> None:
        for raw in self.process.stdout:
            self.stdout_lines.append((time.monotonic() - self.started_at, raw.decode(errors="replace").rstrip()))
            if self._log.closed:  # stop() gave up waiting for this thread
                return
            self._log.write(raw)
            self._log.flush()

    def log_tail(self, lines: int = 5) -> str:
        """The last lines the server printed, joined into one line for reports."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return " | ".join(text.strip().splitlines()[-lines:]) or "(no output)"

    def wait_ready(self, timeout_s: float, path: str = "/") -> float:
        """Polls every millisecond until the server answers a GET of path; returns seconds since start."""
        deadline = self.started_at + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ServerFailed(f"{self.name} exited with code {self.process.returncode} before answering; "
                                   f"last output: {self.log_tail()}")
            if answers_http(self.port, path=path):
                return time.monotonic() - self.started_at
            time.sleep(POLL_INTERVAL_S)
        raise ServerFailed(f"{self.name} did not answer HTTP on port {self.port} within {timeout_s:.0f} s")

    def wait_for_line(self, matches: Callable[[str], bool], what: str, timeout_s: float) -> float:
        """Waits until a stdout line satisfies matches (watch_stdout servers); returns seconds since start."""
        deadline = self.started_at + timeout_s
        while time.monotonic() < deadline:
            for at, line in list(self.stdout_lines):
                if matches(line):
                    return at
            if self.process.poll() is not None and not (self._reader and self._reader.is_alive()):
                raise ServerFailed(f"{self.name} exited with code {self.process.returncode} before printing "
                                   f"{what}; last output: {self.log_tail()}")
            time.sleep(0.005)
        raise ServerFailed(f"{self.name} did not print {what} within {timeout_s:.0f} s")

    def cpu_seconds(self) -> float:
        return tree_cpu_seconds(self.pid)

    def rss_bytes(self) -> int:
        return tree_rss_bytes(self.pid)

    def stop(self) -> None:
        """SIGTERM to the group, SIGKILL to whatever of the group is left after the grace period."""
        group = self.pid  # the group id of a session leader is its pid
        if self.process.poll() is None:
            _signal_group(group, signal.SIGTERM)
            try:
                self.process.wait(timeout=STOP_GRACE_S)
            except subprocess.TimeoutExpired:
                pass
        if any(pgrp == group for _parent, pgrp in _all_processes().values()):
            _signal_group(group, signal.SIGKILL)
        try:
            self.process.wait(timeout=STOP_GRACE_S)
        except subprocess.TimeoutExpired:
            pass
        if self._reader:
            self._reader.join(timeout=2)
        self._log.close()


def _signal_group(group: int, sig: int) -> None:
    try:
        os.killpg(group, sig)
    except ProcessLookupError:
        pass
