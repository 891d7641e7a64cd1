// Kinesis through the AWS SDK for JavaScript v3 (@aws-sdk/client-kinesis), and the CBOR wire
// format (application/x-amz-cbor-1.1) spoken with @smithy/core's CBOR codec, against a running
// sless. Usage: node kinesis.mjs <endpoint>. Prints "ok <check>" per check; exits non-zero on
// the first failure. The client speaks JSON 1.1 (this SDK version's default protocol for
// Kinesis) over its default handler, HTTP/2 without TLS (h2c); one check uses HTTP/1.1.
import assert from "node:assert/strict";

import {
  CreateStreamCommand,
  DescribeStreamCommand,
  GetRecordsCommand,
  GetShardIteratorCommand,
  KinesisClient,
  ListShardsCommand,
  PutRecordCommand,
  PutRecordsCommand,
  ResourceNotFoundException,
  waitUntilStreamExists,
} from "@aws-sdk/client-kinesis";
import { cbor, tag } from "@smithy/core/cbor";
import { NodeHttpHandler } from "@smithy/node-http-handler";

const endpoint = process.argv[2];
const client = new KinesisClient({
  endpoint,
  region: "us-east-1",
  credentials: { accessKeyId: "AKIDSLESSTEST", secretAccessKey: "sless-secret" },
  maxAttempts: 1,
});
// The same client over HTTP/1.1, as configured by users who pass a NodeHttpHandler.
const http1 = new KinesisClient({
  endpoint,
  region: "us-east-1",
  credentials: { accessKeyId: "AKIDSLESSTEST", secretAccessKey: "sless-secret" },
  maxAttempts: 1,
  requestHandler: new NodeHttpHandler(),
});
const encoder = new TextEncoder();
const decoder = new TextDecoder();

async function readShard(stream, shardId) {
  let { ShardIterator: it } = await client.send(
    new GetShardIteratorCommand({ StreamName: stream, ShardId: shardId, ShardIteratorType: "TRIM_HORIZON" }));
  const out = [];
  while (it) {
    const page = await client.send(new GetRecordsCommand({ ShardIterator: it, Limit: 1000 }));
    out.push(...page.Records);
    if (page.Records.length === 0) break;
    it = page.NextShardIterator;
  }
  return out;
}

async function sdk() {
  await client.send(new CreateStreamCommand({ StreamName: "js-stream", ShardCount: 2 }));
  const started = Date.now();
  await waitUntilStreamExists({ client, maxWaitTime: 20, minDelay: 1 }, { StreamName: "js-stream" });
  assert.ok(Date.now() - started < 5000, "the waiter returns without its full delay");
  console.log("ok waiter");

  const put = await client.send(new PutRecordCommand({
    StreamName: "js-stream", PartitionKey: "device-1", Data: new Uint8Array([0, 1, 2, 250, 255]),
  }));
  assert.match(put.SequenceNumber, /^\d{56}$/);
  const records = await readShard("js-stream", put.ShardId);
  assert.deepEqual(Array.from(records[0].Data), [0, 1, 2, 250, 255]);
  assert.ok(records[0].ApproximateArrivalTimestamp instanceof Date);
  assert.ok(Math.abs(records[0].ApproximateArrivalTimestamp.getTime() - Date.now()) < 60000);
  console.log("ok put-get");

  // Concurrent producers: each writes its own keys in order; per shard the order holds.
  const producers = [0, 1, 2, 3].map(async (p) => {
    for (let i = 0; i < 25; i++) {
      const data = encoder.encode(`${p}:${i}`);
      if (i % 5 === 4) {
        const r = await client.send(new PutRecordsCommand({
          StreamName: "js-stream", Records: [{ Data: data, PartitionKey: `p${p}-${i % 3}` }],
        }));
        assert.equal(r.FailedRecordCount, 0);
      } else {
        await client.send(new PutRecordCommand({ StreamName: "js-stream", Data: data, PartitionKey: `p${p}-${i % 3}` }));
      }
    }
  });
  await Promise.all(producers);
  const { Shards } = await client.send(new ListShardsCommand({ StreamName: "js-stream" }));
  let total = 0;
  for (const shard of Shards) {
    const last = new Map();
    for (const r of await readShard("js-stream", shard.ShardId)) {
      const text = decoder.decode(r.Data);
      if (!text.includes(":")) continue;
      const [p, i] = text.split(":").map(Number);
      const key = `${p}/${r.PartitionKey}`;
      assert.ok(!last.has(key) || last.get(key) < i, `reordered in ${shard.ShardId}: ${key}`);
      last.set(key, i);
      total++;
    }
  }
  assert.equal(total, 100);
  console.log("ok ordering");

  await assert.rejects(client.send(new DescribeStreamCommand({ StreamName: "nope" })),
    (e) => e instanceof ResourceNotFoundException && /nope/.test(e.message));
  console.log("ok errors");

  const shards = await http1.send(new ListShardsCommand({ StreamName: "js-stream" }));
  assert.equal(shards.Shards.length, 2);
  console.log("ok http1");
}

