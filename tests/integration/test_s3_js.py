"""S3 through the AWS SDK for JavaScript v3 (@aws-sdk/client-s3, @aws-sdk/lib-storage) with its
default checksums: CRC32 headers, aws-chunked streams with trailing checksums, CRC32C / CRC64NVME /
SHA256, response checksum validation, and a lib-storage multipart Upload. Skips cleanly when node or
`npm ci` is unavailable."""
import json
import os
import shutil
import subprocess
import unittest

import harness
from harness import Daemon

JS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "js")


def ensure_packages():
    """Returns None when the JS SDK is ready, else why not."""
    if not shutil.which("node") or not shutil.which("npm"):
        return "node/npm not installed"
    if os.path.isdir(os.path.join(JS_DIR, "node_modules", "@aws-sdk", "client-s3")) and \
            os.path.isdir(os.path.join(JS_DIR, "node_modules", "@aws-sdk", "lib-storage")):
        return None
    proc = subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=JS_DIR, capture_output=True, text=True,
                          timeout=300)
    if proc.returncode != 0:
        return "npm ci failed: " + proc.stderr.strip()[-300:]
    return None


class JsSdk(unittest.TestCase):
    def test_js_sdk_v3(self):
        why = ensure_packages()
        if why:
            self.skipTest(why)
        with Daemon(in_memory=True) as d:
            proc = subprocess.run(["node", "s3_sdk.mjs", d.endpoint], cwd=JS_DIR, capture_output=True, text=True,
                                  timeout=120)
            self.assertEqual(proc.returncode, 0, proc.stderr)
            out = json.loads(proc.stdout.strip().splitlines()[-1])
        self.assertEqual(out["put_etag"], '"%s"' % __import__("hashlib").md5(b"hello from js").hexdigest())
        self.assertTrue(out["put_crc32"])
        self.assertTrue(out["stream_etag_ok"])
        self.assertTrue(out["stream_intact"])
        for alg in ["CRC32C", "CRC64NVME", "SHA256"]:
            r = out["alg_" + alg]
            self.assertTrue(r["put"], alg)
            self.assertEqual(r["put"], r["get"], alg)
            self.assertTrue(r["intact"], alg)
        self.assertTrue(out["upload_etag"].endswith('-3"'))
        self.assertEqual(out["upload_size"], 12 * 1024 * 1024 + 11)
        self.assertEqual(out["upload_type"], "video/mp4")
        self.assertTrue(out["upload_intact"])
        self.assertIn("copy.txt", out["keys"])
        self.assertEqual(out["prefixes"], ["media/"])
        self.assertEqual(out["deleted"], ["copy.txt", "hello.txt"])
        self.assertEqual(out["missing"], "NoSuchKey")


if __name__ == "__main__":
    harness.main()
