"""S3 through the aws CLI: `aws s3 mb/cp/sync/ls/rm --recursive/rb` (multipart above the CLI's
threshold, default checksums) and `aws s3api` calls, against one durable daemon."""
import filecmp
import os
import shutil
import tempfile
import time
import unittest

import harness
from harness import Daemon


class Cli(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.d = Daemon().start()
        cls.tmp = tempfile.mkdtemp(prefix="sless-s3-cli-")

    @classmethod
    def tearDownClass(cls):
        cls.d.cleanup()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def path(self, *parts):
        p = os.path.join(self.tmp, *parts)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        return p

    def test_sync_ls_rm(self):
        d = self.d
        d.aws("s3", "mb", "s3://cli-bucket")
        with open(self.path("site", "index.html"), "w") as f:
            f.write("<h1>hello</h1>")
        big = self.path("site", "media", "video.bin")
        with open(big, "wb") as f:
            f.write(os.urandom(9 * 1024 * 1024))  # above the CLI's 8 MiB multipart threshold
        # S3's LastModified has whole seconds, and the CLI re-uploads a file whose mtime is later than
        # its object's (as with AWS): date the files a little back so that the second sync is a no-op.
        past = time.time() - 10
        for p in (self.path("site", "index.html"), big):
            os.utime(p, (past, past))
        d.aws("s3", "sync", self.path("site"), "s3://cli-bucket/site")
        listing = d.aws("s3", "ls", "--recursive", "s3://cli-bucket/")
        self.assertIn("site/media/video.bin", listing)
        self.assertIn("site/index.html", listing)
        # A second sync uploads nothing; a sync down brings back the same bytes.
        self.assertFalse(d.aws("s3", "sync", self.path("site"), "s3://cli-bucket/site"))
        dst = self.path("copy")
        d.aws("s3", "cp", "--recursive", "s3://cli-bucket/site", dst)
        self.assertTrue(filecmp.cmp(big, os.path.join(dst, "media", "video.bin"), shallow=False))
        with open(os.path.join(dst, "index.html")) as f:
            self.assertEqual(f.read(), "<h1>hello</h1>")
        d.aws("s3", "rm", "--recursive", "s3://cli-bucket/site")
        d.aws("s3", "rb", "s3://cli-bucket")  # fails unless rm left it empty

    def test_s3api(self):
        d = self.d
        d.aws("s3api", "create-bucket", "--bucket", "cli-api")
        body = self.path("body.txt")
        with open(body, "w") as f:
            f.write("api body")
        put = d.aws("s3api", "put-object", "--bucket", "cli-api", "--key", "k", "--body", body,
                    "--metadata", "owner=ops", "--content-type", "text/plain")
        self.assertTrue(put["ETag"])
        got = d.aws("s3api", "get-object", "--bucket", "cli-api", "--key", "k", self.path("out.txt"))
        self.assertEqual(got["Metadata"], {"owner": "ops"})
        self.assertEqual(got["ContentType"], "text/plain")
        with open(self.path("out.txt")) as f:
            self.assertEqual(f.read(), "api body")
        proc = d.aws("s3api", "get-object", "--bucket", "cli-api", "--key", "missing", self.path("x"), check=False)
        self.assertIn("NoSuchKey", proc.stderr)
        url = d.aws("s3", "presign", "s3://cli-api/k", "--expires-in", "60")
        status, _, data = d.http("GET", url[len(d.endpoint):])
        self.assertEqual((status, data), (200, b"api body"))


if __name__ == "__main__":
    harness.main()