// One Kinesis call in CBOR, as the AWS SDK for Java makes it.
async function cborCall(operation, body, raw) {
  const res = await fetch(endpoint, {
    method: "POST",
    headers: {
      "Content-Type": "application/x-amz-cbor-1.1",
      "X-Amz-Target": `Kinesis_20131202.${operation}`,
      Authorization: "AWS4-HMAC-SHA256 Credential=AKIDSLESSTEST/20240101/us-east-1/kinesis/aws4_request, " +
        "SignedHeaders=host, Signature=0000",
    },
    body: raw ?? cbor.serialize(body),
  });
  assert.equal(res.headers.get("content-type"), "application/x-amz-cbor-1.1");
  const bytes = new Uint8Array(await res.arrayBuffer());
  return { status: res.status, body: cbor.deserialize(bytes) };
}

async function wire() {
  let r = await cborCall("CreateStream", { StreamName: "cbor-stream", ShardCount: 1 });
  assert.equal(r.status, 200);
  await waitUntilStreamExists({ client, maxWaitTime: 20, minDelay: 1 }, { StreamName: "cbor-stream" });
  const before = Date.now() - 1000;
  r = await cborCall("PutRecord", { StreamName: "cbor-stream", PartitionKey: "k", Data: new Uint8Array([7, 8, 9]) });
  assert.equal(r.status, 200);
  assert.equal(r.body.ShardId, "shardId-000000000000");
  const seq = r.body.SequenceNumber;

  // A timestamp goes in as tag 1 around epoch milliseconds (AWS's CBOR convention).
  r = await cborCall("GetShardIterator", {
    StreamName: "cbor-stream", ShardId: "shardId-000000000000", ShardIteratorType: "AT_TIMESTAMP",
    Timestamp: tag({ tag: 1, value: before }),
  });
  assert.equal(r.status, 200);
  r = await cborCall("GetRecords", { ShardIterator: r.body.ShardIterator });
  assert.equal(r.status, 200);
  const rec = r.body.Records[0];
  assert.equal(rec.SequenceNumber, seq);
  assert.ok(rec.Data instanceof Uint8Array, "blobs come back as byte strings");
  assert.deepEqual(Array.from(rec.Data), [7, 8, 9]);
  const ts = rec.ApproximateArrivalTimestamp;
  assert.equal(ts.tag, 1, "timestamps come back as tag 1");
  assert.ok(Math.abs(Number(ts.value) - Date.now()) < 60000, "tag 1 holds epoch milliseconds");
  assert.equal(typeof r.body.NextShardIterator, "string");
  console.log("ok cbor-records");

  r = await cborCall("DescribeStream", { StreamName: "missing" });
  assert.equal(r.status, 400);
  assert.match(r.body.__type, /ResourceNotFoundException$/);
  assert.match(r.body.message, /missing/);
  r = await cborCall("PutRecord", null, new Uint8Array([0xbf, 0x61]));
  assert.equal(r.status, 400);
  assert.match(r.body.__type, /SerializationException$/);
  console.log("ok cbor-errors");
}

try {
  await sdk();
  await wire();
  console.log("all ok");
  client.destroy();
  http1.destroy();
} catch (e) {
  console.error(e);
  process.exit(1);
}
