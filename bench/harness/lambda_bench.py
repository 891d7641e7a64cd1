"""The Lambda scenarios' set-up and the measurements that are not one wrk run (see bench/README.md).

Functions come from the bench plugin (bench/functions, built next to the sless binary as
bench/functions/libbench_functions.so) and are deployed with Code.S3Bucket = "hot-reload", which makes sless load
the plugin from that path. A custom measurement gets a Run (aws, server, settings, duration, wrk script folder) and
returns {"metrics": {name: (value, unit)}, "verified": bool, "verify_detail": str, ...}.
"""

from __future__ import annotations

import base64
import re
import statistics
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from . import aws as a
from .loadgen import LoadSettings, run_wrk
from .procs import Server

ROLE = "arn:aws:iam::000000000000:role/bench"
PLUGIN = Path("bench") / "functions" / "libbench_functions.so"
ECHO = "bench-echo"
COLD_ROUNDS = 30
QUICK_COLD_ROUNDS = 10
PIPELINE_MESSAGES = 20_000
QUICK_PIPELINE_MESSAGES = 5_000
PIPELINE_TIMEOUT_S = 300.0


@dataclass
class Run:
    aws: a.Aws
    server: Server
    settings: LoadSettings
    duration_s: int
    warmup_s: int
    scripts: Path
    quick: bool


def plugin_path(aws: a.Aws) -> Path:
    """The bench plugin of the sless build under test (its binary is <build>/sless or <build>/emulator/sless)."""
    binary = getattr(aws, "sless_bin", None)
    if binary is None:
        raise RuntimeError("the sless binary is unknown (the Lambda scenarios run against sless only)")
    for build in (Path(binary).resolve().parent, Path(binary).resolve().parent.parent):
        if (build / PLUGIN).exists():
            return build / PLUGIN
    raise RuntimeError(f"{PLUGIN} not found next to {binary}: build the target bench_functions")


def deploy(aws: a.Aws, name: str, handler: str, environment: dict | None = None, timeout_s: int = 30) -> str:
    """Creates the function (or returns the one an earlier scenario of the same run created)."""
    lam = aws.client("lambda")
    try:
        return lam.get_function_configuration(FunctionName=name)["FunctionArn"]
    except lam.exceptions.ResourceNotFoundException:
        pass
    arn = lam.create_function(FunctionName=name, Runtime="provided.al2023", Role=ROLE, Handler=handler,
                              Timeout=timeout_s, Environment={"Variables": environment or {}},
                              Code={"S3Bucket": "hot-reload", "S3Key": str(plugin_path(aws))})["FunctionArn"]
    state = a.poll(lambda: lam.get_function_configuration(FunctionName=name)["State"], lambda s: s == "Active")
    if state != "Active":
        raise RuntimeError(f"function {name} still {state}")
    return arn


def setup_invoke(aws: a.Aws) -> dict:
    deploy(aws, ECHO, "echo")
    return {"function": ECHO}


# --- lambda_overhead: Invoke minus a plain request of the same size, one connection -------------------------------

OVERHEAD_ROUNDS = 4


