"""Figures on the real local stack (`python -m local` in a subprocess, as the e2e tests run it)."""

from __future__ import annotations

import json
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.common import Figure, median
from local import process as local_process

KEY = "onair_bench-stack-key-0123456789abcdef"


@contextmanager
def local_stack() -> Iterator[tuple[str, str]]:
    """`python -m local` in a subprocess, started as the e2e tests start it: (API URL, emulator URL)."""
    stack = local_process.start(KEY)
    try:
        yield stack.url, stack.emulator_url
    finally:
        with suppress(subprocess.TimeoutExpired):  # it was killed instead
            stack.terminate()


def call(base: str, method: str, path: str, body: Any = None, key: str = KEY) -> dict[str, Any]:
    """One JSON request to a local stack with an API key; the decoded body."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(base + path, data=data, method=method)
    request.add_header("Authorization", f"Bearer {key}")
    if data is not None:
        request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read() or b"{}")


def instant(t: datetime | float) -> str:
    if not isinstance(t, datetime):
        t = datetime.fromtimestamp(t, UTC)
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def create_latency(base: str, emulator: str, count: int) -> Figure:
    """POST /v1/events vs one raw Query + conditional PutItem, interleaved, on the same table."""
    import boto3

    from chalicelib.adapters.dynamo import serialize
    from chalicelib.adapters.events import event_item
    from chalicelib.domain.ids import new_id
    from chalicelib.domain.models import Event

    client = boto3.client("dynamodb", endpoint_url=emulator, region_name="us-east-1")
    table = next(t for t in client.list_tables()["TableNames"] if t.endswith("-main"))
    channel = call(base, "POST", "/v1/channels", {"name": "Latency"})["id"]
    first = datetime.now(UTC).replace(microsecond=0, second=0, minute=0) + timedelta(days=30)
    api_t, raw_t, tx_t = [], [], []
    for i in range(count + 2):  # the first two of each are warm-up
        start = first + timedelta(hours=2 * i)
        body = {"title": f"Show {i}", "channel_id": channel, "start": instant(start), "duration": 1800}
        t = time.perf_counter()
        call(base, "POST", "/v1/events", body)
        api = time.perf_counter() - t
        # The raw baseline: the overlap Query and the guarded write a booking needs at minimum.
        raw_start = start + timedelta(hours=1)
        event = Event(
            id=new_id("evt", raw_start),
            tenant_id="default",
            created_at=raw_start,
            updated_at=raw_start,
            title=f"Raw {i}",
            channel_id=channel,
            start=raw_start,
            end=raw_start + timedelta(minutes=30),
        )
        item = serialize(event_item(event))
        t = time.perf_counter()
        client.query(**overlap_query(table, channel, raw_start))
        client.put_item(TableName=table, Item=item, ConditionExpression="attribute_not_exists(pk)")
        raw = time.perf_counter() - t
        # What race-free booking writes instead of the PutItem (see `EventStore.create`): the event, the
        # channel's booking version and the run marker, in one TransactWriteItems. Timed apart, so the
        # emulator's own cost of a transaction (it deep-copies the table per item) can be seen.
        tx_start = raw_start + timedelta(minutes=40)
        tx_event = event.model_copy(
            update={"id": new_id("evt", tx_start), "start": tx_start, "end": tx_start + timedelta(minutes=10)}
        )
        t = time.perf_counter()
        client.query(**overlap_query(table, channel, tx_start))
        client.transact_write_items(TransactItems=booking_writes(table, tx_event))
        tx = time.perf_counter() - t
        if i >= 2:
            api_t.append(api)
            raw_t.append(raw)
            tx_t.append(tx)
    ratio = median(api_t) / median(raw_t)
    return Figure(
        "create-event latency, local stack",
        "raw Query + conditional PutItem, same emulator and table",
        f"{median(api_t) * 1000:.1f} ms vs {median(raw_t) * 1000:.1f} ms (median of {count}); "
        f"raw Query + the same TransactWriteItems {median(tx_t) * 1000:.1f} ms",
        "≤ 3x",
        ratio <= 3,
        ratio,
        {
            "api_s": api_t,
            "raw_s": raw_t,
            "raw_transaction_s": tx_t,
            "ratio_to_raw_transaction": median(api_t) / median(tx_t),
            "table_items_at_end": 4 * (count + 2),
        },
    )


def overlap_query(table: str, channel: str, start: datetime) -> dict[str, Any]:
    from chalicelib.adapters import keys as k
    from chalicelib.adapters.dynamo import serialize

    return {
        "TableName": table,
        "IndexName": "channel_by_start",
        "KeyConditionExpression": "g2pk = :pk AND g2sk BETWEEN :lo AND :hi",
        "ExpressionAttributeValues": serialize(
            {
                ":pk": k.events_of_channel("default", channel),
                ":lo": k.before(start - timedelta(hours=1)),
                ":hi": k.before(start + timedelta(minutes=30)),
            }
        ),
        "Limit": 500,
    }


def booking_writes(table: str, event: Any) -> list[dict[str, Any]]:
    """The items a create writes for an event whose run starts later: event, channel bump, run marker."""
    from chalicelib.adapters import keys as k
    from chalicelib.adapters.dynamo import serialize
    from chalicelib.adapters.events import event_item
    from chalicelib.adapters.runs import marker_item

    return [
        {
            "Put": {
                "TableName": table,
                "Item": serialize(event_item(event)),
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        },
        {
            "Update": {
                "TableName": table,
                "Key": serialize({"pk": k.collection("default", "CHANNEL"), "sk": event.channel_id}),
                "UpdateExpression": "SET booking_version = if_not_exists(booking_version, :zero) + :one",
                "ConditionExpression": "attribute_exists(pk)",
                "ExpressionAttributeValues": serialize({":zero": 0, ":one": 1}),
            }
        },
        {"Put": {"TableName": table, "Item": serialize(marker_item("default", event.id, event.start))}},
    ]


def lifecycle_accuracy(base: str, count: int) -> Figure:
    """Auto events a few seconds ahead, one second apart; lateness = first seen `live` minus start."""
    channels = [
        call(base, "POST", "/v1/channels", {"name": f"Live {i}", "teardown_delay_seconds": 1})["id"]
        for i in range(count)
    ]
    first = int(time.time()) + 4
    events = []
    for i, channel in enumerate(channels):
        start = first + i
        body = {"title": "Live", "channel_id": channel, "start": instant(start), "duration": 2}
        events.append((call(base, "POST", "/v1/events", body)["id"], start))
    late: dict[str, float] = {}
    deadline = first + count + 20
    while len(late) < count and time.time() < deadline:
        for event_id, start in events:
            if event_id in late or time.time() < start - 0.5:
                continue  # poll only the events about to start, so polling stays tight
            if call(base, "GET", f"/v1/events/{event_id}")["state"] in ("live", "stopped", "completed"):
                late[event_id] = time.time() - start
        time.sleep(0.02)
    lateness = [late.get(e, float("inf")) for e, _ in events]
    value = median(lateness)
    return Figure(
        "lifecycle start accuracy, local stack",
        f"the event's start ({count} events)",
        f"median {value:+.3f} s, worst {max(lateness):+.3f} s",
        "median ≤ 1 s late",
        value <= 1.0,
        value / 1.0,
        {"lateness_s": lateness},
    )
