"""The API Gateway scenarios (issue #8's figure): HTTP API route GET /items/{id} -> Lambda proxy integration (payload
2.0) -> the bench plugin's get_item -> DynamoDB GetItem -> the item as plain JSON.

Set-up is what an aws CLI user does, through boto3 against the daemon: a table of ITEMS items, the function
(lambda_bench.deploy), then apigatewayv2 CreateApi, CreateIntegration (AWS_PROXY), CreateRoute, CreateStage $default
with auto-deploy, and Lambda AddPermission for execute-api. It is idempotent, so both scenarios share one API
within a run. apigw_ddb is an ordinary wrk scenario; apigw_ddb_paced is a custom measurement (one wrk run at a
fixed offered rate, see common.pacer in bench/scenarios/common.lua).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request

from . import aws as a
from . import lambda_bench
from .loadgen import LoadSettings, run_wrk

TABLE = "bench_items"
ITEMS = 1000
FUNCTION = "bench-get-item"
API_NAME = "bench-items"
ROUTE = "GET /items/{id}"
PACED_RATE = 5000  # req/s offered, all wrk threads together (issue #8: p99 <= 1 ms at 5k req/s)
PACED_CONNECTIONS = 50  # a cap on requests in flight, not a rate: 50 / 5,000 req/s leaves 10 ms per request
REACHED = 0.95  # achieved / offered at or above which the offered rate counts as reached


def item(i: int) -> dict:
    """Item i in DynamoDB's typed form; apigw_items.lua checks name, price and qty of every answer."""
    return {"id": {"S": f"item-{i}"}, "name": {"S": f"Item {i}"}, "price": {"N": f"{(i * 37) % 1000}.25"},
            "qty": {"N": str(i % 50)}, "in_stock": {"BOOL": i % 3 != 0},
            "tags": {"L": [{"S": "bench"}, {"S": f"group-{i % 10}"}]}}


def plain(i: int) -> dict:
    """Item i as the function answers it."""
    return {"id": f"item-{i}", "name": f"Item {i}", "price": (i * 37) % 1000 + 0.25, "qty": i % 50,
            "in_stock": i % 3 != 0, "tags": ["bench", f"group-{i % 10}"]}


def _table(aws: a.Aws) -> None:
    ddb = aws.client("dynamodb")
    try:
        ddb.describe_table(TableName=TABLE)
        return
    except ddb.exceptions.ResourceNotFoundException:
        pass
    a.create_table(aws, TABLE, keys=("id",))
    a.put_items(aws, TABLE, [item(i) for i in range(ITEMS)])


def _api(aws: a.Aws, function_arn: str) -> str:
    """The HTTP API's id; created with its integration, route and auto-deployed $default stage if missing."""
    v2 = aws.client("apigatewayv2")
    for api in v2.get_apis().get("Items", []):
        if api["Name"] == API_NAME:
            return api["ApiId"]
    api_id = v2.create_api(Name=API_NAME, ProtocolType="HTTP")["ApiId"]
    integration = v2.create_integration(ApiId=api_id, IntegrationType="AWS_PROXY", IntegrationUri=function_arn,
                                        PayloadFormatVersion="2.0")["IntegrationId"]
    v2.create_route(ApiId=api_id, RouteKey=ROUTE, Target=f"integrations/{integration}")
    v2.create_stage(ApiId=api_id, StageName="$default", AutoDeploy=True)
    account = function_arn.split(":")[4]
    aws.client("lambda").add_permission(
        FunctionName=FUNCTION, StatementId=f"apigw-{api_id}", Action="lambda:InvokeFunction",
        Principal="apigateway.amazonaws.com",
        SourceArn=f"arn:aws:execute-api:{a.REGION}:{account}:{api_id}/*/GET/items/{{id}}")
    return api_id


def _get(aws: a.Aws, api_id: str, path: str) -> tuple[int, str, str]:
    """GET through the execute-api Host form on the daemon's port: (status, Content-Type, body)."""
    host = f"{api_id}.execute-api.localhost:{aws.endpoint.rsplit(':', 1)[1]}"
    request = urllib.request.Request(aws.endpoint + path, headers={"Host": host})
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, answer.headers.get("Content-Type", ""), answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("Content-Type", ""), error.read().decode()