def measure_overhead(run: Run) -> dict:
    """wrk -t1 -c1 on lambda_invoke.lua and on lambda_plain.lua (GetAccountSettings with the same body), alternated in
    OVERHEAD_ROUNDS rounds of a quarter of the duration each: with one request in flight there is no queueing, so the
    difference of the medians is what an invoke adds. A single-connection median drifts by tens of µs from one run to
    the next on this machine (where the processes land), so the overhead is the median of the rounds' differences,
    each taken between runs a few seconds apart, and the other figures are medians of the rounds."""
    setup_invoke(run.aws)
    seconds = max(1, run.duration_s // OVERHEAD_ROUNDS)
    single = LoadSettings(1, 1, seconds, run.settings.timeout_s)
    scripts = (("invoke", "lambda_invoke.lua"), ("plain", "lambda_plain.lua"))
    if run.warmup_s:
        for _, script in scripts:
            run_wrk(run.scripts / script, run.server, LoadSettings(1, 1, run.warmup_s, single.timeout_s),
                    run.warmup_s, {"function": ECHO, "run": 0})
    rounds = []
    for i in range(OVERHEAD_ROUNDS):
        rounds.append({name: run_wrk(run.scripts / script, run.server, single, seconds, {"function": ECHO, "run": i + 1})
                       for name, script in scripts})
    med = statistics.median

    def median_of(name: str, pick) -> float:
        return med(pick(r[name]) for r in rounds)

    p50_us = lambda numbers: numbers["latency_ms"]["p50"] * 1000  # noqa: E731
    overhead_p50_us = med(p50_us(r["invoke"]) - p50_us(r["plain"]) for r in rounds)
    every = [numbers for r in rounds for numbers in r.values()]
    checks_ok = all(n["counters"]["check_bad"] == 0 and n["counters"]["ok"] > 0 and n["errors"] == 0 for n in every)
    cpu = lambda numbers: numbers["server_cpu_us_per_request"]  # noqa: E731
    return {
        "metrics": {
            "invoke p50": (median_of("invoke", p50_us), "µs"),
            "invoke p99": (median_of("invoke", lambda n: n["latency_ms"]["p99"] * 1000), "µs"),
            "invoke req/s (1 connection)": (median_of("invoke", lambda n: n["rps"]), "/s"),
            "invoke server CPU": (median_of("invoke", cpu), "µs/req"),
            "plain p50": (median_of("plain", p50_us), "µs"),
            "plain server CPU": (median_of("plain", cpu), "µs/req"),
            "overhead p50 (invoke - plain)": (overhead_p50_us, "µs"),
            "overhead p50 per round": (", ".join(f"{p50_us(r['invoke']) - p50_us(r['plain']):.0f}" for r in rounds), "µs"),
            "overhead CPU (invoke - plain)": (med(cpu(r["invoke"]) - cpu(r["plain"]) for r in rounds), "µs/req"),
        },
        "runs": {f"round {i + 1}": r for i, r in enumerate(rounds)},
        "verified": checks_ok,
        "verify_detail": (f"{sum(r['invoke']['counters']['check_ok'] for r in rounds)} echoes and "
                          f"{sum(r['plain']['counters']['check_ok'] for r in rounds)} plain answers checked in "
                          f"{OVERHEAD_ROUNDS} rounds, {sum(n['errors'] for n in every)} errors"),
        "other_cpu_s": sum(n["other_cpu_s"] for n in every),
        "elapsed_s": sum(n["elapsed_s"] for n in every),
    }


# --- lambda_cold: a new worker's start -----------------------------------------------------------------------------

INIT_DURATION = re.compile(r"Init Duration: ([0-9.]+) ms")


def _timed_invoke(lam, name: str) -> tuple[float, str]:
    started = time.perf_counter()
    answer = lam.invoke(FunctionName=name, Payload=b'{"order":"cold-start"}', LogType="Tail")
    elapsed_ms = (time.perf_counter() - started) * 1000
    if answer.get("FunctionError") or b"cold-start" not in answer["Payload"].read():
        raise RuntimeError(f"invoke of {name} failed: {answer.get('FunctionError')}")
    return elapsed_ms, base64.b64decode(answer.get("LogResult", "")).decode(errors="replace")


def measure_cold(run: Run) -> dict:
    """Each round changes the function's configuration (an environment variable): sless then retires the old
    workers, and the next Invoke must start a new worker (fork from the zygote, dlopen, handshake). Reported: the
    host's own Init Duration (from spawn request to the worker's ready message; the REPORT line of that first
    invocation) and the client's round trip of the cold Invoke against a warm one right after it."""
    name = "bench-cold"
    deploy(run.aws, name, "echo", {"ROUND": "0"})
    lam = run.aws.client("lambda")
    _timed_invoke(lam, name)  # boto3's connection and the first worker
    rounds = QUICK_COLD_ROUNDS if run.quick else COLD_ROUNDS
    init_ms, cold_ms, warm_ms = [], [], []
    for i in range(1, rounds + 1):
        lam.update_function_configuration(FunctionName=name, Environment={"Variables": {"ROUND": str(i)}})
        a.poll(lambda: lam.get_function_configuration(FunctionName=name)["LastUpdateStatus"],
               lambda s: s == "Successful")
        elapsed, log = _timed_invoke(lam, name)
        found = INIT_DURATION.search(log)
        if not found:
            raise RuntimeError(f"round {i}: the first invoke after the update was not cold (no Init Duration)")
        init_ms.append(float(found.group(1)))
        cold_ms.append(elapsed)
        elapsed, log = _timed_invoke(lam, name)
        if INIT_DURATION.search(log):
            raise RuntimeError(f"round {i}: the second invoke after the update was cold too")
        warm_ms.append(elapsed)
    median = statistics.median
    return {
        "metrics": {
            "Init Duration p50 (host)": (median(init_ms) * 1000, "µs"),
            "Init Duration max (host)": (max(init_ms) * 1000, "µs"),
            "cold Invoke p50 (boto3)": (median(cold_ms) * 1000, "µs"),
            "warm Invoke p50 (boto3)": (median(warm_ms) * 1000, "µs"),
            "cold - warm p50 (client)": ((median(cold_ms) - median(warm_ms)) * 1000, "µs"),
        },
        "samples_ms": {"init": init_ms, "cold": cold_ms, "warm": warm_ms},
        "verified": True,
        "verify_detail": f"{rounds} rounds, each cold once (Init Duration reported) and warm after",
    }


# --- lambda_pipeline: SQS -> function -> DynamoDB ------------------------------------------------------------------

def _send_all(aws: a.Aws, url: str, count: int, senders: int = 4) -> None:
    errors = []

    def send(part: int) -> None:
        try:
            sqs = aws.client("sqs") if part == 0 else a.Aws(aws.endpoint, "AKIDEXAMPLE").client("sqs")
            for start in range(part * 10, count, 10 * senders):
                entries = [{"Id": str(i), "MessageBody": f"msg-{start + i:07d}"} for i in range(min(10, count - start))]
                failed = sqs.send_message_batch(QueueUrl=url, Entries=entries).get("Failed", [])
                if failed:
                    raise RuntimeError(f"SendMessageBatch failed: {failed[0]}")
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=send, args=(part,)) for part in range(senders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]


