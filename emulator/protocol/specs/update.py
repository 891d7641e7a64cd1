#!/usr/bin/env python3
"""Refresh the stripped AWS API models under emulator/protocol/specs/.

The models are facts about AWS's wire format: operations, shapes, locations,
XML names, timestamp formats and error codes. We keep a copy stripped of
documentation so that the build does not depend on whatever botocore the build
machine happens to have (versions disagree: SQS moved from query to JSON).

Sources:
  * botocore's data directory (the installed botocore, version recorded in
    VERSIONS.json) for every service;
  * the npm package aws-sdk (v2) at a version that still carries SQS's legacy
    query model, for `sqs-query.json` (SDKs and plain `Action=` clients that
    still speak the query protocol). Its minified model has inline shapes; we
    hoist them to named shapes and borrow the error shapes from the JSON model.

Usage: update.py [--aws-sdk-tgz PATH]   (run from anywhere; writes beside itself)
"""
import argparse
import glob
import gzip
import json
import os
import subprocess
import sys
import tarfile
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))

# service name in sless -> botocore data directory
SERVICES = {
    "dynamodb": "dynamodb",
    "dynamodbstreams": "dynamodbstreams",
    "s3": "s3",
    "sqs": "sqs",
    "sns": "sns",
    "kinesis": "kinesis",
    "lambda": "lambda",
    "apigateway": "apigateway",
    "apigatewayv2": "apigatewayv2",
    "stepfunctions": "stepfunctions",
    "events": "events",
    "cognito-idp": "cognito-idp",
    "kms": "kms",
    "logs": "logs",
}

AWS_SDK_V2_FOR_SQS_QUERY = "2.1400.0"
LEGACY_BOTOCORE_DATA = "/usr/lib/python3/dist-packages/botocore/data"  # Debian 12 python3-botocore

# SQS's query-protocol error codes. botocore dropped them from the JSON model (the
# JSON protocol carries them in the x-amzn-query-error header); Debian's botocore
# 1.29 still has most. These are the ones added to SQS after that release.
SQS_QUERY_CODES_OVERLAY = {
    "InvalidAddress": ("InvalidAddress", 404),
    "InvalidSecurity": ("InvalidSecurity", 403),
    "RequestThrottled": ("RequestThrottled", 403),
    "ResourceNotFoundException": ("ResourceNotFoundException", 404),
    "KmsAccessDenied": ("KMS.AccessDeniedException", 400),
    "KmsDisabled": ("KMS.DisabledException", 400),
    "KmsInvalidKeyUsage": ("KMS.InvalidKeyUsageException", 400),
    "KmsInvalidState": ("KMS.InvalidStateException", 400),
    "KmsNotFound": ("KMS.NotFoundException", 400),
    "KmsOptInRequired": ("KMS.OptInRequired", 403),
    "KmsThrottled": ("KMS.ThrottlingException", 400),
}

META_KEYS = {
    "apiVersion", "protocol", "protocols", "jsonVersion", "targetPrefix", "signingName",
    "endpointPrefix", "serviceId", "xmlNamespace", "awsQueryCompatible", "uid",
    "signatureVersion", "globalEndpoint",
}
OP_KEYS = {"name", "http", "input", "output", "errors", "httpChecksum", "endpoint",
           "authtype", "unsignedPayload", "deprecated"}
HTTP_KEYS = {"method", "requestUri", "responseCode"}
REF_KEYS = {"shape", "location", "locationName", "xmlAttribute", "xmlNamespace",
            "timestampFormat", "idempotencyToken", "jsonvalue", "hostLabel", "streaming",
            "eventpayload", "queryName", "flattened", "resultWrapper", "payload"}
SHAPE_KEYS = {"type", "members", "required", "member", "key", "value", "enum", "min", "max",
              "payload", "flattened", "locationName", "xmlAttribute", "xmlNamespace",
              "timestampFormat", "streaming", "eventstream", "event", "eventpayload",
              "exception", "error", "fault", "idempotencyToken", "jsonvalue", "union",
              "document", "requiresLength", "sensitive", "wrapper"}


def strip_ref(ref):
    out = {k: v for k, v in ref.items() if k in REF_KEYS}
    return out


def strip_shape(shape):
    out = {}
    for k, v in shape.items():
        if k not in SHAPE_KEYS:
            continue
        if k == "members":
            v = {name: strip_ref(m) for name, m in v.items()}
        elif k in ("member", "key", "value"):
            v = strip_ref(v)
        elif k == "sensitive":
            continue
        out[k] = v
    return out


def strip_op(op):
    out = {}
    for k, v in op.items():
        if k not in OP_KEYS:
            continue
        if k == "http":
            v = {hk: hv for hk, hv in v.items() if hk in HTTP_KEYS}
        elif k in ("input", "output"):
            v = strip_ref(v)
        elif k == "errors":
            v = [{"shape": e["shape"]} for e in v]
        out[k] = v
    return out


def strip_model(model):
    return {
        "metadata": {k: v for k, v in model["metadata"].items() if k in META_KEYS},
        "operations": {name: strip_op(op) for name, op in sorted(model["operations"].items())},
        "shapes": {name: strip_shape(s) for name, s in sorted(model["shapes"].items())},
    }


def botocore_model(data_dir, name):
    files = sorted(glob.glob(os.path.join(data_dir, name, "*", "service-2.json*")))
    if not files:
        sys.exit(f"no model for {name} in {data_dir}")
    path = files[-1]
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as f:
        return json.load(f)


