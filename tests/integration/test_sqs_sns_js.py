"""SQS and SNS through the AWS SDK for JavaScript v3 (which checks SQS MD5s itself). Skips
with a message when the SDK cannot be installed (`npm ci` in tests/integration/js)."""
import json
import os
import shutil
import subprocess
import unittest

import harness
from harness import Daemon

JS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "js")


def ensure_sdk():
    if os.path.isdir(os.path.join(JS_DIR, "node_modules", "@aws-sdk", "client-sqs")):
        return None
    if not shutil.which("npm") or not shutil.which("node"):
        return "node/npm not installed"
    proc = subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=JS_DIR, capture_output=True, text=True,
                          timeout=240)
    return None if proc.returncode == 0 else "npm ci failed: " + proc.stderr[-300:]


class JsSdk(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.skip = ensure_sdk()
        cls.d = None if cls.skip else Daemon(in_memory=True).start()

    @classmethod
    def tearDownClass(cls):
        if cls.d:
            cls.d.cleanup()

    def test_sqs_and_sns(self):
        if self.skip:
            self.skipTest(self.skip)
        proc = subprocess.run(["node", os.path.join(JS_DIR, "sqs_sns.mjs"), self.d.endpoint], capture_output=True,
                              text=True, timeout=60, cwd=JS_DIR)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        out = json.loads(proc.stdout.strip().splitlines()[-1])
        self.assertEqual(out["batch"], 2)
        self.assertEqual(out["bodies"], ["batch a", "batch b", "from js"])
        self.assertEqual(out["binary"], [1, 2, 3])
        self.assertEqual(out["deleted"], 3)
        self.assertEqual((out["fanned"], out["fannedAttr"]), ("via sns", "x"))
        self.assertEqual(out["error"], "QueueDoesNotExist")


if __name__ == "__main__":
    harness.main()
