"""S3 durability and memory: objects (inline, file-backed, multipart, versioned) and bucket
configuration survive `kill -9` and a restart; an upload cut off by a crash leaves neither an object
nor a temporary file; a 1 GiB upload and download keep the daemon's peak RSS under 64 MiB."""
import http.client
import os
import socket
import unittest

import harness
from harness import Daemon


def peak_rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise AssertionError("no VmHWM")


def files_under(path):
    out = []
    for root, _, files in os.walk(path):
        out += [os.path.join(root, f) for f in files]
    return out


class Durability(unittest.TestCase):
    def test_kill_9_keeps_objects(self):
        d = Daemon().start()
        try:
            s3 = d.client("s3")
            s3.create_bucket(Bucket="durable")
            small = b"small body"
            large = os.urandom(700 * 1024)
            s3.put_object(Bucket="durable", Key="small", Body=small, Metadata={"m": "1"})
            s3.put_object(Bucket="durable", Key="dir/large", Body=large)
            up = s3.create_multipart_upload(Bucket="durable", Key="multi")["UploadId"]
            p1 = os.urandom(5 * 1024 * 1024)
            e1 = s3.upload_part(Bucket="durable", Key="multi", UploadId=up, PartNumber=1, Body=p1)["ETag"]
            e2 = s3.upload_part(Bucket="durable", Key="multi", UploadId=up, PartNumber=2, Body=b"end")["ETag"]
            s3.complete_multipart_upload(Bucket="durable", Key="multi", UploadId=up, MultipartUpload={
                "Parts": [{"PartNumber": 1, "ETag": e1}, {"PartNumber": 2, "ETag": e2}]})
            pending = s3.create_multipart_upload(Bucket="durable", Key="pending")["UploadId"]
            s3.upload_part(Bucket="durable", Key="pending", UploadId=pending, PartNumber=1, Body=b"part")
            s3.create_bucket(Bucket="durable-versions")
            s3.put_bucket_versioning(Bucket="durable-versions", VersioningConfiguration={"Status": "Enabled"})
            v1 = s3.put_object(Bucket="durable-versions", Key="k", Body=b"one")["VersionId"]
            s3.put_object(Bucket="durable-versions", Key="k", Body=b"two")
            s3.put_bucket_cors(Bucket="durable", CORSConfiguration={"CORSRules": [
                {"AllowedOrigins": ["*"], "AllowedMethods": ["GET"]}]})
            d.kill()
            d2 = Daemon(data_dir=d.data_dir).start()
            try:
                s3 = d2.client("s3")
                g = s3.get_object(Bucket="durable", Key="small")
                self.assertEqual(g["Body"].read(), small)
                self.assertEqual(g["Metadata"], {"m": "1"})
                self.assertEqual(s3.get_object(Bucket="durable", Key="dir/large")["Body"].read(), large)
                self.assertEqual(s3.get_object(Bucket="durable", Key="multi")["Body"].read(), p1 + b"end")
                self.assertEqual(s3.get_object(Bucket="durable-versions", Key="k")["Body"].read(), b"two")
                self.assertEqual(s3.get_object(Bucket="durable-versions", Key="k", VersionId=v1)["Body"].read(), b"one")
                parts = s3.list_parts(Bucket="durable", Key="pending", UploadId=pending)["Parts"]
                self.assertEqual([p["Size"] for p in parts], [4])
                self.assertEqual(s3.get_bucket_cors(Bucket="durable")["CORSRules"][0]["AllowedMethods"], ["GET"])
                # Every body lives under the data dir's files folder, named by id, never by key.
                bodies = files_under(os.path.join(d.data_dir, "files", "s3"))
                self.assertTrue(bodies)
                self.assertFalse(any("large" in p or "multi" in p for p in bodies))
                # Deleting objects removes their files.
                s3.delete_object(Bucket="durable", Key="dir/large")
                s3.delete_object(Bucket="durable", Key="multi")
                s3.abort_multipart_upload(Bucket="durable", Key="pending", UploadId=pending)
                self.assertEqual(len(files_under(os.path.join(d.data_dir, "files", "s3", "b"))), len(bodies) - 4)
            finally:
                d2.cleanup()
        finally:
            d.cleanup()

    def test_unreferenced_bodies_are_swept_at_start(self):
        d = Daemon().start()
        try:
            s3 = d.client("s3")
            s3.create_bucket(Bucket="sweep")
            s3.put_object(Bucket="sweep", Key="kept", Body=os.urandom(100 * 1024))
            d.stop()
            folder = os.path.join(d.data_dir, "files", "s3", "b", "ab")
            os.makedirs(folder, exist_ok=True)
            orphan = os.path.join(folder, "ab" + "0" * 30)
            with open(orphan, "wb") as f:
                f.write(b"left by a crash between rename and record")
            os.utime(orphan, (1, 1))
            d2 = Daemon(data_dir=d.data_dir).start()
            try:
                harness.wait_for(lambda: not os.path.exists(orphan), message="the orphan to be swept")
                self.assertEqual(len(d2.client("s3").get_object(Bucket="sweep", Key="kept")["Body"].read()), 100 * 1024)
            finally:
                d2.cleanup()
        finally:
            d.cleanup()

    def test_crash_mid_upload_leaves_nothing(self):
        d = Daemon().start()
        try:
            s3 = d.client("s3")
            s3.create_bucket(Bucket="torn")
            s3.put_object(Bucket="torn", Key="obj", Body=b"old version")
            sock = socket.create_connection(("127.0.0.1", d.port))
            sock.sendall(b"PUT /torn/obj HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 10485760\r\n"
                         b"x-amz-content-sha256: UNSIGNED-PAYLOAD\r\n\r\n" + b"x" * (2 * 1024 * 1024))
            tmp = os.path.join(d.data_dir, "files", "s3", "tmp")
            harness.wait_for(lambda: files_under(tmp) and os.path.getsize(files_under(tmp)[0]) > 0,
                             message="the upload to reach a temporary file")
            d.kill()
            sock.close()
            d2 = Daemon(data_dir=d.data_dir).start()
            try:
                s3 = d2.client("s3")
                self.assertEqual(s3.get_object(Bucket="torn", Key="obj")["Body"].read(), b"old version")
                self.assertEqual(files_under(tmp), [])
            finally:
                d2.cleanup()
        finally:
            d.cleanup()


