"""Figures on moto in-process (`mock_aws`): items read by a list page and by one materialiser tick.

moto's Query walks the whole table in memory, so its latency grows with table size even when the key
design is right; these figures count what DynamoDB reads (ScannedCount), the cost that really scales.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.common import DynamoCounter, Figure, items_read

KEY = "onair_bench-operator-key-0123456789abcdef"
T0 = datetime(2027, 3, 1, 8, 0, tzinfo=UTC)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@contextmanager
def moto_stack(clock: Clock) -> Iterator[tuple[Any, Any, DynamoCounter]]:
    """Services on a fresh moto (as tests/conftest.py builds them), an API client, and a call counter."""
    from chalice.test import Client
    from moto import mock_aws

    from app import app
    from chalicelib import bootstrap
    from chalicelib.adapters import aws
    from chalicelib.config import Settings
    from local.emulator import honour_client_request_tokens, isolate_dynamodb
    from local.resources import create_all

    isolate_dynamodb()  # the emulator's own moto patches, as tests/conftest.py and the local stack use them
    honour_client_request_tokens()
    with mock_aws():
        aws.reset()
        create_all("bench", aws.client("dynamodb"), aws.client("events"))
        services = bootstrap.build(Settings.from_env({"ONAIR_STAGE": "bench"}), clock)
        services.tenancy.bootstrap_operator(KEY, clock())
        bootstrap.override(services)
        try:
            with Client(app) as client:
                yield services, client, DynamoCounter(aws.client("dynamodb"))
        finally:
            bootstrap.override(None)
            aws.reset()


def api(client: Any, method: str, path: str, body: Any = None) -> dict[str, Any]:
    import json

    headers = {"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"}
    response = getattr(client.http, method.lower())(
        path, headers=headers, body=json.dumps(body) if body is not None else None
    )
    assert response.status_code < 300, (path, response.status_code, response.body)
    return json.loads(response.body) if response.body else {}


def batch_put(services: Any, items: list[dict[str, Any]]) -> None:
    from chalicelib.adapters import aws
    from chalicelib.adapters.dynamo import serialize

    client, table = aws.client("dynamodb"), services.settings.table_name
    for i in range(0, len(items), 25):
        requests = [{"PutRequest": {"Item": serialize(item)}} for item in items[i : i + 25]]
        out = client.batch_write_item(RequestItems={table: requests})
        assert not out.get("UnprocessedItems"), "moto left items unprocessed"


def event_items(tenant: str, channel: str, first: datetime, count: int, every: timedelta, length: timedelta):
    from chalicelib.adapters.events import event_item
    from chalicelib.domain.ids import new_id
    from chalicelib.domain.models import Event

    for i in range(count):
        start = first + i * every
        yield event_item(
            Event(
                id=new_id("evt", start),
                tenant_id=tenant,
                created_at=T0,
                updated_at=T0,
                title=f"Show {i}",
                channel_id=channel,
                start=start,
                end=start + length,
            )
        )


# -- items read by one channel+window list page ------------------------------------------------------

EVERY, LENGTH = timedelta(hours=2), timedelta(minutes=90)  # a busy channel: 12 bookings a day


def list_page_reads(table_events: int, page: int = 20) -> dict[str, Any]:
    """Seed `table_events` events (60 on the measured channel when small, a tenth of all when large)."""
    clock = Clock(T0)
    with moto_stack(clock) as (services, client, counter):
        channel = api(client, "POST", "/v1/channels", {"name": "Measured"})["id"]
        ours = 60 if table_events <= 100 else table_events // 10
        items = list(event_items("default", channel, T0, ours, EVERY, LENGTH))
        rng = random.Random(3)
        others = table_events - ours
        for i in range(others):  # other tenants and channels, spread over the same months
            tenant, ch = f"ten{i % 20:02d}", f"chn_{i % 200:03d}"
            start = T0 + timedelta(minutes=30 * rng.randrange(ours * 4))
            items += event_items(tenant, ch, start, 1, EVERY, LENGTH)
        batch_put(services, items)
        services.events.store.raise_max_duration(_channel_pk(), channel, int(LENGTH.total_seconds()))
        from chalicelib.domain.queries import EventQuery

        # A window three days in, three days long: 36 bookings, more than a page.
        query = EventQuery(
            tenant_id="default",
            channel_id=channel,
            start_from=T0 + timedelta(days=1, minutes=30),
            to=T0 + timedelta(days=4),
            limit=page,
        )
        with counter.record() as calls:
            result = services.events.list(query)
        # The same page 40 days into the channel's bookings (when it has them): far enough back that the
        # widest lookback is full of bookings, as on any channel in use for a month.
        deep = replace(
            query, start_from=query.start_from + timedelta(days=40), to=query.to + timedelta(days=40)
        )
        if ours * EVERY < timedelta(days=45):
            deep = query
        with counter.record() as unbounded:
            filled = fill_page_without_bound(services, deep)
        return {
            "table_events": table_events,
            "channel_events": ours,
            "returned": len(result.items),
            "full_page": result.next_cursor is not None,
            "items_read": items_read(calls),
            "calls": [(c.operation, c.scanned) for c in calls],
            "capacity_units": sum(c.capacity for c in calls),
            # The one-round-trip alternative: no longest-booking read, so the Query must look back the
            # longest any event may last (31 days) and page through what ended before `from`.
            "without_bound_read": {
                "window_from": deep.start_from.isoformat(),
                "returned": filled,
                "queries": len(unbounded),
                "items_read": items_read(unbounded),
            },
        }


def fill_page_without_bound(services: Any, query: Any) -> int:
    """Follow cursors with the widest lookback until a page's worth of events came back; returns how many."""
    from chalicelib.domain.inputs import MAX_EVENT_SECONDS

    found, cursor = 0, None
    while found < query.limit:
        page = services.events.store.list(
            replace(query, cursor=cursor, limit=query.limit - found), MAX_EVENT_SECONDS
        )
        found += len(page.items)
        cursor = page.next_cursor
        if cursor is None:
            break
    return found


