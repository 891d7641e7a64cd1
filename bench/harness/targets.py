"""The servers one run compares: sless, moto_server, the npm single-service peers and nginx.

A Target knows whether it can run here (and why not), how to start itself on a given port inside a temporary
directory, which access key its clients must use, and its version. The runner owns the temporary directory and
stops the returned Server.
"""

from __future__ import annotations

import grp
import json
import os
import pwd
import shutil
from dataclasses import dataclass
from pathlib import Path

from .procs import Server, run_bounded

BENCH_DIR = Path(__file__).resolve().parent.parent
REPO_DIR = BENCH_DIR.parent
PEERS_DIR = BENCH_DIR / "peers"
NPM_INSTALL_TIMEOUT_S = 600


def command_output(command: list[str], timeout_s: float = 15) -> str:
    """The first line a short command prints (on stdout or stderr, whatever its exit code), or "" when it cannot
    run or does not end in time. For version banners: `wrk -v` exits 1."""
    code, output = run_bounded(command, timeout_s)
    if code is None or code == 127 or not output:
        return ""
    return output.splitlines()[0]


@dataclass
class Options:
    """What the command line says about the targets."""
    sless_bin: str | None


class Target:
    name = ""
    description = ""
    access_key = "AKIDEXAMPLE"
    ready_timeout_s = 60.0
    # What the start-up probe GETs. "/" for the others; sless's health check for sless, since its
    # "/" is S3's ListBuckets, which would load S3 into the "idle" daemon being measured.
    ready_path = "/"

    def unavailable_reason(self, options: Options) -> str | None:
        """None when the target can be started, else one line saying why not and what to do."""
        raise NotImplementedError

    def start(self, port: int, workdir: Path, options: Options) -> Server:
        raise NotImplementedError

    def wait_started(self, server: Server) -> dict:
        """Blocks until the server is usable; returns extra start-up facts for the report."""
        return {}

    def version(self, options: Options) -> str:
        return ""


class Sless(Target):
    name = "sless"
    description = "sless up (durable mode, --log-level warn)"
    ready_path = "/_sless/health"

    @staticmethod
    def binary(options: Options) -> Path | None:
        candidates = [options.sless_bin] if options.sless_bin else ["build/sless", "build/emulator/sless"]
        for candidate in candidates:
            path = Path(candidate)
            path = path if path.is_absolute() else REPO_DIR / path
            if path.is_file() and os.access(path, os.X_OK):
                return path
        return None

    def unavailable_reason(self, options: Options) -> str | None:
        if self.binary(options) is None:
            where = options.sless_bin or "build/sless or build/emulator/sless"
            return f"no executable sless binary at {where} (build it, or pass --sless-bin PATH)"
        return None

    def start(self, port: int, workdir: Path, options: Options) -> Server:
        data_dir = workdir / "data"
        data_dir.mkdir()
        command = [str(self.binary(options)), "up", "--port", str(port), "--data-dir", str(data_dir),
                   "--log-level", "warn"]
        return Server(self.name, command, port, workdir / "server.log", watch_stdout=True)

    def wait_started(self, server: Server) -> dict:
        # sless prints its URL, then a line "ready"; both must appear, and the port must answer.
        url = f"http://127.0.0.1:{server.port}"
        url_s = server.wait_for_line(lambda line: url in line, url, self.ready_timeout_s)
        ready_line_s = server.wait_for_line(lambda line: line.strip() == "ready", '"ready"', self.ready_timeout_s)
        return {"url_line_ms": url_s * 1000, "ready_line_ms": ready_line_s * 1000}

    def version(self, options: Options) -> str:
        binary = self.binary(options)
        return command_output([str(binary), "--version"]) if binary else ""


class Moto(Target):
    name = "moto"
    description = "moto_server (Flask/Werkzeug, threaded)"

    @staticmethod
    def script() -> str | None:
        """The real moto_server script: a pyenv shim would add its own start-up to the ready time."""
        found = shutil.which("moto_server")
        if found and "/shims/" in found and shutil.which("pyenv"):
            resolved = command_output(["pyenv", "which", "moto_server"])
            if resolved and Path(resolved).is_file():
                return resolved
        return found

    def unavailable_reason(self, options: Options) -> str | None:
        if self.script() is None:
            return "moto_server is not on PATH (pip install 'moto[server]')"
        return None

    def start(self, port: int, workdir: Path, options: Options) -> Server:
        command = [self.script(), "-H", "127.0.0.1", "-p", str(port)]
        return Server(self.name, command, port, workdir / "server.log", cwd=workdir)

    def version(self, options: Options) -> str:
        script = self.script()
        interpreter = Path(script).read_text(errors="replace").splitlines()[0].removeprefix("#!").split()
        text = command_output(interpreter + ["-c", "import moto; print(moto.__version__)"])
        return f"moto {text}" if text else ""