class Hoister:
    """Turns aws-sdk v2's minified model (inline, unnamed shapes) into named shapes."""

    def __init__(self, model):
        self.shapes = {}
        self.named = model.get("shapes", {})
        self.counter = 0

    def shape_ref(self, node, hint):
        # a node is either {"shape": "Name", ...ref traits} or an inline shape with ref traits
        ref = {k: v for k, v in node.items() if k in REF_KEYS and k != "shape"}
        if "shape" in node:
            name = node["shape"]
            if name not in self.shapes:
                self.shapes[name] = None  # placeholder against cycles
                self.shapes[name] = self.shape(self.named[name], name)
            ref["shape"] = name
            return ref
        inline = {k: v for k, v in node.items()
                  if k not in ("locationName", "location", "xmlAttribute", "queryName")}
        name = hint
        while name in self.shapes:
            self.counter += 1
            name = f"{hint}{self.counter}"
        self.shapes[name] = None
        self.shapes[name] = self.shape(inline, name)
        ref["shape"] = name
        return ref

    def shape(self, node, name):
        t = node.get("type", "string")
        out = {"type": t}
        for k in ("flattened", "min", "max", "enum", "timestampFormat", "resultWrapper", "xmlNamespace"):
            if k in node:
                out[k] = node[k]
        if t == "structure":
            out["members"] = {m: self.shape_ref(v, m) for m, v in node.get("members", {}).items()}
            if node.get("required"):
                out["required"] = node["required"]
            if "payload" in node:
                out["payload"] = node["payload"]
        elif t == "list":
            out["member"] = self.shape_ref(node.get("member", {}), name + "Member")
        elif t == "map":
            out["key"] = self.shape_ref(node.get("key", {}), name + "Key")
            out["value"] = self.shape_ref(node.get("value", {}), name + "Value")
        return out


def sqs_query_model(tgz, json_model):
    with tarfile.open(tgz) as tar:
        member = tar.getmember(f"package/apis/sqs-2012-11-05.min.json")
        legacy = json.load(tar.extractfile(member))
    hoist = Hoister(legacy)
    ops = {}
    for name, op in sorted(legacy["operations"].items()):
        out = {"name": name, "http": {"method": "POST", "requestUri": "/"}}
        if "input" in op:
            out["input"] = hoist.shape_ref(op["input"], name + "Request")
        if "output" in op:
            wrapper = op["output"].get("resultWrapper")
            ref = hoist.shape_ref({k: v for k, v in op["output"].items() if k != "resultWrapper"},
                                  name + "Result")
            if wrapper:
                ref["resultWrapper"] = wrapper
            out["output"] = ref
        if name in json_model["operations"]:
            errs = json_model["operations"][name].get("errors", [])
            out["errors"] = [{"shape": e["shape"]} for e in errs]
        ops[name] = out
    shapes = {k: v for k, v in hoist.shapes.items()}
    for name, shape in json_model["shapes"].items():
        if shape.get("exception") and name not in shapes:
            shapes[name] = shape
            for ref in shape.get("members", {}).values():
                shapes.setdefault(ref["shape"], json_model["shapes"][ref["shape"]])
    meta = dict(legacy["metadata"])
    meta = {k: v for k, v in meta.items() if k in META_KEYS}
    return {"metadata": meta, "operations": ops, "shapes": dict(sorted(shapes.items()))}


def add_sqs_error_codes(model, legacy_data_dir):
    legacy = {}
    if os.path.isdir(os.path.join(legacy_data_dir, "sqs")):
        legacy = botocore_model(legacy_data_dir, "sqs")["shapes"]
    for name, shape in model["shapes"].items():
        if not shape.get("exception") or "error" in shape:
            continue
        if name in legacy and "error" in legacy[name]:
            shape["error"] = legacy[name]["error"]
        elif name in SQS_QUERY_CODES_OVERLAY:
            code, status = SQS_QUERY_CODES_OVERLAY[name]
            shape["error"] = {"code": code, "httpStatusCode": status, "senderFault": True}


def fetch_aws_sdk(version):
    tmp = tempfile.mkdtemp()
    subprocess.run(["npm", "pack", f"aws-sdk@{version}"], cwd=tmp, check=True,
                   stdout=subprocess.DEVNULL)
    return os.path.join(tmp, f"aws-sdk-{version}.tgz")


def write(name, model):
    path = os.path.join(HERE, name + ".json")
    with open(path, "w", encoding="utf-8") as f:
        json.dump(model, f, separators=(",", ":"), sort_keys=False)
        f.write("\n")
    return os.path.getsize(path)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--aws-sdk-tgz", help="aws-sdk v2 npm tarball (else fetched with npm pack)")
    ap.add_argument("--legacy-botocore-data", default=LEGACY_BOTOCORE_DATA,
                    help="an older botocore's data dir, for SQS query error codes")
    args = ap.parse_args()

    import botocore
    data_dir = os.path.join(os.path.dirname(botocore.__file__), "data")
    versions = {"botocore": botocore.__version__, "aws-sdk (npm, sqs-query)": AWS_SDK_V2_FOR_SQS_QUERY,
                "services": {}}
    sqs_json = None
    for name, folder in SERVICES.items():
        model = botocore_model(data_dir, folder)
        stripped = strip_model(model)
        if name == "sqs":
            add_sqs_error_codes(stripped, args.legacy_botocore_data)
            sqs_json = stripped
        size = write(name, stripped)
        versions["services"][name] = model["metadata"]["apiVersion"]
        print(f"{name:16s} {size:8d} bytes")
    tgz = args.aws_sdk_tgz or fetch_aws_sdk(AWS_SDK_V2_FOR_SQS_QUERY)
    size = write("sqs-query", sqs_query_model(tgz, sqs_json))
    print(f"{'sqs-query':16s} {size:8d} bytes")
    with open(os.path.join(HERE, "VERSIONS.json"), "w") as f:
        json.dump(versions, f, indent=2)
        f.write("\n")


if __name__ == "__main__":
    main()
