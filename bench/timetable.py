"""Timetable imports: planning throughput in-process, items read per row when nothing changed (moto), and
`python -m bench.timetable` for a generated semester of 25,000 sessions over 200 rooms on the local stack.
"""

from __future__ import annotations

import csv
import io
import sys
import time
import urllib.request
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from bench.common import Figure, items_read, median, timed
from bench.semester import semester

NOW = datetime(2027, 3, 1, 8, tzinfo=UTC)
SEMESTER_COURSES, SEMESTER_ROOMS = 2_273, 200  # 2,273 courses x 11 teaching weeks = 25,003 sessions


def _catalog(rooms: list[dict[str, str]]) -> Any:
    from chalicelib.domain.models import Channel
    from chalicelib.domain.timetable_rows import Catalog

    channels = [
        Channel(id=f"ch_{i}", tenant_id="t", created_at=NOW, updated_at=NOW, **room)
        for i, room in enumerate(rooms)
    ]
    return Catalog(channels, [])


def planning(courses: int = 500, rooms: int = 100, repeats: int = 3) -> Figure:
    """Parse a CSV of sessions, normalise every row and plan it (all creates) vs a raw pass: csv.DictReader,
    each start to UTC in its room's zone."""
    from chalicelib.domain.import_plan import plan
    from chalicelib.domain.imports import ScopeIn
    from chalicelib.domain.timetable import parse
    from chalicelib.domain.timetable_rows import desired

    term = semester(courses, rooms, series=False)
    content = term.csv().encode()
    catalog = _catalog(term.rooms)
    zones = {room["name"]: ZoneInfo(room["timezone"]) for room in term.rooms}
    count = len(term.rows)

    def ours() -> None:
        rows = [desired(raw, catalog) for raw in parse("csv", content)]
        steps = plan(rows, {}, {}, ScopeIn(), NOW)
        assert len(steps) == count and all(s.action == "create" for s in steps)

    def raw() -> None:
        found = []
        for row in csv.DictReader(io.StringIO(content.decode())):
            start = datetime.fromisoformat(row["start"]).replace(tzinfo=zones[row["channel"]])
            found.append({**row, "start": start.astimezone(UTC), "duration": int(row["duration"])})
        assert len(found) == count

    ours_t, raw_t = [], []
    for _ in range(repeats):
        ours_t.append(timed(ours))
        raw_t.append(timed(raw))
    ratio = median(ours_t) / median(raw_t)
    rate = count / median(ours_t)
    return Figure(
        f"plan an import of {count:,} rows (in-process)",
        "raw pass: csv.DictReader + each start to UTC",
        f"{rate:,.0f} rows/s vs {count / median(raw_t):,.0f} rows/s",
        "≥ 2,500 rows/s (25,000 sessions in ≤ 10 s)",
        rate >= 2_500,
        ratio,
        {"ours_s": ours_t, "raw_s": raw_t, "rows": count},
    )


def unchanged_reads(courses: int = 60, rooms: int = 12) -> Figure:
    """Re-apply a semester nobody changed (moto in-process): DynamoDB items read per row, and writes."""
    from bench.dynamo import Clock, api, moto_stack
    from chalicelib.adapters import aws
    from local.emulator import isolate_dynamodb
    from local.resources import create_imports_bucket

    isolate_dynamodb()  # as the local emulator: Queries read their partition, transactions copy their items
    term = semester(courses, rooms, series=False)
    with moto_stack(Clock(NOW)) as (services, client, counter):
        create_imports_bucket(services.settings.imports_bucket, aws.client("s3"))
        for room in term.rooms:
            api(client, "POST", "/v1/channels", room)
        body = {"source": "bench", "format": "csv", "content": term.csv()}
        first = api(client, "POST", "/v1/imports", body)
        assert api(client, "GET", f"/v1/imports/{first['id']}")["status"] == "applied"
        with counter.record() as calls:
            again = api(client, "POST", "/v1/imports", body)
        record = api(client, "GET", f"/v1/imports/{again['id']}")
    assert record["counts"]["unchanged"] == len(term.rows), record["counts"]
    rows = len(term.rows)
    read = items_read(calls)
    writes = sum(1 for c in calls if c.operation in ("PutItem", "UpdateItem", "TransactWriteItems"))
    per_row = read / rows
    return Figure(
        f"items read per row, re-applying {rows} unchanged rows (moto)",
        "its ledger entry and its booking: 2 items a row",
        f"{per_row:.2f} items/row ({read} items in {len(calls)} calls; {writes} writes, none to bookings)",
        "≤ 2.5 items/row",
        per_row <= 2.5,
        per_row,
        {"rows": rows, "items_read": read, "calls": len(calls), "writes": writes},
    )


# -- the big semester on the local stack (python -m bench.timetable) ----------------------------------------


def _wait(base: str, import_id: str, statuses: set[str]) -> dict[str, Any]:
    from bench.stack import call

    while True:
        record = call(base, "GET", f"/v1/imports/{import_id}?limit=1")
        if record["status"] in statuses:
            return record
        time.sleep(0.5)


def big_semester(courses: int = SEMESTER_COURSES, rooms: int = SEMESTER_ROOMS) -> dict[str, Any]:
    """Upload a semester's sessions through the pre-signed URL, plan it (dry run), apply it, re-apply it."""
    from bench.stack import call, local_stack

    term = semester(courses, rooms, series=False)
    content = term.csv().encode()
    found: dict[str, Any] = {"rows": len(term.rows), "rooms": rooms, "bytes": len(content)}
    with local_stack() as (base, _):
        for room in term.rooms:
            call(base, "POST", "/v1/channels", room)

        def run(dry_run: bool) -> tuple[float, dict[str, Any]]:
            body = {"source": "semester", "format": "csv", "upload": True, "dry_run": dry_run}
            created = call(base, "POST", "/v1/imports", body)
            put = urllib.request.Request(  # as `curl -T`: a body urllib would otherwise label a form
                created["upload_url"], data=content, method="PUT", headers={"Content-Type": "text/csv"}
            )
            urllib.request.urlopen(put, timeout=120).close()
            t = time.perf_counter()
            call(base, "POST", f"/v1/imports/{created['id']}/start")
            record = _wait(base, created["id"], {"planned", "applied", "failed"})
            return time.perf_counter() - t, record

        for name, dry_run in (("plan", True), ("apply", False), ("re-apply", False)):
            seconds, record = run(dry_run)
            counts = {k: v for k, v in record["counts"].items() if v}
            found[name] = {"seconds": round(seconds, 1), "status": record["status"], "counts": counts}
            if record["errors"]:
                found[name]["errors"] = record["errors"][:3]
            print(f"{name}: {seconds:.1f} s {record['status']} {counts}", file=sys.stderr, flush=True)
    return found


if __name__ == "__main__":
    import json

    print(json.dumps(big_semester(*map(int, sys.argv[1:3]))))