def setup(aws: a.Aws) -> dict:
    """Table, function, API; then one found and one missing item through the API, so that a broken chain fails the
    set-up with its own answer rather than as wrk's error count."""
    _table(aws)
    arn = lambda_bench.deploy(aws, FUNCTION, "get_item", {"TABLE_NAME": TABLE})
    api_id = _api(aws, arn)
    for path, want_status, want_body in ((f"/items/item-{ITEMS - 1}", 200, plain(ITEMS - 1)),
                                         ("/items/missing", 404, {"message": "not found"})):
        status, content_type, body = _get(aws, api_id, path)
        try:
            parsed = json.loads(body)
        except ValueError:
            parsed = None
        if status != want_status or parsed != want_body or content_type != "application/json":
            raise RuntimeError(f"GET {path} answered {status} {content_type!r} {body[:200]!r}, expected "
                               f"{want_status} application/json {json.dumps(want_body)}")
    return {"api": api_id, "keys": ITEMS}


def verify(aws: a.Aws, args: dict, counters: dict, connections: int) -> tuple[bool, str]:
    """Every 2xx answer was an item its thread had asked for, with that item's fields, and no answer was non-2xx."""
    ok, good, bad, non2xx = counters["ok"], counters["check_ok"], counters["check_bad"], counters["non2xx"]
    detail = f"{good} of {ok} 2xx answers were the requested item, {non2xx} non-2xx"
    return ok > 0 and good == ok and bad == 0 and non2xx == 0, detail


def measure_paced(run: lambda_bench.Run) -> dict:
    """One wrk run (after the warm-up) offering PACED_RATE req/s over PACED_CONNECTIONS connections; reports the
    offered and achieved rates with the latencies wrk saw (from each request's send)."""
    args = {**setup(run.aws), "rate": PACED_RATE, "threads": run.settings.threads}
    settings = LoadSettings(run.settings.threads, max(PACED_CONNECTIONS, run.settings.threads), run.duration_s,
                            run.settings.timeout_s)
    script = run.scripts / "apigw_ddb_paced.lua"
    counters = {}
    if run.warmup_s:
        warmup = run_wrk(script, run.server, settings, run.warmup_s, {**args, "run": 0})
        counters = dict(warmup["counters"])
    numbers = run_wrk(script, run.server, settings, run.duration_s, {**args, "run": 1})
    for name, value in numbers["counters"].items():
        counters[name] = counters.get(name, 0) + value
    verified, detail = verify(run.aws, args, counters, settings.connections)
    verified = verified and not any(numbers["socket_errors"].values())
    share = numbers["rps"] / PACED_RATE
    latency = numbers["latency_ms"]
    return {
        "metrics": {
            "offered req/s": (PACED_RATE, "/s"),
            "achieved req/s": (numbers["rps"], "/s"),
            "achieved / offered": (share * 100, "%"),
            "p50": (latency["p50"] * 1000, "µs"),
            "p99": (latency["p99"] * 1000, "µs"),
            "p99.9": (latency["p999"] * 1000, "µs"),
            "late sends (every connection busy)": (numbers["counters"]["late"], ""),
            "errors": (numbers["errors"], ""),
            "server CPU": (numbers["server_cpu_us_per_request"] or 0.0, "µs/req"),
            "other load": (100 * numbers["other_cpu_s"] / numbers["elapsed_s"] if numbers["elapsed_s"] else 0.0,
                           "% of a core"),
        },
        "runs": {"paced": numbers},
        "verified": verified,
        "verify_detail": (f"offered {PACED_RATE:,} req/s over {settings.connections} connections, achieved "
                          f"{numbers['rps']:,.0f} ({'reached' if share >= REACHED else 'NOT reached'}); {detail}"),
        "other_cpu_s": numbers["other_cpu_s"],
        "elapsed_s": numbers["elapsed_s"],
    }
