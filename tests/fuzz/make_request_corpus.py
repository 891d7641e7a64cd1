#!/usr/bin/env python3
"""Writes seed inputs for fuzz_request from tests/unit/gateway/requests.json (real botocore
requests, one per modelled operation): for each model, the PER_MODEL requests with the largest
bodies and targets, as

    <model byte> METHOD SP TARGET \\n (Name: value \\n)* \\n BODY

The model byte is the model's index among the embedded models sorted by name (the names of
emulator/protocol/specs/*.json), as fuzz_request reads it. Headers that do not steer parsing
(User-Agent, amz-sdk-*) are dropped. Files are named gen-<model>-<Operation>; the hand-written
seeds beside them are left alone.

Usage: make_request_corpus.py   (rewrites corpus/fuzz_request/gen-* beside itself)
"""
import base64
import glob
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..", "..")
REQUESTS = os.path.join(ROOT, "tests", "unit", "gateway", "requests.json")
SPECS = os.path.join(ROOT, "emulator", "protocol", "specs")
OUT = os.path.join(HERE, "corpus", "fuzz_request")
PER_MODEL = 8
DROPPED = ("user-agent", "amz-sdk-invocation-id", "amz-sdk-request")


def main():
    models = sorted(os.path.basename(p)[:-5] for p in glob.glob(os.path.join(SPECS, "*.json"))
                    if not p.endswith("VERSIONS.json"))
    with open(REQUESTS) as f:
        requests = json.load(f)["requests"]
    os.makedirs(OUT, exist_ok=True)
    for old in glob.glob(os.path.join(OUT, "gen-*")):
        os.remove(old)
    by_model = {}
    for r in requests:
        by_model.setdefault(r["model"], []).append(r)
    count = 0
    for model, reqs in sorted(by_model.items()):
        def weight(r):
            return (-(len(r["body_b64"] or "") + len(r["target"])), r["operation"])
        for r in sorted(reqs, key=weight)[:PER_MODEL]:
            body = base64.b64decode(r["body_b64"] or "")
            head = "%s %s\n" % (r["method"], r["target"])
            for name, value in r["headers"]:
                if name.lower() not in DROPPED:
                    head += "%s: %s\n" % (name, value)
            data = bytes([models.index(model)]) + (head + "\n").encode() + body
            with open(os.path.join(OUT, "gen-%s-%s" % (model, r["operation"])), "wb") as f:
                f.write(data)
            count += 1
    print("wrote %d seeds to %s" % (count, OUT))


if __name__ == "__main__":
    main()
