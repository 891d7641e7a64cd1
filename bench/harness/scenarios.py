"""The scenarios: which wrk script, which targets, how to prepare a target for it and how to check the result.

setup(aws) creates the resources and preloads data, and returns the script arguments (key=value strings after
wrk's "--"). verify(aws, args, counters, connections) runs after the load and returns (verified, detail). Writes are
checked against the server's own state: what the server holds must lie between what it acknowledged with a 2xx and
that plus what may still have been in flight when wrk stopped (one request per connection). Reads are checked
answer by answer in the Lua script (check_ok / check_bad counters).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from . import apigw_bench
from . import aws as a
from . import lambda_bench

DYNAMODB = ("sless", "moto", "dynalite")
KINESIS = ("sless", "moto", "kinesalite")
S3 = ("sless", "moto", "s3rver")
MESSAGING = ("sless", "moto")
MIB = 1024 * 1024
SETTLE_S = 15.0  # how long asynchronous deliveries (SNS -> SQS) may take to show up

Verdict = tuple[bool, str]


@dataclass(frozen=True)
class Scenario:
    name: str
    summary: str
    targets: tuple[str, ...]
    setup: Callable[[a.Aws], dict]
    verify: Callable[[a.Aws, dict, dict, int], Verdict]
    payload_bytes: int = 0  # request body size, for MB/s
    # A measurement that is not one wrk run (lambda_bench.Run -> {"metrics": ..., "verified": ...}); setup and
    # verify are then unused.
    custom: Callable[[lambda_bench.Run], dict] | None = None

    @property
    def script(self) -> str:
        return f"{self.name}.lua"


def writes_landed(found: int, acknowledged: int, in_flight: int, noun: str) -> Verdict:
    detail = f"{found} {noun}, {acknowledged} acknowledged"
    if acknowledged == 0:
        return False, detail + ", nothing acknowledged"
    if acknowledged <= found <= acknowledged + in_flight:
        return True, detail
    return False, detail + f", expected {acknowledged}..{acknowledged + in_flight}"


def answers_checked(counters: dict, what: str) -> Verdict:
    ok, good, bad = counters["ok"], counters["check_ok"], counters["check_bad"]
    if ok > 0 and bad == 0 and good == ok:
        return True, f"all {ok} 2xx answers {what}"
    return False, f"{good} of {ok} 2xx answers {what}, {bad} did not"


# --- DynamoDB ---------------------------------------------------------------------------------------------------

def setup_ddb_put(aws):
    a.create_table(aws, "bench_put")
    return {"table": "bench_put"}


def verify_ddb_put(aws, args, counters, connections):
    return writes_landed(a.count_items(aws, args["table"]), counters["ok"], connections, "items stored")


GET_KEYS = 1000


def setup_ddb_get(aws):
    a.create_table(aws, "bench_get")
    a.put_items(aws, "bench_get", [
        {"pk": {"S": f"user#{i}"}, "sk": {"S": "profile"}, "name": {"S": f"User {i}"}, "age": {"N": str(20 + i % 50)}}
        for i in range(GET_KEYS)])
    return {"table": "bench_get", "keys": GET_KEYS}


def setup_ddb_query(aws):
    a.create_table(aws, "bench_query")
    # The queried partition, and a neighbour the key condition must skip.
    a.put_items(aws, "bench_query", [
        {"pk": {"S": f"team#{team}"}, "sk": {"S": f"item#{i:03d}"}, "title": {"S": f"task {i}"},
         "points": {"N": str(i % 13)}}
        for team in (1, 2) for i in range(100)])
    return {"table": "bench_query"}


# --- SQS / SNS --------------------------------------------------------------------------------------------------

def setup_sqs_send(aws):
    return {"queue_url": a.create_queue(aws, "bench")}


def verify_queue_filled(aws, url, counters, connections, noun):
    depth = a.poll(lambda: a.queue_depth(aws, url), lambda d: d >= counters["ok"], timeout_s=SETTLE_S)
    return writes_landed(depth, counters["ok"], connections, noun)


def verify_sqs_send(aws, args, counters, connections):
    return verify_queue_filled(aws, args["queue_url"], counters, connections, "messages queued")


CYCLE_PRELOAD = 100


def setup_sqs_cycle(aws):
    url = a.create_queue(aws, "bench-cycle")
    a.send_messages(aws, url, CYCLE_PRELOAD)
    return {"queue_url": url, "preload": CYCLE_PRELOAD}


def verify_sqs_cycle(aws, args, counters, connections):
    received, deleted, sent = counters["received"], counters["deleted"], counters["sent"]
    expected = int(args["preload"]) + sent - deleted
    depth = a.queue_depth(aws, args["queue_url"])
    detail = (f"received {received}, deleted {deleted}, sent {sent}, batch entries failed "
              f"{counters['batch_failed']}; queue holds {depth}, books say {expected}")
    # Batches whose answers wrk never read (in flight at the stop) move the depth by up to 10 per connection.
    ok = (min(received, deleted, sent) > 0 and counters["batch_failed"] == 0
          and abs(depth - expected) <= 10 * connections)
    return ok, detail


def setup_sns_publish(aws):
    sink = a.create_queue(aws, "bench-sns-sink")
    topic = aws.client("sns").create_topic(Name="bench")["TopicArn"]
    a.subscribe_queue(aws, topic, sink)
    return {"topic_arn": topic, "sink_url": sink}


def verify_sns_publish(aws, args, counters, connections):
    return verify_queue_filled(aws, args["sink_url"], counters, connections, "messages delivered to the queue")


# --- Kinesis ----------------------------------------------------------------------------------------------------

def setup_kinesis_put(aws):
    a.create_stream(aws, "bench", shards=2)
    return {"stream": "bench"}


def verify_kinesis_put(aws, args, counters, connections):
    found = a.poll(lambda: a.count_records(aws, args["stream"]), lambda n: n >= counters["ok"], timeout_s=SETTLE_S,
                   interval_s=0.5)
    return writes_landed(found, counters["ok"], connections, "records readable")


# --- S3 ---------------------------------------------------------------------------------------------------------

def bucket_setup(bucket):
    def setup(aws):
        a.create_bucket(aws, bucket)
        return {"bucket": bucket}
    return setup


def verify_objects(aws, args, counters, connections):
    return writes_landed(a.count_objects(aws, args["bucket"]), counters["ok"], connections, "objects stored")


GET_OBJECTS = 100


def setup_s3_get(aws):
    a.create_bucket(aws, "bench-get-1k")
    a.put_objects(aws, "bench-get-1k", GET_OBJECTS, 1024)
    return {"bucket": "bench-get-1k", "keys": GET_OBJECTS, "size": 1024}


# --- Lambda and API Gateway (sless only: moto_server runs functions only in Docker) ------------------------------

LAMBDA = ("sless",)


def no_setup(aws):
    return {}


def not_verified_here(aws, args, counters, connections):
    return False, "custom measurement"


# --- the list ---------------------------------------------------------------------------------------------------

def check_answers(what):
    return lambda aws, args, counters, connections: answers_checked(counters, what)


SCENARIOS: dict[str, Scenario] = {s.name: s for s in (
    Scenario("ddb_put", "DynamoDB PutItem, a new key per request", DYNAMODB, setup_ddb_put, verify_ddb_put),
    Scenario("ddb_get", f"DynamoDB GetItem on {GET_KEYS} preloaded keys", DYNAMODB, setup_ddb_get,
             check_answers("held the item")),
    Scenario("ddb_query", "DynamoDB Query, 20 of a 100-item partition", DYNAMODB, setup_ddb_query,
             check_answers("had Count 20")),
    Scenario("sqs_send", "SQS SendMessage (JSON protocol)", MESSAGING, setup_sqs_send, verify_sqs_send),
    Scenario("sqs_cycle", "SQS ReceiveMessage(10) / DeleteMessageBatch / SendMessageBatch(10)", MESSAGING,
             setup_sqs_cycle, verify_sqs_cycle),
    Scenario("sns_publish", "SNS Publish (query protocol), one SQS subscriber", MESSAGING, setup_sns_publish,
             verify_sns_publish),
    Scenario("kinesis_put", "Kinesis PutRecord, 96-byte records, 2 shards", KINESIS, setup_kinesis_put,
             verify_kinesis_put),
    Scenario("s3_put_1k", "S3 PutObject, 1 KiB, a new key per request", S3, bucket_setup("bench-put-1k"),
             verify_objects, payload_bytes=1024),
    Scenario("s3_get_1k", f"S3 GetObject, 1 KiB, {GET_OBJECTS} preloaded keys", S3, setup_s3_get,
             check_answers("had 1024 bytes")),
    Scenario("s3_put_1m", "S3 PutObject, 1 MiB, a new key per request", S3, bucket_setup("bench-put-1m"),
             verify_objects, payload_bytes=MIB),
    Scenario("lambda_invoke", "Lambda Invoke (sync) of an echo function, ~100-byte event", LAMBDA,
             lambda_bench.setup_invoke, check_answers("echoed the event")),
    Scenario("lambda_overhead", "Invoke minus GetAccountSettings of the same size, p50, wrk -t1 -c1", LAMBDA,
             no_setup, not_verified_here, custom=lambda_bench.measure_overhead),
    Scenario("lambda_cold", "a new worker's start after UpdateFunctionConfiguration", LAMBDA, no_setup,
             not_verified_here, custom=lambda_bench.measure_cold),
    Scenario("lambda_pipeline", "SQS -> function -> DynamoDB BatchWriteItem, messages/s", LAMBDA, no_setup,
             not_verified_here, custom=lambda_bench.measure_pipeline),
    Scenario("apigw_ddb", f"HTTP API GET /items/{{id}} -> function -> DynamoDB GetItem, {apigw_bench.ITEMS} items",
             LAMBDA, apigw_bench.setup, apigw_bench.verify),
    Scenario("apigw_ddb_paced", f"apigw_ddb at {apigw_bench.PACED_RATE:,} req/s offered, "
             f"{apigw_bench.PACED_CONNECTIONS} connections", LAMBDA, no_setup, not_verified_here,
             custom=apigw_bench.measure_paced),
    Scenario("fixed200", "GET of a fixed 200 \"ok\" (the HTTP ceiling)", ("nginx",), lambda aws: {},
             check_answers("were \"ok\"")),
)}
