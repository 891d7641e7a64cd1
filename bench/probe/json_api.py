"""A bare client of the AWS JSON protocols for the probes: one keep-alive http.client connection, a fake SigV4
header (sless verifies no signature), the operation in X-Amz-Target. Kept minimal so that the client's own cost
stays small next to the daemon's."""
import http.client
import json


class JsonApi:
    def __init__(self, port, service, target_prefix, version):
        self.conn = http.client.HTTPConnection("127.0.0.1", port)
        self.prefix = target_prefix
        self.headers = {
            "Content-Type": "application/x-amz-json-" + version,
            "Authorization": f"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/us-east-1/{service}/aws4_request, "
                             "SignedHeaders=host, Signature=" + "0" * 64,
        }

    def exchange(self, op, body):
        """The answer's status and bytes, read whole (not parsed)."""
        self.conn.request("POST", "/", json.dumps(body), dict(self.headers, **{"X-Amz-Target": self.prefix + op}))
        res = self.conn.getresponse()
        return res.status, res.read()

    def call(self, op, body):
        """The parsed answer; anything but a 200 raises."""
        status, data = self.exchange(op, body)
        if status != 200:
            raise RuntimeError(f"{op}: {status} {data[:300]!r}")
        return json.loads(data) if data else {}


def daemon_port(proc):
    """The port of a `sless up --port 0` child, from its first line of output."""
    return int(proc.stdout.readline().split("http://127.0.0.1:")[1].split()[0])
