// Drives S3 with the AWS SDK for JavaScript v3 (default checksum behaviour) and prints one JSON
// object of observations for test_s3_js.py to check. Usage: node s3_sdk.mjs <endpoint>
import { Readable } from "node:stream";
import { createHash } from "node:crypto";
import {
  S3Client, CreateBucketCommand, PutObjectCommand, GetObjectCommand, HeadObjectCommand,
  ListObjectsV2Command, DeleteObjectsCommand, CopyObjectCommand,
} from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";

const endpoint = process.argv[2];
const s3 = new S3Client({
  endpoint, region: "us-east-1", forcePathStyle: true,
  credentials: { accessKeyId: "AKIDSLESSTEST", secretAccessKey: "sless-secret" },
});
const out = {};
const md5 = (b) => createHash("md5").update(b).digest("hex");
const bytes = async (body) => Buffer.from(await body.transformToByteArray());

await s3.send(new CreateBucketCommand({ Bucket: "js-bucket" }));

// A small string body: the SDK sends a CRC32 header by default.
const put = await s3.send(new PutObjectCommand({ Bucket: "js-bucket", Key: "hello.txt", Body: "hello from js", ContentType: "text/plain" }));
out.put_etag = put.ETag;
out.put_crc32 = put.ChecksumCRC32 ?? null;

// A stream: aws-chunked with a trailing checksum.
const big = Buffer.alloc(1024 * 1024 + 3, 7);
const streamed = await s3.send(new PutObjectCommand({ Bucket: "js-bucket", Key: "stream.bin", Body: Readable.from([big.subarray(0, 500000), big.subarray(500000)]), ContentLength: big.length }));
out.stream_etag_ok = streamed.ETag === `"${md5(big)}"`;

// Other algorithms the SDK computes itself.
for (const alg of ["CRC32C", "CRC64NVME", "SHA256"]) {
  const r = await s3.send(new PutObjectCommand({ Bucket: "js-bucket", Key: `alg-${alg}`, Body: big, ChecksumAlgorithm: alg }));
  const g = await s3.send(new GetObjectCommand({ Bucket: "js-bucket", Key: `alg-${alg}`, ChecksumMode: "ENABLED" }));
  const body = await bytes(g.Body);  // the SDK validates the response checksum while reading
  out[`alg_${alg}`] = { put: r[`Checksum${alg}`] ?? null, get: g[`Checksum${alg}`] ?? null, intact: body.equals(big) };
}

// GET with the SDK's response checksum validation.
const got = await s3.send(new GetObjectCommand({ Bucket: "js-bucket", Key: "stream.bin", ChecksumMode: "ENABLED" }));
out.stream_intact = (await bytes(got.Body)).equals(big);

// lib-storage multipart upload.
const media = Buffer.alloc(12 * 1024 * 1024 + 11);
for (let i = 0; i < media.length; i += 4096) media[i] = i % 251;
const upload = new Upload({ client: s3, params: { Bucket: "js-bucket", Key: "media/video.mp4", Body: media, ContentType: "video/mp4" }, partSize: 5 * 1024 * 1024, queueSize: 2 });
const done = await upload.done();
out.upload_etag = done.ETag;
const head = await s3.send(new HeadObjectCommand({ Bucket: "js-bucket", Key: "media/video.mp4" }));
out.upload_size = head.ContentLength;
out.upload_type = head.ContentType;
out.upload_intact = (await bytes((await s3.send(new GetObjectCommand({ Bucket: "js-bucket", Key: "media/video.mp4" }))).Body)).equals(media);

await s3.send(new CopyObjectCommand({ Bucket: "js-bucket", Key: "copy.txt", CopySource: "js-bucket/hello.txt" }));
const list = await s3.send(new ListObjectsV2Command({ Bucket: "js-bucket", Prefix: "", Delimiter: "/" }));
out.keys = (list.Contents ?? []).map((o) => o.Key);
out.prefixes = (list.CommonPrefixes ?? []).map((p) => p.Prefix);
const del = await s3.send(new DeleteObjectsCommand({ Bucket: "js-bucket", Delete: { Objects: [{ Key: "copy.txt" }, { Key: "hello.txt" }] } }));
out.deleted = (del.Deleted ?? []).map((d) => d.Key).sort();
try {
  await s3.send(new GetObjectCommand({ Bucket: "js-bucket", Key: "hello.txt" }));
  out.missing = "no error";
} catch (e) {
  out.missing = e.name;
}
console.log(JSON.stringify(out));
