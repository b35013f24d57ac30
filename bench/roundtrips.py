"""DynamoDB round trips per API operation, counted inside a real local stack (`python -m bench.roundtrips`).

Runs `local.stack.LocalStack` in this process (emulator, state machine, API server), so the count covers
everything a request does, lifecycle automation included; prints one JSON line.
"""

from __future__ import annotations

import json
import sys
import time
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

from bench.common import DynamoCounter, Figure, run_module
from bench.stack import call

KEY = "onair_bench-roundtrips-key-0123456789"


def http(base: str, method: str, path: str, body: Any = None) -> dict[str, Any]:
    return call(base, method, path, body, key=KEY)


def instant(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def main() -> int:
    import logging

    logging.disable(logging.WARNING)
    from chalicelib.adapters import aws
    from local.stack import LocalStack, Options

    stack = LocalStack(Options(port=0, api_key=KEY, tick_seconds=3600))
    stack.start()
    try:
        counter = DynamoCounter(aws.client("dynamodb"))
        base = stack.url
        channel = http(base, "POST", "/v1/channels", {"name": "Round trips"})["id"]
        far = datetime.now(UTC).replace(microsecond=0) + timedelta(days=30)
        soon = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=2)
        # One warm-up create, so first-use work (the tenant's longest-booking mark) is not counted.
        http(
            base,
            "POST",
            "/v1/events",
            {"title": "Warm", "channel_id": channel, "start": instant(far), "duration": 1800},
        )
        results: dict[str, Any] = {}

        def measure(name: str, method: str, path: str, body: Any = None) -> dict[str, Any]:
            with counter.record() as calls:
                out = http(base, method, path, body)
            results[name] = {
                "total": len(calls),
                "auth": sum(c.auth for c in calls),
                "operation": len([c for c in calls if not c.auth]),
                "calls": [c.operation + (" (key check only)" if c.auth else "") for c in calls],
            }
            return out

        start = far + timedelta(hours=1)
        created = measure(
            "create",
            "POST",
            "/v1/events",
            {"title": "Show", "channel_id": channel, "start": instant(start), "duration": 1800},
        )
        measure(
            "create_in_run_window",
            "POST",
            "/v1/events",
            {"title": "Soon", "channel_id": channel, "start": instant(soon), "duration": 1800},
        )
        measure("get", "GET", f"/v1/events/{created['id']}")
        window = f"/v1/events?channel_id={channel}&from={instant(far)}&to={instant(far + timedelta(days=1))}"
        measure("list_page", "GET", f"{window}&limit=20")
        cursor = http(base, "GET", f"{window}&limit=1")["next_cursor"]
        measure("list_next_page", "GET", f"{window}&limit=1&cursor={quote(cursor)}")
        print(json.dumps(results), flush=True)
    finally:
        stack.stop()
    return 0


if __name__ == "__main__":
    time.sleep(0)
    sys.exit(main())


GOALS = {"get": 1, "list_page": 1, "list_next_page": 1, "create": 3}
NAMES = {"list_page": "list first page", "list_next_page": "next page"}


def figure() -> Figure:
    """Run this module in a fresh interpreter (the stack changes the process environment) and judge it."""
    counts = run_module("bench.roundtrips")
    holds = all(counts[op]["operation"] <= goal for op, goal in GOALS.items())
    measured = ", ".join(
        f"{NAMES.get(op, op)} {counts[op]['operation']}"
        + (f" (+{n} key check)" if (n := counts[op]["auth"]) else "")
        for op in GOALS
    )
    worst = max(counts[op]["operation"] / goal for op, goal in GOALS.items())
    return Figure(
        "DynamoDB round trips per API operation",
        "the minimum the operation needs (a round trip only for the key check counted apart)",
        measured,
        "get 1, list page 1, create ≤ 3",
        holds,
        worst,
        counts,
    )