class NodePeer(Target):
    """dynalite, kinesalite or s3rver from bench/peers, started by bench/peers/serve.js."""

    def __init__(self, name: str, description: str, access_key: str = "AKIDEXAMPLE", needs_dir: bool = False):
        self.name = name
        self.description = description
        self.access_key = access_key
        self.needs_dir = needs_dir

    def unavailable_reason(self, options: Options) -> str | None:
        if shutil.which("node") is None:
            return "node is not on PATH (apt-get install nodejs npm)"
        return ensure_peers_installed(self.name)

    def start(self, port: int, workdir: Path, options: Options) -> Server:
        command = [shutil.which("node"), str(PEERS_DIR / "serve.js"), self.name, str(port)]
        if self.needs_dir:
            (workdir / "data").mkdir()
            command.append(str(workdir / "data"))
        return Server(self.name, command, port, workdir / "server.log", cwd=workdir)

    def version(self, options: Options) -> str:
        package = PEERS_DIR / "node_modules" / self.name / "package.json"
        node = command_output(["node", "--version"])
        return f"{self.name} {json.loads(package.read_text())['version']} on node {node}"


def ensure_peers_installed(package: str) -> str | None:
    """Runs `npm ci` in bench/peers when its node_modules lacks package; returns a reason on failure."""
    if (PEERS_DIR / "node_modules" / package / "package.json").is_file():
        return None
    if shutil.which("npm") is None:
        return "npm is not on PATH (apt-get install npm), so bench/peers cannot be installed"
    print(f"  installing the npm peers: npm ci --prefix {PEERS_DIR}", flush=True)
    code, output = run_bounded(["npm", "ci", "--prefix", str(PEERS_DIR), "--no-audit", "--no-fund"],
                               NPM_INSTALL_TIMEOUT_S)
    if code is None:
        return f"npm ci in {PEERS_DIR} did not finish within {NPM_INSTALL_TIMEOUT_S} s"
    if code != 0:
        return f"npm ci in {PEERS_DIR} failed: {output[-400:]}"
    if not (PEERS_DIR / "node_modules" / package / "package.json").is_file():
        return f"npm ci in {PEERS_DIR} did not install {package}"
    return None


class Nginx(Target):
    name = "nginx"
    description = "nginx, fixed 200 (one worker)"

    @staticmethod
    def binary() -> str | None:
        # /usr/sbin is not on every user's PATH.
        return shutil.which("nginx", path=os.environ.get("PATH", "") + os.pathsep + "/usr/sbin")

    def unavailable_reason(self, options: Options) -> str | None:
        if self.binary() is None:
            return "nginx is not installed (apt-get install nginx-light)"
        return None

    def start(self, port: int, workdir: Path, options: Options) -> Server:
        config = workdir / "nginx.conf"
        config.write_text(nginx_config(port, workdir))
        command = [self.binary(), "-p", str(workdir), "-c", str(config), "-e", str(workdir / "error.log")]
        return Server(self.name, command, port, workdir / "server.log", cwd=workdir)

    def version(self, options: Options) -> str:
        return command_output([self.binary(), "-v"]).replace("nginx version: ", "")


def nginx_config(port: int, workdir: Path) -> str:
    # One worker: the machine has 2 cores and wrk needs the other (see bench/README.md). As root, nginx would
    # hand its worker to "nobody"; "user" keeps it with the current user instead.
    user_line = ""
    if os.geteuid() == 0:
        user = pwd.getpwuid(os.geteuid()).pw_name
        group = grp.getgrgid(os.getegid()).gr_name
        user_line = f"user {user} {group};"
    return f"""{user_line}
daemon off;
worker_processes 1;
pid {workdir}/nginx.pid;
error_log {workdir}/error.log warn;
events {{
    worker_connections 4096;
}}
http {{
    access_log off;
    keepalive_requests 1000000;
    client_body_temp_path {workdir}/client_body;
    proxy_temp_path {workdir}/proxy;
    fastcgi_temp_path {workdir}/fastcgi;
    uwsgi_temp_path {workdir}/uwsgi;
    scgi_temp_path {workdir}/scgi;
    server {{
        listen 127.0.0.1:{port};
        location / {{
            default_type text/plain;
            return 200 "ok";
        }}
    }}
}}
"""


TARGETS: dict[str, Target] = {target.name: target for target in (
    Sless(),
    Moto(),
    NodePeer("dynalite", "dynalite (DynamoDB, in memory)"),
    NodePeer("kinesalite", "kinesalite (Kinesis, in memory)"),
    NodePeer("s3rver", "s3rver (S3, files in a temp dir)", access_key="S3RVER", needs_dir=True),
    Nginx(),
)}