def measure_pipeline(run: Run) -> dict:
    """N messages are queued while the mapping is disabled; then the mapping is enabled and the clock runs until the
    queue is empty (a message is deleted only after the function wrote its item and answered), after which every
    item is counted. messages/s = N / that time; server CPU per message over the same interval."""
    aws = run.aws
    count = QUICK_PIPELINE_MESSAGES if run.quick else PIPELINE_MESSAGES
    a.create_table(aws, "bench_pipeline")
    url = aws.client("sqs").create_queue(QueueName="bench-pipeline", Attributes={"VisibilityTimeout": "120"})["QueueUrl"]
    queue_arn = aws.client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    deploy(aws, "bench-sqs-ddb", "sqs_to_dynamodb", {"TABLE_NAME": "bench_pipeline"})
    lam = aws.client("lambda")
    uuid = lam.create_event_source_mapping(EventSourceArn=queue_arn, FunctionName="bench-sqs-ddb", BatchSize=10,
                                           Enabled=False)["UUID"]
    _send_all(aws, url, count)
    queued = a.queue_depth(aws, url)
    cpu_before = run.server.cpu_seconds()
    started = time.perf_counter()
    lam.update_event_source_mapping(UUID=uuid, Enabled=True)
    depth = a.poll(lambda: a.queue_depth(aws, url), lambda d: d == 0, timeout_s=PIPELINE_TIMEOUT_S, interval_s=0.02)
    elapsed = time.perf_counter() - started
    cpu = run.server.cpu_seconds() - cpu_before
    lam.update_event_source_mapping(UUID=uuid, Enabled=False)
    items = a.count_items(aws, "bench_pipeline")
    verified = queued == count and depth == 0 and items == count
    return {
        "metrics": {
            "messages": (count, ""),
            "messages/s": (count / elapsed, "/s"),
            "seconds": (elapsed, "s"),
            "server CPU per message": (cpu * 1e6 / count, "µs"),
        },
        "verified": verified,
        "verify_detail": f"{queued} queued, {depth} left in the queue, {items} items in the table",
    }