def _channel_pk() -> str:
    from chalicelib.adapters import keys as k

    return k.collection("default", "CHANNEL")


def list_page(sizes: tuple[int, int] = (100, 20_000), page: int = 20) -> Figure:
    small, large = (list_page_reads(n, page) for n in sizes)
    limit = page + 1
    holds = small["items_read"] == large["items_read"] and large["items_read"] <= limit
    alternative = large["without_bound_read"]
    return Figure(
        "items read, one channel+window list page",
        f"page size {page}, {sizes[0]:,} vs {sizes[1]:,} events in the table",
        f"{small['items_read']} vs {large['items_read']} items "
        f"({small['capacity_units']:g} vs {large['capacity_units']:g} RCU on moto); without the "
        f"longest-booking read {alternative['items_read']} items in {alternative['queries']} Queries",
        f"≤ {limit} (page + 1), same at both",
        holds,
        large["items_read"] / page,
        {"small": small, "large": large},
    )


# -- items read by one materialiser tick -------------------------------------------------------------


def tick_reads(schedules: int, due: int = 10) -> dict[str, Any]:
    """`due` real schedules come due; `schedules - due` others wait in the due index for later."""
    from chalicelib.adapters import keys as k

    clock = Clock(T0)
    with moto_stack(clock) as (services, client, counter):
        channel = api(client, "POST", "/v1/channels", {"name": "Series", "timezone": "UTC"})["id"]
        ids = []
        for i in range(due):
            body = {
                "title": f"Weekly {i}",
                "channel_id": channel,
                "start": f"2027-03-0{1 + i % 7}T{8 + i // 7:02d}:30:00",
                "timezone": "UTC",
                "duration": 1800,
                "recurrence": {"frequency": "weekly"},
            }
            ids.append(api(client, "POST", "/v1/schedules", body)["id"])
        # Move to when they are all due: their next occurrence enters the 30-day horizon.
        now = T0 + timedelta(days=8)
        template = services.schedules.store.table.get(k.collection("default", "SCHEDULE"), ids[0])
        rng = random.Random(5)
        fillers = []
        for i in range(schedules - due):
            tenant, sid = f"ten{i % 50:02d}", f"sch_filler{i:06d}"
            due_at = now + timedelta(minutes=1 + rng.randrange(30 * 24 * 60))
            item = dict(template, pk=k.collection(tenant, "SCHEDULE"), sk=sid, id=sid, tenant_id=tenant)
            for name, value in item.items():  # its index keys (a channel's series, ...) in its own tenant
                if name.startswith("g") and isinstance(value, str) and value.startswith("T#default#"):
                    item[name] = value.replace("T#default#", f"T#{tenant}#", 1)
            if "doc" in item and isinstance(item["doc"], str):
                item["doc"] = item["doc"].replace(ids[0], sid).replace('"default"', f'"{tenant}"')
            item |= {"g6pk": k.DUE_PK, "g6sk": k.at(due_at, f"{tenant}#{sid}")}
            fillers.append(item)
        batch_put(services, fillers)
        clock.now = now
        with counter.record() as calls:
            outcome = services.materialiser.tick(now)
        due_scans = [c.scanned for c in calls if c.operation == "Query"][:1]
        assert outcome["due"] == due and not outcome["failed"], outcome
        return {
            "schedules": schedules,
            "outcome": outcome,
            "items_read": items_read(calls),
            "due_index_scanned": due_scans[0] if due_scans else None,
            "calls": len(calls),
            "by_operation": _by_operation(calls),
        }


