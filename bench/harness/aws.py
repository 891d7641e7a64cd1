"""boto3 helpers for scenario set-up and verification against one target's endpoint.

Every loop here is bounded by a deadline or a page count; nothing retries forever.
"""

from __future__ import annotations

import time
from typing import Callable

try:
    import boto3
    from botocore.config import Config
except ImportError:  # reported by bench/run before any target starts
    boto3 = None

REGION = "us-east-1"
WAIT_S = 30.0
MAX_PAGES = 10_000


class Aws:
    """Lazily created clients for one endpoint, with dummy credentials."""

    def __init__(self, endpoint: str, access_key: str):
        self.endpoint = endpoint
        self._session = boto3.session.Session(aws_access_key_id=access_key, aws_secret_access_key="benchsecret",
                                              region_name=REGION)
        self._config = Config(connect_timeout=5, read_timeout=120, retries={"max_attempts": 3, "mode": "standard"},
                              s3={"addressing_style": "path"}, request_checksum_calculation="when_required",
                              response_checksum_validation="when_required")
        self._clients = {}

    def client(self, service: str):
        if service not in self._clients:
            self._clients[service] = self._session.client(service, endpoint_url=self.endpoint, config=self._config)
        return self._clients[service]


def poll(fetch: Callable[[], object], done: Callable[[object], bool], timeout_s: float = WAIT_S,
         interval_s: float = 0.05):
    """Calls fetch until done(value) or the deadline; returns the last value either way."""
    deadline = time.monotonic() + timeout_s
    value = fetch()
    while not done(value) and time.monotonic() < deadline:
        time.sleep(interval_s)
        value = fetch()
    return value


# --- DynamoDB ---------------------------------------------------------------------------------------------------

def create_table(aws: Aws, name: str, keys: tuple[str, ...] = ("pk", "sk")) -> None:
    """A PAY_PER_REQUEST table keyed by string attributes: keys[0] the partition key, keys[1] (if any) the sort key."""
    ddb = aws.client("dynamodb")
    ddb.create_table(TableName=name, BillingMode="PAY_PER_REQUEST",
                     AttributeDefinitions=[{"AttributeName": key, "AttributeType": "S"} for key in keys],
                     KeySchema=[{"AttributeName": key, "KeyType": kind} for key, kind in zip(keys, ("HASH", "RANGE"))])
    status = poll(lambda: ddb.describe_table(TableName=name)["Table"]["TableStatus"], lambda s: s == "ACTIVE")
    if status != "ACTIVE":
        raise RuntimeError(f"table {name} still {status} after {WAIT_S:.0f} s")


def put_items(aws: Aws, table: str, items: list[dict]) -> None:
    """BatchWriteItem in batches of 25, resending unprocessed items a bounded number of times."""
    ddb = aws.client("dynamodb")
    for start in range(0, len(items), 25):
        requests = [{"PutRequest": {"Item": item}} for item in items[start:start + 25]]
        for _attempt in range(20):
            left = ddb.batch_write_item(RequestItems={table: requests}).get("UnprocessedItems", {})
            requests = left.get(table, [])
            if not requests:
                break
        else:
            raise RuntimeError(f"BatchWriteItem on {table} kept returning unprocessed items")


def count_items(aws: Aws, table: str) -> int:
    ddb = aws.client("dynamodb")
    total, start_key = 0, None
    for _page in range(MAX_PAGES):
        kwargs = {"TableName": table, "Select": "COUNT"}
        if start_key:
            kwargs["ExclusiveStartKey"] = start_key
        page = ddb.scan(**kwargs)
        total += page["Count"]
        start_key = page.get("LastEvaluatedKey")
        if not start_key:
            return total
    raise RuntimeError(f"Scan of {table} did not end within {MAX_PAGES} pages")


# --- SQS / SNS --------------------------------------------------------------------------------------------------

def create_queue(aws: Aws, name: str) -> str:
    return aws.client("sqs").create_queue(QueueName=name)["QueueUrl"]


def queue_depth(aws: Aws, url: str) -> int:
    """Visible + in flight + delayed messages."""
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible",
             "ApproximateNumberOfMessagesDelayed"]
    attributes = aws.client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]
    return sum(int(attributes.get(name, 0)) for name in names)


def send_messages(aws: Aws, url: str, count: int) -> None:
    sqs = aws.client("sqs")
    for start in range(0, count, 10):
        entries = [{"Id": str(i), "MessageBody": f"preloaded job {start + i}"} for i in range(min(10, count - start))]
        failed = sqs.send_message_batch(QueueUrl=url, Entries=entries).get("Failed", [])
        if failed:
            raise RuntimeError(f"SendMessageBatch failed: {failed[0]}")


def subscribe_queue(aws: Aws, topic_arn: str, queue_url: str) -> None:
    queue_arn = aws.client("sqs").get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])
    aws.client("sns").subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn["Attributes"]["QueueArn"])


# --- Kinesis ----------------------------------------------------------------------------------------------------

def create_stream(aws: Aws, name: str, shards: int) -> None:
    kinesis = aws.client("kinesis")
    kinesis.create_stream(StreamName=name, ShardCount=shards)
    status = poll(lambda: kinesis.describe_stream(StreamName=name)["StreamDescription"]["StreamStatus"],
                  lambda s: s == "ACTIVE")
    if status != "ACTIVE":
        raise RuntimeError(f"stream {name} still {status} after {WAIT_S:.0f} s")


def count_records(aws: Aws, stream: str) -> int:
    """Reads every shard from TRIM_HORIZON until a read returns nothing."""
    kinesis = aws.client("kinesis")
    total = 0
    for shard in kinesis.list_shards(StreamName=stream)["Shards"]:
        iterator = kinesis.get_shard_iterator(StreamName=stream, ShardId=shard["ShardId"],
                                              ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        for _page in range(MAX_PAGES):
            page = kinesis.get_records(ShardIterator=iterator, Limit=10_000)
            total += len(page["Records"])
            iterator = page.get("NextShardIterator")
            if not page["Records"] or not iterator:
                break
    return total


# --- S3 ---------------------------------------------------------------------------------------------------------

def create_bucket(aws: Aws, name: str) -> None:
    aws.client("s3").create_bucket(Bucket=name)


def put_objects(aws: Aws, bucket: str, count: int, size: int) -> None:
    s3 = aws.client("s3")
    body = bytes(range(256)) * (size // 256)
    for i in range(count):
        s3.put_object(Bucket=bucket, Key=f"obj-{i}", Body=body)


def count_objects(aws: Aws, bucket: str) -> int:
    """ListObjects (v1, paged by Marker): s3rver's v2 continuation tokens need DES, which Node 20's OpenSSL lacks."""
    s3 = aws.client("s3")
    total, marker = 0, ""
    for _page in range(MAX_PAGES):
        page = s3.list_objects(Bucket=bucket, MaxKeys=1000, Marker=marker)
        contents = page.get("Contents", [])
        total += len(contents)
        if not page.get("IsTruncated") or not contents:
            return total
        marker = contents[-1]["Key"]
    raise RuntimeError(f"listing {bucket} did not end within {MAX_PAGES} pages")
