#!/usr/bin/env python3
"""Writes requests.json: one real client request per modelled operation of every service sless
serves, as botocore builds and signs it (nothing is sent). The resolution and parsing unit tests
replay them: each must resolve to its service and parse to its operation.

SQS's legacy query protocol is produced by loading emulator/protocol/specs/sqs-query.json into
botocore in place of its JSON model.

Usage: make_requests.py   (rewrites requests.json beside itself)
"""
import base64
import datetime
import json
import os
import shutil
import tempfile

import boto3
import botocore
import botocore.session
from botocore import xform_name

HERE = os.path.dirname(os.path.abspath(__file__))
SPECS = os.path.join(HERE, "..", "..", "..", "emulator", "protocol", "specs")
SERVICES = ["dynamodb", "dynamodbstreams", "s3", "sqs", "sns", "kinesis", "lambda", "apigateway",
            "apigatewayv2", "stepfunctions", "events", "cognito-idp", "kms", "logs"]


class Captured(Exception):
    def __init__(self, request):
        self.request = request


def value_for(shape, depth=0, name=""):
    t = shape.type_name
    if t == "structure":
        out = {}
        for member in shape.required_members:
            out[member] = value_for(shape.members[member], depth + 1, member)
        if shape.metadata.get("union") and not out and shape.members and depth < 6:
            first = sorted(shape.members)[0]
            out[first] = value_for(shape.members[first], depth + 1, first)
        return out
    if t == "list":
        n = max(1, shape.metadata.get("min", 1))
        return [value_for(shape.member, depth + 1, name) for _ in range(min(n, 2))]
    if t == "map":
        return {"k": value_for(shape.value, depth + 1, name)}
    if t == "string":
        if shape.enum:
            return shape.enum[0]
        if name in ("Bucket", "BucketName"):
            return "bucket-one"
        if name in ("QueueUrl",):
            return "http://127.0.0.1:4566/000000000000/q1"
        n = max(1, shape.metadata.get("min", 1))
        return "a" * min(n, 64)
    if t in ("integer", "long"):
        return max(1, int(shape.metadata.get("min", 1)))
    if t in ("float", "double"):
        return float(max(1, shape.metadata.get("min", 1)))
    if t == "boolean":
        return True
    if t == "blob":
        return b"blob"
    if t == "timestamp":
        return datetime.datetime(2025, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc)
    return "x"


def capture_all(client, model_name):
    out = []
    captured = {}

    def on_send(request, **kwargs):
        raise Captured(request)

    client.meta.events.register("before-send", on_send)
    model = client.meta.service_model
    for op_name in sorted(model.operation_names):
        op = model.operation_model(op_name)
        params = value_for(op.input_shape) if op.input_shape else {}
        try:
            getattr(client, xform_name(op_name))(**params)
        except Captured as c:
            r = c.request
            body = r.body
            if hasattr(body, "read"):
                body = body.read()
            if isinstance(body, str):
                body = body.encode()
            body = body or b""
            url = r.url
            target = url[url.index("/", len("http://")):]
            out.append({
                "model": model_name,
                "operation": op_name,
                "method": r.method,
                "target": target,
                "headers": [[k, v.decode() if isinstance(v, bytes) else v] for k, v in r.headers.items()],
                "body_b64": base64.b64encode(body).decode(),
            })
        except Exception as e:  # noqa: BLE001 - report and carry on
            print(f"skipped {model_name}.{op_name}: {type(e).__name__}: {e}")
    return out


def client_for(session, service):
    cfg = botocore.config.Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1})
    return session.create_client(service, endpoint_url="http://127.0.0.1:4566", region_name="us-east-1",
                                 aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="secret", config=cfg)


def main():
    requests = []
    session = botocore.session.get_session()
    for service in SERVICES:
        requests += capture_all(client_for(session, service), service)
    # SQS over the query protocol: our legacy model, loaded in place of botocore's JSON one.
    tmp = tempfile.mkdtemp()
    try:
        os.makedirs(os.path.join(tmp, "sqs", "2012-11-05"))
        shutil.copy(os.path.join(SPECS, "sqs-query.json"), os.path.join(tmp, "sqs", "2012-11-05", "service-2.json"))
        legacy = botocore.session.get_session()
        legacy.get_component("data_loader").search_paths.insert(0, tmp)
        requests += capture_all(client_for(legacy, "sqs"), "sqs-query")
    finally:
        shutil.rmtree(tmp)
    with open(os.path.join(HERE, "requests.json"), "w") as f:
        json.dump({"botocore": botocore.__version__, "requests": requests}, f, indent=0)
        f.write("\n")
    print(f"{len(requests)} requests from botocore {botocore.__version__}")


if __name__ == "__main__":
    main()
