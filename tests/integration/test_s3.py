"""S3 through boto3 and plain HTTP: buckets, objects (metadata, ranges, parts, conditions),
listings, copies, multipart uploads, versioning, checksums, presigned URLs (SigV4 and SigV2),
browser POST uploads, bucket CORS, lifecycle expiration, notification and policy configuration,
and S3's error shapes. One durable daemon (temporary data dir) for the module."""
import base64
import datetime
import hashlib
import io
import os
import urllib.parse
import unittest
import zlib

import boto3
import botocore.config
import botocore.exceptions
import requests

import harness
from harness import Daemon, client_error


def code(e):
    return e.response["Error"]["Code"]


def b64(raw):
    return base64.b64encode(raw).decode()


def crc32c(data):
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return (crc ^ 0xFFFFFFFF).to_bytes(4, "big")


DAEMON = None
COUNTER = [0]


def setUpModule():
    global DAEMON
    DAEMON = Daemon().start()  # the default, durable mode (bodies in files)


def tearDownModule():
    DAEMON.cleanup()


class S3Test(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.d = DAEMON
        cls.s3 = cls.d.client("s3")

    def bucket(self, **kw):
        COUNTER[0] += 1
        name = f"bucket-{self._testMethodName.replace('_', '-')[:40]}-{COUNTER[0]}"
        self.s3.create_bucket(Bucket=name, **kw)
        return name


class Buckets(S3Test):
    def test_create_list_head_delete(self):
        b = self.bucket()
        names = [x["Name"] for x in self.s3.list_buckets()["Buckets"]]
        self.assertIn(b, names)
        head = self.s3.head_bucket(Bucket=b)
        self.assertEqual(head["ResponseMetadata"]["HTTPHeaders"]["x-amz-bucket-region"], "us-east-1")
        self.assertIsNone(self.s3.get_bucket_location(Bucket=b)["LocationConstraint"])
        self.s3.put_object(Bucket=b, Key="k", Body=b"x")
        e = client_error(self.s3.delete_bucket, Bucket=b)
        self.assertEqual(code(e), "BucketNotEmpty")
        self.assertEqual(e.response["ResponseMetadata"]["HTTPStatusCode"], 409)
        self.s3.delete_object(Bucket=b, Key="k")
        self.s3.delete_bucket(Bucket=b)
        self.assertEqual(code(client_error(self.s3.head_bucket, Bucket=b)), "404")
        e = client_error(self.s3.get_object, Bucket=b, Key="k")
        self.assertEqual(code(e), "NoSuchBucket")
        self.assertEqual(e.response["Error"]["BucketName"], b)

    def test_location_constraint_and_owner_errors(self):
        eu = self.d.client("s3", region="eu-west-1")
        eu.create_bucket(Bucket="bucket-in-eu", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
        self.assertEqual(eu.get_bucket_location(Bucket="bucket-in-eu")["LocationConstraint"], "eu-west-1")
        e = client_error(eu.create_bucket, Bucket="bucket-in-eu",
                         CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
        self.assertEqual(code(e), "BucketAlreadyOwnedByYou")
        e = client_error(eu.create_bucket, Bucket="bucket-no-constraint")
        self.assertEqual(code(e), "IllegalLocationConstraintException")
        # us-east-1 answers 200 to its owner re-creating a bucket (legacy behaviour).
        b = self.bucket()
        self.s3.create_bucket(Bucket=b)
        other = self.d.client("s3", access_key="111122223333")
        self.assertEqual(code(client_error(other.create_bucket, Bucket=b)), "BucketAlreadyExists")
        self.assertNotIn(b, [x["Name"] for x in other.list_buckets()["Buckets"]])

    def test_invalid_bucket_names(self):
        for name in ["ab", "UpperCase", "has_underscore", "a..b", "192.168.1.1", "-start", "x" * 64]:
            e = client_error(self.s3.create_bucket, Bucket=name)
            self.assertEqual(code(e), "InvalidBucketName", name)

    def test_virtual_hosted_style(self):
        b = self.bucket()
        vh = self.d.client("s3", s3={"addressing_style": "virtual"},
                           endpoint_url=None) if False else None
        port = self.d.port
        r = requests.put(f"http://127.0.0.1:{port}/{b}/path/style.txt", data=b"one")
        self.assertEqual(r.status_code, 200)
        r = requests.get(f"http://127.0.0.1:{port}/path/style.txt", headers={"Host": f"{b}.s3.localhost:{port}"})
        self.assertEqual(r.status_code, 200)
        self.assertEqual(r.content, b"one")
        r = requests.put(f"http://127.0.0.1:{port}/vh.txt", data=b"two", headers={"Host": f"{b}.s3.localhost:{port}"})
        self.assertEqual(r.status_code, 200)
        self.assertEqual(self.s3.get_object(Bucket=b, Key="vh.txt")["Body"].read(), b"two")

    def test_tagging_policy_encryption(self):
        b = self.bucket()
        self.assertEqual(code(client_error(self.s3.get_bucket_tagging, Bucket=b)), "NoSuchTagSet")
        self.s3.put_bucket_tagging(Bucket=b, Tagging={"TagSet": [{"Key": "team", "Value": "cms"}]})
        self.assertEqual(self.s3.get_bucket_tagging(Bucket=b)["TagSet"], [{"Key": "team", "Value": "cms"}])
        self.s3.delete_bucket_tagging(Bucket=b)
        self.assertEqual(code(client_error(self.s3.get_bucket_tagging, Bucket=b)), "NoSuchTagSet")
        self.assertEqual(code(client_error(self.s3.get_bucket_policy, Bucket=b)), "NoSuchBucketPolicy")
        policy = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::%s/*"}]}' % b
        self.s3.put_bucket_policy(Bucket=b, Policy=policy)
        self.assertEqual(self.s3.get_bucket_policy(Bucket=b)["Policy"], policy)
        self.assertEqual(code(client_error(self.s3.put_bucket_policy, Bucket=b, Policy="not json")), "MalformedPolicy")
        self.s3.delete_bucket_policy(Bucket=b)
        self.assertEqual(code(client_error(self.s3.get_bucket_policy, Bucket=b)), "NoSuchBucketPolicy")
        enc = self.s3.get_bucket_encryption(Bucket=b)["ServerSideEncryptionConfiguration"]
        self.assertEqual(enc["Rules"][0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"], "AES256")


class Objects(S3Test):
    def test_put_get_head_metadata(self):
        b = self.bucket()
        r = self.s3.put_object(Bucket=b, Key="docs/a.txt", Body=b"hello world", ContentType="text/plain",
                               ContentEncoding="identity", ContentDisposition='attachment; filename="a.txt"',
                               ContentLanguage="en", CacheControl="max-age=60", Expires=datetime.datetime(2030, 1, 1),
                               Metadata={"Author": "ann", "kind": "doc"})
        self.assertEqual(r["ETag"], '"%s"' % hashlib.md5(b"hello world").hexdigest())
        g = self.s3.get_object(Bucket=b, Key="docs/a.txt")
        self.assertEqual(g["Body"].read(), b"hello world")
        self.assertEqual(g["ContentType"], "text/plain")
        self.assertEqual(g["ContentEncoding"], "identity")
        self.assertEqual(g["ContentDisposition"], 'attachment; filename="a.txt"')
        self.assertEqual(g["ContentLanguage"], "en")
        self.assertEqual(g["CacheControl"], "max-age=60")
        self.assertEqual(g["Metadata"], {"author": "ann", "kind": "doc"})
        self.assertEqual(g["ContentLength"], 11)
        self.assertIn("2030", g["ResponseMetadata"]["HTTPHeaders"]["expires"])
        h = self.s3.head_object(Bucket=b, Key="docs/a.txt")
        self.assertEqual(h["ContentLength"], 11)
        self.assertEqual(h["ETag"], r["ETag"])
        self.assertEqual(h["Metadata"]["author"], "ann")
        # Default content type.
        self.s3.put_object(Bucket=b, Key="raw", Body=b"\x00\x01")
        self.assertEqual(self.s3.head_object(Bucket=b, Key="raw")["ContentType"], "binary/octet-stream")

    def test_missing_key_and_errors(self):
        b = self.bucket()
        e = client_error(self.s3.get_object, Bucket=b, Key="missing/key")
        self.assertEqual(code(e), "NoSuchKey")
        self.assertEqual(e.response["Error"]["Key"], "missing/key")
        self.assertEqual(e.response["ResponseMetadata"]["HTTPStatusCode"], 404)
        e = client_error(self.s3.head_object, Bucket=b, Key="missing")
        self.assertEqual(code(e), "404")
        e = client_error(self.s3.put_object, Bucket=b, Key="k" * 1025, Body=b"x")
        self.assertEqual(code(e), "KeyTooLongError")
        # Deleting a missing key is fine.
        self.s3.delete_object(Bucket=b, Key="missing")

    def test_large_streamed_object_and_ranges(self):
        b = self.bucket()
        body = os.urandom(3 * 1024 * 1024 + 17)
        self.s3.put_object(Bucket=b, Key="big.bin", Body=io.BytesIO(body))
        self.assertEqual(self.s3.get_object(Bucket=b, Key="big.bin")["Body"].read(), body)
        r = self.s3.get_object(Bucket=b, Key="big.bin", Range="bytes=100-199")
        self.assertEqual(r["ResponseMetadata"]["HTTPStatusCode"], 206)
        self.assertEqual(r["ContentRange"], f"bytes 100-199/{len(body)}")
        self.assertEqual(r["Body"].read(), body[100:200])
        self.assertEqual(self.s3.get_object(Bucket=b, Key="big.bin", Range="bytes=-10")["Body"].read(), body[-10:])
        self.assertEqual(self.s3.get_object(Bucket=b, Key="big.bin", Range="bytes=3145700-")["Body"].read(),
                         body[3145700:])
        e = client_error(self.s3.get_object, Bucket=b, Key="big.bin", Range=f"bytes={len(body)}-")
        self.assertEqual(code(e), "InvalidRange")
        self.assertEqual(e.response["ResponseMetadata"]["HTTPStatusCode"], 416)
        # An unparseable range is ignored.
        self.assertEqual(len(self.s3.get_object(Bucket=b, Key="big.bin", Range="bytes=x-y")["Body"].read()), len(body))

    def test_conditional_requests(self):
        b = self.bucket()
        etag = self.s3.put_object(Bucket=b, Key="c", Body=b"data")["ETag"]
        self.assertEqual(self.s3.get_object(Bucket=b, Key="c", IfMatch=etag)["Body"].read(), b"data")
        e = client_error(self.s3.get_object, Bucket=b, Key="c", IfMatch='"nope"')
        self.assertEqual(code(e), "PreconditionFailed")
        self.assertEqual(e.response["ResponseMetadata"]["HTTPStatusCode"], 412)
        e = client_error(self.s3.get_object, Bucket=b, Key="c", IfNoneMatch=etag)
        self.assertEqual(e.response["ResponseMetadata"]["HTTPStatusCode"], 304)
        future = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=1)
        past = datetime.datetime(2000, 1, 1, tzinfo=datetime.timezone.utc)
        e = client_error(self.s3.get_object, Bucket=b, Key="c", IfModifiedSince=future)
        self.assertEqual(e.response["ResponseMetadata"]["HTTPStatusCode"], 304)
        self.assertEqual(self.s3.get_object(Bucket=b, Key="c", IfModifiedSince=past)["Body"].read(), b"data")
        e = client_error(self.s3.get_object, Bucket=b, Key="c", IfUnmodifiedSince=past)
        self.assertEqual(code(e), "PreconditionFailed")
        # If-Match wins over a failing If-Unmodified-Since.
        self.assertEqual(self.s3.get_object(Bucket=b, Key="c", IfMatch=etag, IfUnmodifiedSince=past)["Body"].read(),
                         b"data")
        # Conditional writes.
        e = client_error(self.s3.put_object, Bucket=b, Key="c", Body=b"x", IfNoneMatch="*")
        self.assertEqual(code(e), "PreconditionFailed")
        self.s3.put_object(Bucket=b, Key="new", Body=b"x", IfNoneMatch="*")

    def test_response_overrides(self):
        b = self.bucket()
        self.s3.put_object(Bucket=b, Key="o", Body=b"x", ContentType="text/plain")
        r = self.s3.get_object(Bucket=b, Key="o", ResponseContentType="application/json",
                               ResponseContentDisposition="inline", ResponseCacheControl="no-cache",
                               ResponseContentLanguage="de")
        self.assertEqual(r["ContentType"], "application/json")
        self.assertEqual(r["ContentDisposition"], "inline")
        self.assertEqual(r["CacheControl"], "no-cache")
        self.assertEqual(r["ContentLanguage"], "de")

    def test_delete_objects(self):
        b = self.bucket()
        for k in ["a", "b", "c"]:
            self.s3.put_object(Bucket=b, Key=k, Body=b"x")
        r = self.s3.delete_objects(Bucket=b, Delete={"Objects": [{"Key": "a"}, {"Key": "b"}, {"Key": "zz"}]})
        self.assertEqual(sorted(x["Key"] for x in r["Deleted"]), ["a", "b", "zz"])
        r = self.s3.delete_objects(Bucket=b, Delete={"Objects": [{"Key": "c"}, {"Key": "c", "VersionId": "bogus"}],
                                                     "Quiet": True})
        self.assertNotIn("Deleted", r)
        self.assertEqual(r["Errors"][0]["Code"], "InvalidArgument")
        self.assertEqual(self.s3.list_objects_v2(Bucket=b)["KeyCount"], 0)

    def test_copy_object(self):
        b = self.bucket()
        src = self.s3.put_object(Bucket=b, Key="src", Body=b"copy me", ContentType="text/plain",
                                 Metadata={"a": "1"}, Tagging="t=1")
        r = self.s3.copy_object(Bucket=b, Key="dst", CopySource={"Bucket": b, "Key": "src"})
        self.assertEqual(r["CopyObjectResult"]["ETag"], src["ETag"])
        g = self.s3.get_object(Bucket=b, Key="dst")
        self.assertEqual(g["Body"].read(), b"copy me")
        self.assertEqual(g["Metadata"], {"a": "1"})
        self.assertEqual(g["ContentType"], "text/plain")
        self.assertEqual(self.s3.get_object_tagging(Bucket=b, Key="dst")["TagSet"], [{"Key": "t", "Value": "1"}])
        self.s3.copy_object(Bucket=b, Key="dst2", CopySource=f"{b}/src", MetadataDirective="REPLACE",
                            ContentType="application/x-new", Metadata={"b": "2"})
        g = self.s3.head_object(Bucket=b, Key="dst2")
        self.assertEqual(g["Metadata"], {"b": "2"})
        self.assertEqual(g["ContentType"], "application/x-new")
        e = client_error(self.s3.copy_object, Bucket=b, Key="src", CopySource=f"{b}/src")
        self.assertEqual(code(e), "InvalidRequest")
        e = client_error(self.s3.copy_object, Bucket=b, Key="x", CopySource=f"{b}/src", CopySourceIfMatch='"no"')
        self.assertEqual(code(e), "PreconditionFailed")
        e = client_error(self.s3.copy_object, Bucket=b, Key="x", CopySource=f"{b}/missing")
        self.assertEqual(code(e), "NoSuchKey")
        # A large (file-backed) body copies too, and survives the source's deletion.
        big = os.urandom(200 * 1024)
        self.s3.put_object(Bucket=b, Key="bigsrc", Body=big)
        self.s3.copy_object(Bucket=b, Key="bigdst", CopySource=f"{b}/bigsrc")
        self.s3.delete_object(Bucket=b, Key="bigsrc")
        self.assertEqual(self.s3.get_object(Bucket=b, Key="bigdst")["Body"].read(), big)

    def test_object_tagging(self):
        b = self.bucket()
        self.s3.put_object(Bucket=b, Key="t", Body=b"x", Tagging="a=1&b=2")
        self.assertEqual(self.s3.get_object(Bucket=b, Key="t")["TagCount"], 2)
        self.s3.put_object_tagging(Bucket=b, Key="t", Tagging={"TagSet": [{"Key": "c", "Value": "3"}]})
        self.assertEqual(self.s3.get_object_tagging(Bucket=b, Key="t")["TagSet"], [{"Key": "c", "Value": "3"}])
        self.s3.delete_object_tagging(Bucket=b, Key="t")
        self.assertEqual(self.s3.get_object_tagging(Bucket=b, Key="t")["TagSet"], [])
        tags = [{"Key": f"k{i}", "Value": "v"} for i in range(11)]
        e = client_error(self.s3.put_object_tagging, Bucket=b, Key="t", Tagging={"TagSet": tags})
        self.assertEqual(code(e), "BadRequest")

    def test_keys_stay_keys(self):
        b = self.bucket()
        for key in ["../../etc/passwd", "/absolute/path", "a/../../b", "white space/+plus&amp", "ünïcödé/ключ"]:
            self.s3.put_object(Bucket=b, Key=key, Body=key.encode())
            self.assertEqual(self.s3.get_object(Bucket=b, Key=key)["Body"].read(), key.encode())
        keys = [o["Key"] for o in self.s3.list_objects_v2(Bucket=b)["Contents"]]
        self.assertIn("../../etc/passwd", keys)
        self.assertIn("ünïcödé/ключ", keys)


class Concurrency(S3Test):
    def test_parallel_writers_readers_and_deleters_on_the_same_keys(self):
        import threading
        b = self.bucket()
        small = b"s" * 100
        large = b"L" * (100 * 1024)
        errors = []

        def work(n):
            s3 = self.d.client("s3")
            try:
                for i in range(30):
                    key = f"k{i % 3}"
                    op = (n + i) % 3
                    if op == 0:
                        s3.put_object(Bucket=b, Key=key, Body=large if i % 2 else small)
                    elif op == 1:
                        try:
                            body = s3.get_object(Bucket=b, Key=key)["Body"].read()
                            if body not in (small, large):
                                errors.append(f"torn read of {key}: {len(body)} bytes")
                        except botocore.exceptions.ClientError as e:
                            if code(e) != "NoSuchKey":
                                errors.append(str(e))
                    else:
                        s3.delete_object(Bucket=b, Key=key)
            except Exception as e:  # noqa: BLE001 - reported below
                errors.append(repr(e))

        threads = [threading.Thread(target=work, args=(n,)) for n in range(6)]
        [t.start() for t in threads]
        [t.join() for t in threads]
        self.assertEqual(errors, [])
        for k in ["k0", "k1", "k2"]:
            self.s3.put_object(Bucket=b, Key=k, Body=small)
            self.assertEqual(self.s3.get_object(Bucket=b, Key=k)["Body"].read(), small)

    def test_concurrent_streamed_uploads_each_get_their_own_md5(self):
        # The MD5s of uploads whose chunks arrive together are computed together, several streams
        # per SIMD instruction: each object must still get the ETag of its own bytes. Sizes around
        # the block and padding edges, from just over the streaming threshold to a few MiB.
        import random
        import threading
        b = self.bucket()
        rng = random.Random(5)
        sizes = [64 * 1024 + d for d in (1, 55, 56, 63, 64, 65)]
        sizes += [rng.randrange(65 * 1024, 3 * 1024 * 1024) for _ in range(42)]
        jobs = [(f"obj-{i}", os.urandom(size)) for i, size in enumerate(sizes)]
        errors = []

        def work(n):
            s3 = self.d.client("s3")
            try:
                for key, body in jobs[n::16]:
                    etag = s3.put_object(Bucket=b, Key=key, Body=body)["ETag"]
                    if etag != f'"{hashlib.md5(body).hexdigest()}"':
                        errors.append(f"{key} ({len(body)} bytes): ETag {etag}")
            except Exception as e:  # noqa: BLE001 - reported below
                errors.append(repr(e))

        threads = [threading.Thread(target=work, args=(n,)) for n in range(16)]
        [t.start() for t in threads]
        [t.join() for t in threads]
        self.assertEqual(errors, [])
        for key, body in jobs[::7]:
            got = self.s3.get_object(Bucket=b, Key=key)
            self.assertEqual(got["Body"].read(), body)
            self.assertEqual(got["ETag"], f'"{hashlib.md5(body).hexdigest()}"')


class Listing(S3Test):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.b = "listing-bucket"
        cls.s3.create_bucket(Bucket=cls.b)
        cls.keys = ["a.txt", "photos/2024/jan/1.jpg", "photos/2024/feb/2.jpg", "photos/2025/3.jpg", "photos/x.jpg",
                    "videos/v.mp4", "z", "sp ace/k"]
        for k in cls.keys:
            cls.s3.put_object(Bucket=cls.b, Key=k, Body=b"x")

    def test_v2_prefix_delimiter(self):
        r = self.s3.list_objects_v2(Bucket=self.b, Delimiter="/")
        self.assertEqual([p["Prefix"] for p in r["CommonPrefixes"]], ["photos/", "sp ace/", "videos/"])
        self.assertEqual([o["Key"] for o in r["Contents"]], ["a.txt", "z"])
        self.assertEqual(r["KeyCount"], 5)
        r = self.s3.list_objects_v2(Bucket=self.b, Prefix="photos/", Delimiter="/")
        self.assertEqual([p["Prefix"] for p in r["CommonPrefixes"]], ["photos/2024/", "photos/2025/"])
        self.assertEqual([o["Key"] for o in r["Contents"]], ["photos/x.jpg"])
        self.assertNotIn("Owner", r["Contents"][0])
        r = self.s3.list_objects_v2(Bucket=self.b, Prefix="photos/", FetchOwner=True)
        self.assertIn("ID", r["Contents"][0]["Owner"])

    def test_v2_pagination(self):
        seen = []
        token = None
        pages = 0
        while True:
            kw = {"ContinuationToken": token} if token else {}
            r = self.s3.list_objects_v2(Bucket=self.b, MaxKeys=3, **kw)
            seen += [o["Key"] for o in r.get("Contents", [])]
            pages += 1
            if not r["IsTruncated"]:
                break
            token = r["NextContinuationToken"]
        self.assertEqual(seen, sorted(self.keys))
        self.assertEqual(pages, 3)
        r = self.s3.list_objects_v2(Bucket=self.b, StartAfter="photos/2025/3.jpg")
        self.assertEqual([o["Key"] for o in r["Contents"]], ["photos/x.jpg", "sp ace/k", "videos/v.mp4", "z"])
        e = client_error(self.s3.list_objects_v2, Bucket=self.b, ContinuationToken="garbage!")
        self.assertEqual(code(e), "InvalidArgument")
        # Paginating common prefixes does not repeat them.
        paginator = self.s3.get_paginator("list_objects_v2")
        prefixes = []
        for page in paginator.paginate(Bucket=self.b, Delimiter="/", PaginationConfig={"PageSize": 1}):
            prefixes += [p["Prefix"] for p in page.get("CommonPrefixes", [])]
        self.assertEqual(prefixes, ["photos/", "sp ace/", "videos/"])

    def test_v1_and_url_encoding(self):
        r = self.s3.list_objects(Bucket=self.b, MaxKeys=2)
        self.assertTrue(r["IsTruncated"])
        self.assertEqual([o["Key"] for o in r["Contents"]], ["a.txt", "photos/2024/feb/2.jpg"])
        self.assertIn("Owner", r["Contents"][0])
        r = self.s3.list_objects(Bucket=self.b, Marker="photos/x.jpg")
        self.assertEqual([o["Key"] for o in r["Contents"]], ["sp ace/k", "videos/v.mp4", "z"])
        raw = requests.get(f"{self.d.endpoint}/{self.b}?list-type=2&prefix=sp&encoding-type=url")
        self.assertIn(b"<Key>sp%20ace/k</Key>", raw.content)
        self.assertEqual(self.s3.list_objects_v2(Bucket=self.b, Prefix="sp")["Contents"][0]["Key"], "sp ace/k")


class Multipart(S3Test):
    def test_upload_and_download_file(self):
        b = self.bucket()
        data = os.urandom(13 * 1024 * 1024 + 5)
        path = os.path.join(self.d.data_dir or "/tmp", "mp-src") if False else "/tmp/sless-s3-mp-src"
        with open(path, "wb") as f:
            f.write(data)
        cfg = boto3.s3.transfer.TransferConfig(multipart_threshold=5 * 1024 * 1024, multipart_chunksize=5 * 1024 * 1024)
        self.s3.upload_file(path, b, "movie.bin", Config=cfg)
        head = self.s3.head_object(Bucket=b, Key="movie.bin")
        self.assertTrue(head["ETag"].endswith('-3"'))
        self.assertEqual(head["ContentLength"], len(data))
        out = "/tmp/sless-s3-mp-dst"
        self.s3.download_file(b, "movie.bin", out, Config=cfg)
        with open(out, "rb") as f:
            self.assertEqual(f.read(), data)
        part = self.s3.get_object(Bucket=b, Key="movie.bin", PartNumber=2)
        self.assertEqual(part["PartsCount"], 3)
        self.assertEqual(part["Body"].read(), data[5 * 1024 * 1024:10 * 1024 * 1024])
        attrs = self.s3.get_object_attributes(Bucket=b, Key="movie.bin", ObjectAttributes=["ObjectParts", "ObjectSize", "ETag"])
        self.assertEqual(attrs["ObjectParts"]["TotalPartsCount"], 3)
        self.assertEqual(attrs["ObjectSize"], len(data))
        os.remove(path)
        os.remove(out)

    def test_complete_errors_and_listings(self):
        b = self.bucket()
        up = self.s3.create_multipart_upload(Bucket=b, Key="k", ContentType="video/mp4")["UploadId"]
        small = self.s3.upload_part(Bucket=b, Key="k", UploadId=up, PartNumber=1, Body=b"a" * 100)
        last = self.s3.upload_part(Bucket=b, Key="k", UploadId=up, PartNumber=2, Body=b"b" * 100)
        parts = self.s3.list_parts(Bucket=b, Key="k", UploadId=up)["Parts"]
        self.assertEqual([p["PartNumber"] for p in parts], [1, 2])
        uploads = self.s3.list_multipart_uploads(Bucket=b)["Uploads"]
        self.assertEqual([(u["Key"], u["UploadId"]) for u in uploads], [("k", up)])
        e = client_error(self.s3.complete_multipart_upload, Bucket=b, Key="k", UploadId=up,
                         MultipartUpload={"Parts": [{"PartNumber": 2, "ETag": last["ETag"]},
                                                    {"PartNumber": 1, "ETag": small["ETag"]}]})
        self.assertEqual(code(e), "InvalidPartOrder")
        e = client_error(self.s3.complete_multipart_upload, Bucket=b, Key="k", UploadId=up,
                         MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": '"0000"'}]})
        self.assertEqual(code(e), "InvalidPart")
        e = client_error(self.s3.complete_multipart_upload, Bucket=b, Key="k", UploadId=up,
                         MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": small["ETag"]},
                                                    {"PartNumber": 2, "ETag": last["ETag"]}]})
        self.assertEqual(code(e), "EntityTooSmall")
        # A single small part is fine: only parts before the last have a minimum.
        r = self.s3.complete_multipart_upload(Bucket=b, Key="k", UploadId=up,
                                              MultipartUpload={"Parts": [{"PartNumber": 2, "ETag": last["ETag"]}]})
        md5 = hashlib.md5(hashlib.md5(b"b" * 100).digest()).hexdigest()
        self.assertEqual(r["ETag"], f'"{md5}-1"')
        g = self.s3.get_object(Bucket=b, Key="k")
        self.assertEqual(g["Body"].read(), b"b" * 100)
        self.assertEqual(g["ContentType"], "video/mp4")
        e = client_error(self.s3.list_parts, Bucket=b, Key="k", UploadId=up)
        self.assertEqual(code(e), "NoSuchUpload")

    def test_abort_and_part_copy(self):
        b = self.bucket()
        src = os.urandom(6 * 1024 * 1024)
        self.s3.put_object(Bucket=b, Key="src", Body=src)
        up = self.s3.create_multipart_upload(Bucket=b, Key="dst")["UploadId"]
        p1 = self.s3.upload_part_copy(Bucket=b, Key="dst", UploadId=up, PartNumber=1, CopySource=f"{b}/src",
                                      CopySourceRange=f"bytes=0-{5 * 1024 * 1024 - 1}")
        p2 = self.s3.upload_part_copy(Bucket=b, Key="dst", UploadId=up, PartNumber=2, CopySource=f"{b}/src",
                                      CopySourceRange=f"bytes={5 * 1024 * 1024}-{len(src) - 1}")
        e = client_error(self.s3.upload_part_copy, Bucket=b, Key="dst", UploadId=up, PartNumber=3,
                         CopySource=f"{b}/src", CopySourceRange=f"bytes=0-{len(src)}")
        self.assertEqual(code(e), "InvalidArgument")
        self.s3.complete_multipart_upload(Bucket=b, Key="dst", UploadId=up, MultipartUpload={"Parts": [
            {"PartNumber": 1, "ETag": p1["CopyPartResult"]["ETag"]},
            {"PartNumber": 2, "ETag": p2["CopyPartResult"]["ETag"]}]})
        self.assertEqual(self.s3.get_object(Bucket=b, Key="dst")["Body"].read(), src)
        up = self.s3.create_multipart_upload(Bucket=b, Key="gone")["UploadId"]
        self.s3.upload_part(Bucket=b, Key="gone", UploadId=up, PartNumber=1, Body=b"x")
        self.s3.abort_multipart_upload(Bucket=b, Key="gone", UploadId=up)
        e = client_error(self.s3.upload_part, Bucket=b, Key="gone", UploadId=up, PartNumber=2, Body=b"x")
        self.assertEqual(code(e), "NoSuchUpload")
        e = client_error(self.s3.upload_part, Bucket=b, Key="gone", UploadId=up, PartNumber=10001, Body=b"x")
        self.assertEqual(code(e), "InvalidArgument")

    def test_composite_checksum(self):
        b = self.bucket()
        up = self.s3.create_multipart_upload(Bucket=b, Key="c", ChecksumAlgorithm="SHA256")
        self.assertEqual(up["ChecksumAlgorithm"], "SHA256")
        part1 = os.urandom(5 * 1024 * 1024)
        part2 = b"tail"
        r1 = self.s3.upload_part(Bucket=b, Key="c", UploadId=up["UploadId"], PartNumber=1, Body=part1,
                                 ChecksumAlgorithm="SHA256")
        r2 = self.s3.upload_part(Bucket=b, Key="c", UploadId=up["UploadId"], PartNumber=2, Body=part2,
                                 ChecksumAlgorithm="SHA256")
        self.assertEqual(r1["ChecksumSHA256"], b64(hashlib.sha256(part1).digest()))
        done = self.s3.complete_multipart_upload(Bucket=b, Key="c", UploadId=up["UploadId"], MultipartUpload={"Parts": [
            {"PartNumber": 1, "ETag": r1["ETag"], "ChecksumSHA256": r1["ChecksumSHA256"]},
            {"PartNumber": 2, "ETag": r2["ETag"], "ChecksumSHA256": r2["ChecksumSHA256"]}]})
        composite = b64(hashlib.sha256(hashlib.sha256(part1).digest() + hashlib.sha256(part2).digest()).digest())
        self.assertEqual(done["ChecksumSHA256"], composite + "-2")
        h = self.s3.head_object(Bucket=b, Key="c", ChecksumMode="ENABLED")
        self.assertEqual(h["ChecksumSHA256"], composite + "-2")


class Versioning(S3Test):
    def test_versions_and_delete_markers(self):
        b = self.bucket()
        self.s3.put_object(Bucket=b, Key="before", Body=b"v0")
        self.s3.put_bucket_versioning(Bucket=b, VersioningConfiguration={"Status": "Enabled"})
        self.assertEqual(self.s3.get_bucket_versioning(Bucket=b)["Status"], "Enabled")
        v1 = self.s3.put_object(Bucket=b, Key="doc", Body=b"one")["VersionId"]
        v2 = self.s3.put_object(Bucket=b, Key="doc", Body=b"two")["VersionId"]
        self.assertNotEqual(v1, v2)
        self.assertEqual(self.s3.get_object(Bucket=b, Key="doc")["Body"].read(), b"two")
        self.assertEqual(self.s3.get_object(Bucket=b, Key="doc", VersionId=v1)["Body"].read(), b"one")
        self.assertEqual(self.s3.head_object(Bucket=b, Key="before", VersionId="null")["ContentLength"], 2)
        d = self.s3.delete_object(Bucket=b, Key="doc")
        self.assertTrue(d["DeleteMarker"])
        e = client_error(self.s3.get_object, Bucket=b, Key="doc")
        self.assertEqual(code(e), "NoSuchKey")
        self.assertEqual(e.response["ResponseMetadata"]["HTTPHeaders"]["x-amz-delete-marker"], "true")
        e = client_error(self.s3.get_object, Bucket=b, Key="doc", VersionId=d["VersionId"])
        self.assertEqual(e.response["ResponseMetadata"]["HTTPStatusCode"], 405)
        versions = self.s3.list_object_versions(Bucket=b, Prefix="doc")
        self.assertEqual([v["VersionId"] for v in versions["Versions"]], [v2, v1])
        self.assertEqual([m["VersionId"] for m in versions["DeleteMarkers"]], [d["VersionId"]])
        self.assertTrue(versions["DeleteMarkers"][0]["IsLatest"])
        self.assertFalse(versions["Versions"][0]["IsLatest"])
        self.assertNotIn("doc", [o["Key"] for o in self.s3.list_objects_v2(Bucket=b).get("Contents", [])])
        # Removing the marker brings v2 back.
        self.s3.delete_object(Bucket=b, Key="doc", VersionId=d["VersionId"])
        self.assertEqual(self.s3.get_object(Bucket=b, Key="doc")["Body"].read(), b"two")
        self.s3.delete_object(Bucket=b, Key="doc", VersionId=v2)
        self.assertEqual(self.s3.get_object(Bucket=b, Key="doc")["Body"].read(), b"one")
        e = client_error(self.s3.get_object, Bucket=b, Key="doc", VersionId="0" * 32)
        self.assertEqual(code(e), "NoSuchVersion")
        e = client_error(self.s3.get_object, Bucket=b, Key="doc", VersionId="bad")
        self.assertEqual(code(e), "InvalidArgument")
        # Paging through versions.
        for i in range(3):
            self.s3.put_object(Bucket=b, Key="many", Body=str(i).encode())
        seen = []
        kw = {}
        while True:
            r = self.s3.list_object_versions(Bucket=b, Prefix="many", MaxKeys=2, **kw)
            seen += [(v["VersionId"], v["IsLatest"]) for v in r.get("Versions", [])]
            if not r["IsTruncated"]:
                break
            kw = {"KeyMarker": r["NextKeyMarker"], "VersionIdMarker": r["NextVersionIdMarker"]}
        self.assertEqual(len(seen), 3)
        self.assertEqual([latest for _, latest in seen], [True, False, False])

    def test_suspended_versioning(self):
        b = self.bucket()
        self.s3.put_bucket_versioning(Bucket=b, VersioningConfiguration={"Status": "Enabled"})
        kept = self.s3.put_object(Bucket=b, Key="k", Body=b"kept")["VersionId"]
        self.s3.put_bucket_versioning(Bucket=b, VersioningConfiguration={"Status": "Suspended"})
        self.assertEqual(self.s3.put_object(Bucket=b, Key="k", Body=b"n1")["VersionId"], "null")
        self.s3.put_object(Bucket=b, Key="k", Body=b"n2")
        ids = [v["VersionId"] for v in self.s3.list_object_versions(Bucket=b)["Versions"]]
        self.assertEqual(ids, ["null", kept])
        self.assertEqual(self.s3.get_object(Bucket=b, Key="k", VersionId="null")["Body"].read(), b"n2")
        d = self.s3.delete_object(Bucket=b, Key="k")
        self.assertEqual(d["VersionId"], "null")
        self.assertTrue(d["DeleteMarker"])
        versions = self.s3.list_object_versions(Bucket=b)
        self.assertEqual([v["VersionId"] for v in versions["Versions"]], [kept])
        self.assertEqual(self.s3.get_object(Bucket=b, Key="k", VersionId=kept)["Body"].read(), b"kept")
        e = client_error(self.s3.delete_bucket, Bucket=b)
        self.assertEqual(code(e), "BucketNotEmpty")


    def test_suspending_a_never_versioned_bucket(self):
        b = self.bucket()
        self.s3.put_object(Bucket=b, Key="k", Body=b"first")
        self.s3.put_bucket_versioning(Bucket=b, VersioningConfiguration={"Status": "Suspended"})
        self.assertEqual(self.s3.get_bucket_versioning(Bucket=b)["Status"], "Suspended")
        self.assertEqual([v["VersionId"] for v in self.s3.list_object_versions(Bucket=b)["Versions"]], ["null"])
        self.s3.put_object(Bucket=b, Key="k", Body=b"second")
        versions = self.s3.list_object_versions(Bucket=b)["Versions"]
        self.assertEqual([(v["VersionId"], v["Size"]) for v in versions], [("null", 6)])
        self.assertEqual(self.s3.get_object(Bucket=b, Key="k")["Body"].read(), b"second")


class Checksums(S3Test):
    def test_flexible_checksums(self):
        b = self.bucket()
        data = b"checksummed body" * 1000
        for alg, digest in [("SHA256", hashlib.sha256(data).digest()), ("SHA1", hashlib.sha1(data).digest()),
                            ("CRC32", zlib.crc32(data).to_bytes(4, "big"))]:
            r = self.s3.put_object(Bucket=b, Key=alg, Body=data, ChecksumAlgorithm=alg)
            self.assertEqual(r["Checksum" + alg], b64(digest))
            h = self.s3.head_object(Bucket=b, Key=alg, ChecksumMode="ENABLED")
            self.assertEqual(h["Checksum" + alg], b64(digest))
            g = self.s3.get_object(Bucket=b, Key=alg, ChecksumMode="ENABLED")
            self.assertEqual(g["Body"].read(), data)  # botocore validates the checksum itself
        # CRC32C, sent as a plain header.
        value = b64(crc32c(data))
        r = requests.put(f"{self.d.endpoint}/{b}/crc32c", data=data, headers={"x-amz-checksum-crc32c": value})
        self.assertEqual(r.status_code, 200, r.text)
        self.assertEqual(r.headers["x-amz-checksum-crc32c"], value)
        r = requests.put(f"{self.d.endpoint}/{b}/bad", data=data, headers={"x-amz-checksum-crc32c": b64(b"\0\0\0\0")})
        self.assertEqual(r.status_code, 400)
        self.assertIn(b"<Code>BadDigest</Code>", r.content)
        e = client_error(self.s3.put_object, Bucket=b, Key="bad", Body=data, ChecksumSHA256=b64(b"\0" * 32))
        self.assertEqual(code(e), "BadDigest")
        e = client_error(self.s3.put_object, Bucket=b, Key="bad", Body=data, ContentMD5=b64(b"\0" * 16))
        self.assertEqual(code(e), "BadDigest")
        self.s3.put_object(Bucket=b, Key="md5", Body=data, ContentMD5=b64(hashlib.md5(data).digest()))
        self.assertEqual(code(client_error(self.s3.head_object, Bucket=b, Key="bad")), "404")

    def test_aws_chunked_with_trailer(self):
        b = self.bucket()
        body = b"0123456789" * 30000  # 300 KB, streamed
        crc = b64(zlib.crc32(body).to_bytes(4, "big"))
        chunks = b""
        for i in range(0, len(body), 65536):
            piece = body[i:i + 65536]
            chunks += b"%x\r\n" % len(piece) + piece + b"\r\n"
        ok = chunks + b"0\r\nx-amz-checksum-crc32:" + crc.encode() + b"\r\n\r\n"
        headers = {"Content-Encoding": "aws-chunked", "x-amz-content-sha256": "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
                   "x-amz-decoded-content-length": str(len(body)), "x-amz-trailer": "x-amz-checksum-crc32"}
        r = requests.put(f"{self.d.endpoint}/{b}/chunked", data=ok, headers=headers)
        self.assertEqual(r.status_code, 200, r.text)
        self.assertEqual(self.s3.get_object(Bucket=b, Key="chunked")["Body"].read(), body)
        self.assertEqual(self.s3.head_object(Bucket=b, Key="chunked", ChecksumMode="ENABLED")["ChecksumCRC32"], crc)
        bad = chunks + b"0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n"
        r = requests.put(f"{self.d.endpoint}/{b}/chunked-bad", data=bad, headers=headers)
        self.assertEqual(r.status_code, 400)
        self.assertIn(b"BadDigest", r.content)
        self.assertEqual(code(client_error(self.s3.head_object, Bucket=b, Key="chunked-bad")), "404")


class Presigned(S3Test):
    def test_sigv4_get_and_put(self):
        b = self.bucket()
        v4 = self.d.client("s3", signature_version="s3v4")
        url = v4.generate_presigned_url("put_object", Params={"Bucket": b, "Key": "up.txt"}, ExpiresIn=300)
        self.assertIn("X-Amz-Signature", url)
        r = requests.put(url, data=b"via presigned", headers={"Content-Type": "application/x-www-form-urlencoded"})
        self.assertEqual(r.status_code, 200, r.text)
        url = v4.generate_presigned_url("get_object", Params={"Bucket": b, "Key": "up.txt"}, ExpiresIn=300)
        r = requests.get(url)
        self.assertEqual(r.content, b"via presigned")
        expired = v4.generate_presigned_url("get_object", Params={"Bucket": b, "Key": "up.txt"}, ExpiresIn=-1) \
            if False else url.replace("X-Amz-Expires=300", "X-Amz-Expires=0").replace(
                "X-Amz-Date=", "X-Amz-Date=2000")
        q = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))
        q["X-Amz-Date"] = "20000101T000000Z"
        expired = url.split("?")[0] + "?" + urllib.parse.urlencode(q)
        r = requests.get(expired)
        self.assertEqual(r.status_code, 403)
        self.assertIn(b"<Code>AccessDenied</Code><Message>Request has expired</Message>", r.content)

    def test_sigv2_default_presign(self):
        b = self.bucket()
        self.s3.put_object(Bucket=b, Key="k", Body=b"v2")
        url = self.s3.generate_presigned_url("get_object", Params={"Bucket": b, "Key": "k"}, ExpiresIn=300)
        if "AWSAccessKeyId" not in url:
            self.skipTest("this botocore presigns S3 with SigV4 by default")
        self.assertEqual(requests.get(url).content, b"v2")
        q = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))
        q["Expires"] = "946684800"
        r = requests.get(url.split("?")[0] + "?" + urllib.parse.urlencode(q))
        self.assertEqual(r.status_code, 403)
        self.assertIn(b"Request has expired", r.content)
        put = self.s3.generate_presigned_url("put_object", Params={"Bucket": b, "Key": "p"}, ExpiresIn=300)
        self.assertEqual(requests.put(put, data=b"raw body").status_code, 200)
        self.assertEqual(self.s3.get_object(Bucket=b, Key="p")["Body"].read(), b"raw body")

    def test_sigv2_account(self):
        other = self.d.client("s3", access_key="222233334444")
        other.create_bucket(Bucket="sigv2-account")
        url = other.generate_presigned_url("list_objects", Params={"Bucket": "sigv2-account"}, ExpiresIn=60)
        self.assertEqual(requests.get(url).status_code, 200)

    def test_post_upload(self):
        b = self.bucket()
        post = self.s3.generate_presigned_post(b, "uploads/${filename}", Fields={"Content-Type": "image/png"},
                                               Conditions=[["starts-with", "$key", "uploads/"],
                                                           {"Content-Type": "image/png"},
                                                           ["content-length-range", 1, 1000000]],
                                               ExpiresIn=300)
        files = {"file": ("pic.png", b"\x89PNG fake image", "image/png")}
        r = requests.post(post["url"], data=post["fields"], files=files)
        self.assertEqual(r.status_code, 204, r.text)
        g = self.s3.get_object(Bucket=b, Key="uploads/pic.png")
        self.assertEqual(g["Body"].read(), b"\x89PNG fake image")
        self.assertEqual(g["ContentType"], "image/png")
        fields = dict(post["fields"], success_action_status="201")
        r = requests.post(post["url"], data=fields, files=files)
        self.assertEqual(r.status_code, 403)  # success_action_status is not in the policy
        self.assertIn(b"Extra input fields", r.content)
        bad = dict(post["fields"])
        bad["Content-Type"] = "text/html"
        r = requests.post(post["url"], data=bad, files=files)
        self.assertEqual(r.status_code, 403)
        self.assertIn(b"Policy Condition failed", r.content)
        # A large upload streams through.
        big = os.urandom(2 * 1024 * 1024)
        post = self.s3.generate_presigned_post(b, "big.bin", ExpiresIn=300)
        r = requests.post(post["url"], data=post["fields"], files={"file": ("big.bin", big)})
        self.assertEqual(r.status_code, 204, r.text)
        self.assertEqual(self.s3.get_object(Bucket=b, Key="big.bin")["Body"].read(), big)
        no_key = {k: v for k, v in post["fields"].items() if k != "key"}
        r = requests.post(post["url"], data=no_key, files={"file": ("x", b"x")})
        self.assertEqual(r.status_code, 400)


class BucketConfig(S3Test):
    def test_cors(self):
        b = self.bucket()
        url = f"{self.d.endpoint}/{b}/obj"
        pre = {"Origin": "https://cms.example.com", "Access-Control-Request-Method": "PUT"}
        r = requests.options(url, headers=pre)
        self.assertEqual(r.status_code, 403)
        self.assertEqual(code(client_error(self.s3.get_bucket_cors, Bucket=b)), "NoSuchCORSConfiguration")
        rules = [{"AllowedOrigins": ["https://*.example.com"], "AllowedMethods": ["PUT", "GET"],
                  "AllowedHeaders": ["content-type", "x-amz-*"], "ExposeHeaders": ["ETag"], "MaxAgeSeconds": 600}]
        self.s3.put_bucket_cors(Bucket=b, CORSConfiguration={"CORSRules": rules})
        self.assertEqual(self.s3.get_bucket_cors(Bucket=b)["CORSRules"][0]["AllowedMethods"], ["PUT", "GET"])
        r = requests.options(url, headers=dict(pre, **{"Access-Control-Request-Headers": "content-type, x-amz-meta-a"}))
        self.assertEqual(r.status_code, 200)
        self.assertEqual(r.headers["Access-Control-Allow-Origin"], "https://cms.example.com")
        self.assertEqual(r.headers["Access-Control-Max-Age"], "600")
        self.assertIn("PUT", r.headers["Access-Control-Allow-Methods"])
        r = requests.options(url, headers={"Origin": "https://evil.test", "Access-Control-Request-Method": "PUT"})
        self.assertEqual(r.status_code, 403)
        r = requests.options(url, headers=dict(pre, **{"Access-Control-Request-Method": "DELETE"}))
        self.assertEqual(r.status_code, 403)
        self.s3.put_object(Bucket=b, Key="obj", Body=b"x")
        r = requests.get(url, headers={"Origin": "https://cms.example.com"})
        self.assertEqual(r.headers["Access-Control-Allow-Origin"], "https://cms.example.com")
        self.assertEqual(r.headers["Access-Control-Expose-Headers"], "ETag")
        r = requests.get(url, headers={"Origin": "https://evil.test"})
        self.assertNotIn("Access-Control-Allow-Origin", r.headers)
        e = client_error(self.s3.put_bucket_cors, Bucket=b,
                         CORSConfiguration={"CORSRules": [{"AllowedOrigins": ["*"], "AllowedMethods": ["PATCH"]}]})
        self.assertEqual(code(e), "InvalidRequest")
        self.s3.delete_bucket_cors(Bucket=b)
        self.assertEqual(requests.options(url, headers=pre).status_code, 403)

    def test_lifecycle_expiration(self):
        b = self.bucket()
        self.assertEqual(code(client_error(self.s3.get_bucket_lifecycle_configuration, Bucket=b)),
                         "NoSuchLifecycleConfiguration")
        self.s3.put_object(Bucket=b, Key="tmp/old", Body=b"x")
        self.s3.put_object(Bucket=b, Key="keep/me", Body=b"x")
        up = self.s3.create_multipart_upload(Bucket=b, Key="tmp/upload")["UploadId"]
        rules = [{"ID": "expire-tmp", "Status": "Enabled", "Filter": {"Prefix": "tmp/"},
                  "Expiration": {"Date": datetime.datetime(2020, 1, 1, tzinfo=datetime.timezone.utc)}},
                 {"ID": "never", "Status": "Enabled", "Filter": {"Prefix": "keep/"}, "Expiration": {"Days": 30},
                  "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1}}]
        self.s3.put_bucket_lifecycle_configuration(Bucket=b, LifecycleConfiguration={"Rules": rules})
        got = self.s3.get_bucket_lifecycle_configuration(Bucket=b)["Rules"]
        self.assertEqual([r["ID"] for r in got], ["expire-tmp", "never"])
        harness.wait_for(lambda: "Contents" not in self.s3.list_objects_v2(Bucket=b, Prefix="tmp/"),
                         message="tmp/old to expire")
        self.assertEqual(self.s3.list_objects_v2(Bucket=b)["KeyCount"], 1)
        self.assertEqual(len(self.s3.list_multipart_uploads(Bucket=b).get("Uploads", [])), 1)
        e = client_error(self.s3.put_bucket_lifecycle_configuration, Bucket=b, LifecycleConfiguration={"Rules": [
            {"ID": "x", "Status": "Enabled", "Filter": {}, "Expiration": {"Days": 0}}]})
        self.assertEqual(code(e), "InvalidArgument")
        self.s3.delete_bucket_lifecycle(Bucket=b)
        self.assertEqual(code(client_error(self.s3.get_bucket_lifecycle_configuration, Bucket=b)),
                         "NoSuchLifecycleConfiguration")
        self.s3.abort_multipart_upload(Bucket=b, Key="tmp/upload", UploadId=up)

    def test_notification_configuration(self):
        b = self.bucket()
        self.assertEqual(self.s3.get_bucket_notification_configuration(Bucket=b).get("QueueConfigurations"), None)
        config = {"QueueConfigurations": [{"QueueArn": "arn:aws:sqs:us-east-1:000000000000:uploads",
                                           "Events": ["s3:ObjectCreated:*"],
                                           "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "images/"},
                                                                              {"Name": "suffix", "Value": ".jpg"}]}}}],
                  "LambdaFunctionConfigurations": [{"Id": "thumbs",
                                                    "LambdaFunctionArn": "arn:aws:lambda:us-east-1:000000000000:function:thumb",
                                                    "Events": ["s3:ObjectRemoved:Delete"]}]}
        # The destinations do not exist: S3 refuses them unless told to skip the check.
        e = client_error(self.s3.put_bucket_notification_configuration, Bucket=b, NotificationConfiguration=config)
        self.assertEqual(code(e), "InvalidArgument")
        self.s3.put_bucket_notification_configuration(Bucket=b, NotificationConfiguration=config,
                                                      SkipDestinationValidation=True)
        got = self.s3.get_bucket_notification_configuration(Bucket=b)
        self.assertEqual(got["QueueConfigurations"][0]["QueueArn"], "arn:aws:sqs:us-east-1:000000000000:uploads")
        self.assertTrue(got["QueueConfigurations"][0]["Id"])
        self.assertEqual(got["LambdaFunctionConfigurations"][0]["Id"], "thumbs")
        rules = got["QueueConfigurations"][0]["Filter"]["Key"]["FilterRules"]
        self.assertEqual({r["Name"].lower(): r["Value"] for r in rules}, {"prefix": "images/", "suffix": ".jpg"})
        bad = {"QueueConfigurations": [{"QueueArn": "arn:aws:sqs:us-east-1:000000000000:q", "Events": ["s3:Nope"]}]}
        e = client_error(self.s3.put_bucket_notification_configuration, Bucket=b, NotificationConfiguration=bad)
        self.assertEqual(code(e), "InvalidArgument")
        bad = {"TopicConfigurations": [{"TopicArn": "not-an-arn", "Events": ["s3:ObjectCreated:*"]}]}
        e = client_error(self.s3.put_bucket_notification_configuration, Bucket=b, NotificationConfiguration=bad)
        self.assertEqual(code(e), "InvalidArgument")
        self.s3.put_bucket_notification_configuration(Bucket=b, NotificationConfiguration={})
        self.assertNotIn("QueueConfigurations", self.s3.get_bucket_notification_configuration(Bucket=b))


if __name__ == "__main__":
    harness.main()
