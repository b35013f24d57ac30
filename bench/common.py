"""What every figure shares: its record, a median, and counting DynamoDB calls with botocore hooks."""

from __future__ import annotations

import gc
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

# Fake credentials for moto and the local emulator; never real AWS.
for _name, _value in (
    ("AWS_ACCESS_KEY_ID", "bench"),
    ("AWS_SECRET_ACCESS_KEY", "bench"),
    ("AWS_DEFAULT_REGION", "us-east-1"),
):
    os.environ.setdefault(_name, _value)

READS = {"GetItem", "Query", "Scan", "BatchGetItem"}
AUTH_PK = "KEYHASH#"  # chalicelib.adapters.keys.key_hash_pk: the partition of an API key's auth item


@dataclass
class Figure:
    """One row of the table: `measured` against `baseline`, the goal in words, and whether it holds."""

    name: str
    compared_with: str
    measured: str
    goal: str
    holds: bool
    ratio: float | None = None
    details: dict[str, Any] = field(default_factory=dict)


def median(values: list[float]) -> float:
    return statistics.median(values)


def timed(fn: Callable[[], Any]) -> float:
    """Seconds `fn` takes, with the garbage collector paused as `timeit` does (its pauses depend on
    everything else alive in the process, not on the code measured)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        t = time.perf_counter()
        fn()
        return time.perf_counter() - t
    finally:
        if enabled:
            gc.enable()


@dataclass
class Call:
    operation: str
    auth: bool
    scanned: int = 0
    returned: int = 0
    capacity: float = 0.0


class DynamoCounter:
    """Records every call a DynamoDB client makes (botocore `before-call`/`after-call` hooks).

    Reads also ask for `ReturnConsumedCapacity=TOTAL` so the consumed capacity can be reported. A call
    that reads nothing but an API key's auth item is marked `auth` (a round trip only for the key check;
    a BatchGetItem that carries the check along with the operation's own read is not).
    """

    def __init__(self, client: Any) -> None:
        self.calls: list[Call] = []
        self._local = threading.local()
        self._lock = threading.Lock()
        self.recording = False
        events = client.meta.events
        events.register("provide-client-params.dynamodb", self._params)
        events.register("before-call.dynamodb", self._before)
        events.register("after-call.dynamodb", self._after)

    def _params(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        if self.recording and model.name in READS:
            params.setdefault("ReturnConsumedCapacity", "TOTAL")
        key = params.get("Key") or {}
        self._local.auth = model.name == "GetItem" and str(key.get("pk", {}).get("S", "")).startswith(AUTH_PK)

    def _before(self, model: Any, **_: Any) -> None:
        if self.recording:
            call = Call(model.name, bool(getattr(self._local, "auth", False)))
            self._local.call = call
            with self._lock:
                self.calls.append(call)

    def _after(self, model: Any, parsed: dict[str, Any], **_: Any) -> None:
        call = getattr(self._local, "call", None)
        if not self.recording or call is None:
            return
        self._local.call = None
        if model.name == "GetItem":
            call.returned = call.scanned = 1 if "Item" in parsed else 0
        elif model.name in ("Query", "Scan"):
            call.scanned, call.returned = parsed.get("ScannedCount", 0), parsed.get("Count", 0)
        elif model.name == "BatchGetItem":
            call.returned = call.scanned = sum(len(items) for items in parsed.get("Responses", {}).values())
        capacity = parsed.get("ConsumedCapacity")
        if isinstance(capacity, dict):
            call.capacity = float(capacity.get("CapacityUnits", 0) or 0)

    @contextmanager
    def record(self) -> Iterator[list[Call]]:
        self.calls = []
        self.recording = True
        try:
            yield self.calls
        finally:
            self.recording = False


def items_read(calls: list[Call]) -> int:
    """Items DynamoDB read: a GetItem reads its item, a Query what it scanned (ScannedCount)."""
    return sum(c.scanned for c in calls if c.operation in READS)


def run_module(module: str, *args: str, timeout: float = 180) -> Any:
    """Run `python -m module args` in a fresh interpreter and decode the JSON its last line prints.

    For figures that start a local stack: the stack rewrites the process environment (endpoint, credentials),
    so it must not share a process with the other figures.
    """
    env = dict(os.environ)
    env.pop("AWS_ENDPOINT_URL", None)
    out = subprocess.run(
        [sys.executable, "-m", module, *args], capture_output=True, text=True, timeout=timeout, env=env
    )
    if out.returncode:
        raise RuntimeError(out.stdout + out.stderr)
    return json.loads(out.stdout.strip().splitlines()[-1])
