"""Kinesis through the AWS SDK for JavaScript v3 (@aws-sdk/client-kinesis, pinned in
tests/integration/js/package.json): waiters, records, ordering under concurrent producers and
errors, plus the application/x-amz-cbor-1.1 wire format with @smithy/core's CBOR codec. Skips
with a message when node/npm are missing or `npm ci` cannot run."""
import os
import shutil
import subprocess
import unittest

import harness
from harness import Daemon

JS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "js")


def ensure_node_modules():
    """Returns None when the SDK is installed (installing it if needed), else why it is not."""
    if not shutil.which("node") or not shutil.which("npm"):
        return "node and npm are not installed"
    if os.path.isdir(os.path.join(JS_DIR, "node_modules", "@aws-sdk", "client-kinesis")):
        return None
    proc = subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=JS_DIR, capture_output=True, text=True,
                          timeout=600)
    if proc.returncode != 0:
        return "npm ci failed: " + proc.stderr.strip()[-500:]
    return None


class KinesisJsSdk(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.skip_reason = ensure_node_modules()
        if cls.skip_reason:
            return
        cls.d = Daemon(in_memory=True).start()

    @classmethod
    def tearDownClass(cls):
        if not cls.skip_reason:
            cls.d.cleanup()

    def test_js_sdk_and_cbor(self):
        if self.skip_reason:
            self.skipTest(self.skip_reason)
        proc = subprocess.run(["node", "--no-warnings", "kinesis.mjs", self.d.endpoint], cwd=JS_DIR,
                              capture_output=True, text=True, timeout=120)
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        checks = [line.split()[1] for line in proc.stdout.splitlines() if line.startswith("ok ")]
        self.assertEqual(checks, ["waiter", "put-get", "ordering", "errors", "http1", "cbor-records", "cbor-errors"])
        self.assertIn("all ok", proc.stdout)


if __name__ == "__main__":
    harness.main()