def _by_operation(calls: list[Any]) -> dict[str, int]:
    found: dict[str, int] = {}
    for c in calls:
        found[c.operation] = found.get(c.operation, 0) + 1
    return found


def tick(sizes: tuple[int, int] = (10, 10_000)) -> Figure:
    small, large = (tick_reads(n) for n in sizes)
    holds = small["items_read"] == large["items_read"]
    return Figure(
        "items read by one materialiser tick",
        f"10 due schedules among {sizes[0]:,} vs {sizes[1]:,}",
        f"{small['items_read']} vs {large['items_read']} items",
        "the same at both sizes",
        holds,
        large["items_read"] / max(small["items_read"], 1),
        {"small": small, "large": large},
    )


# -- a far booking on a channel with series --------------------------------------------------------------


def far_create(repeats: int = 15, series: int = 20, events: int = 2_000) -> Figure:
    """POST /v1/events 400 days ahead on a channel with `series` endless weekly series and `events` events,
    against the same create on a channel with the events but no series (same table, alternating runs)."""
    import statistics
    import time

    clock = Clock(T0)
    with moto_stack(clock) as (services, client, counter):
        with_series = api(client, "POST", "/v1/channels", {"name": "Timetabled", "timezone": "Europe/London"})
        plain = api(client, "POST", "/v1/channels", {"name": "Ad hoc", "timezone": "Europe/London"})
        for i in range(series):  # weekday mornings, 08:00-13:00 local, every week without end
            body = {
                "title": f"Lecture {i}",
                "channel_id": with_series["id"],
                "start": f"2027-03-{8 + i % 5:02d}T{8 + i // 5:02d}:00:00",
                "duration": 3000,
                "recurrence": {"frequency": "weekly"},
            }
            api(client, "POST", "/v1/schedules", body)
        items = []
        for channel in (with_series["id"], plain["id"]):  # an evening a day for years, 2,000 per channel
            items += event_items(
                "default", channel, T0 + timedelta(hours=10), events, timedelta(days=1), LENGTH
            )
        batch_put(services, items)
        for channel in (with_series["id"], plain["id"]):
            services.events.store.raise_max_duration(_channel_pk(), channel, int(LENGTH.total_seconds()))
        times: dict[str, list[float]] = {"series": [], "plain": []}
        trips: dict[str, int] = {}
        for n in range(repeats):
            start = T0 + timedelta(days=400 + n, hours=-5)  # 03:00Z: free of lectures and events
            for label, channel in (("series", with_series["id"]), ("plain", plain["id"])):
                body = {
                    "title": f"Far {n}",
                    "channel_id": channel,
                    "start": start.isoformat(),
                    "duration": 1800,
                }
                with counter.record() as calls:
                    began = time.perf_counter()
                    api(client, "POST", "/v1/events", body)
                    times[label].append(time.perf_counter() - began)
                trips[label] = len(calls)
        ratio = statistics.median(times["series"]) / statistics.median(times["plain"])
        extra = trips["series"] - trips["plain"]
        return Figure(
            "create an event 400 days ahead among series",
            f"{series} endless weekly series + {events:,} events vs {events:,} events alone",
            f"{ratio:.2f}x ({statistics.median(times['series']) * 1000:.0f} vs "
            f"{statistics.median(times['plain']) * 1000:.0f} ms), "
            f"{trips['series']} vs {trips['plain']} round trips",
            "≤ 1.5x, at most one round trip more",
            ratio <= 1.5 and extra <= 1,
            ratio,
            {
                "times_ms": {k: [round(t * 1000, 1) for t in v] for k, v in times.items()},
                "round_trips": trips,
            },
        )
