"""A whole cold start, import and first request, in fresh interpreters (`python -m bench.coldstart`).

`import app` loads only what registering the routes needs; boto3, the services and each model's validator
load when a request first needs them. So the import figure alone would flatter the app: this measures
what a new Lambda container really spends before its first response, `import app` plus one
`POST /v1/events` through the Lambda handler, against `import boto3` plus one raw GetItem, both against
the same local emulator. Prints one JSON line.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.common import median, run_module
from bench.stack import call

KEY = "onair_bench-coldstart-key-0123456789"

OURS = """
import json, sys, time
t0 = time.perf_counter()
import app
t1 = time.perf_counter()
body = json.dumps({"title": "Cold", "channel_id": sys.argv[1], "start": sys.argv[2], "duration": 600})
event = {
    "resource": "/v1/events", "path": "/v1/events", "httpMethod": "POST", "body": body,
    "headers": {"authorization": "Bearer " + sys.argv[3], "content-type": "application/json"},
    "multiValueHeaders": None, "queryStringParameters": None, "multiValueQueryStringParameters": None,
    "pathParameters": None, "stageVariables": None, "isBase64Encoded": False,
    "requestContext": {"resourcePath": "/v1/events", "httpMethod": "POST", "requestId": "cold",
                       "stage": "bench", "apiId": "bench"},
}
response = app.app(event, None)
t2 = time.perf_counter()
assert response["statusCode"] == 201, response
print(json.dumps({"import": t1 - t0, "first_request": t2 - t1}))
"""

BASELINE = """
import json, sys, time
t0 = time.perf_counter()
import boto3
t1 = time.perf_counter()
boto3.client("dynamodb").get_item(TableName=sys.argv[1], Key={"pk": {"S": "x"}, "sk": {"S": "y"}})
t2 = time.perf_counter()
print(json.dumps({"import": t1 - t0, "first_request": t2 - t1}))
"""


def _run(code: str, args: list[str], env: dict[str, str]) -> dict[str, float]:
    out = subprocess.run([sys.executable, "-c", code, *args], env=env, capture_output=True, text=True)
    if out.returncode:
        raise RuntimeError(out.stderr[-3000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(runs: int) -> int:
    import logging

    logging.disable(logging.WARNING)
    from chalicelib.config import Settings
    from local.stack import LocalStack, Options

    stack = LocalStack(Options(port=0, api_key=KEY, tick_seconds=3600))
    stack.start()
    try:
        channel = call(stack.url, "POST", "/v1/channels", {"name": "Cold starts"}, key=KEY)["id"]
        table = Settings.from_env().table_name
        first = datetime.now(UTC).replace(microsecond=0, second=0, minute=0) + timedelta(days=30)
        with tempfile.TemporaryDirectory(prefix="onair-bench-pyc-") as cache:
            env = dict(os.environ, PYTHONPYCACHEPREFIX=cache, ONAIR_LOG_LEVEL="WARNING")
            env.pop("PYTHONDONTWRITEBYTECODE", None)
            ours: list[dict[str, float]] = []
            base: list[dict[str, float]] = []
            for i in range(runs + 1):  # the first of each compiles the bytecode: not counted
                start = (first + timedelta(hours=i)).strftime("%Y-%m-%dT%H:%M:%SZ")
                o = _run(OURS, [channel, start, KEY], env)
                b = _run(BASELINE, [table], env)
                if i:
                    ours.append(o)
                    base.append(b)
        print(json.dumps({"ours": ours, "baseline": base}), flush=True)
    finally:
        stack.stop()
    return 0


def measure(runs: int = 5) -> dict[str, Any]:
    """Run `main` in a fresh interpreter (the stack changes the process environment); medians in seconds."""
    found = run_module("bench.coldstart", str(runs), timeout=300)

    def total(row: dict[str, float]) -> float:
        return row["import"] + row["first_request"]

    summary: dict[str, Any] = {"runs": runs}
    for side in ("ours", "baseline"):
        rows = found[side]
        summary[side] = {
            "import_s": median([r["import"] for r in rows]),
            "first_request_s": median([r["first_request"] for r in rows]),
            "total_s": median([total(r) for r in rows]),
        }
    summary["total_ratio"] = summary["ours"]["total_s"] / summary["baseline"]["total_s"]
    return summary


if __name__ == "__main__":
    time.sleep(0)
    sys.exit(main(int(sys.argv[1]) if len(sys.argv) > 1 else 5))