class Memory(unittest.TestCase):
    def test_one_gib_round_trip_in_bounded_memory(self):
        d = Daemon().start()
        try:
            d.client("s3").create_bucket(Bucket="huge")
            size = 1 << 30
            block = os.urandom(1 << 20)
            conn = http.client.HTTPConnection("127.0.0.1", d.port, timeout=120)
            conn.putrequest("PUT", "/huge/one-gib")
            conn.putheader("Content-Length", str(size))
            conn.putheader("x-amz-content-sha256", "UNSIGNED-PAYLOAD")
            conn.endheaders()
            for _ in range(size // len(block)):
                conn.send(block)
            resp = conn.getresponse()
            self.assertEqual(resp.status, 200, resp.read())
            resp.read()
            conn.request("GET", "/huge/one-gib")
            resp = conn.getresponse()
            self.assertEqual(resp.status, 200)
            self.assertEqual(int(resp.getheader("Content-Length")), size)
            total = 0
            intact = True
            while True:
                chunk = resp.read(len(block))  # whole blocks: the body is `block` repeated
                if not chunk:
                    break
                intact = intact and chunk == block
                total += len(chunk)
            conn.close()
            self.assertEqual(total, size)
            self.assertTrue(intact, "the downloaded bytes differ from the uploaded ones")
            peak = peak_rss_kib(d.proc.pid)
            self.assertLess(peak, 64 * 1024, f"peak RSS {peak} KiB")
        finally:
            d.cleanup()


if __name__ == "__main__":
    harness.main()
