"""Timetable imports in DynamoDB (docs/dynamodb.md, "Imports"):

| item | pk | sk |
|---|---|---|
| import | `T#<tenant>#IMPORT` | import id (time-ordered: newest last) |
| a page of its row results | `T#<tenant>#IMPRES#<import>` | page number, 6 digits |
| ledger entry (a row's booking) | `T#<tenant>#IMPSRC#<source>` | the row's external_id |
| the source's apply lock | `T#<tenant>#IMPLOCK` | source |

An import's `status` and its runner's lease (`lease_owner`, `lease_until`) sit beside its document so
conditions can read them: a job claims an import with a conditional update, and only the holder of the
lease may save it; a source is applied by one import at a time (a conditional put with an expiry).
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from chalicelib.adapters import keys as k
from chalicelib.adapters.dynamo import ConditionFailed, Table, decode_cursor, deserialize, serialize
from chalicelib.adapters.records import from_item, to_item
from chalicelib.domain.calendars import Calendar
from chalicelib.domain.errors import StaleWrite
from chalicelib.domain.import_plan import Entry
from chalicelib.domain.imports import Import
from chalicelib.domain.models import Channel, Event
from chalicelib.domain.schedules import Schedule
from chalicelib.domain.time import format_instant, parse_instant

RESULTS_PER_PAGE = 100  # row results per stored page (each well under DynamoDB's 400 KB item limit)


def imports_pk(tenant_id: str) -> str:
    return f"T#{tenant_id}#IMPORT"


def results_pk(tenant_id: str, import_id: str) -> str:
    return f"T#{tenant_id}#IMPRES#{import_id}"


def ledger_pk(tenant_id: str, source: str) -> str:
    return f"T#{tenant_id}#IMPSRC#{source}"


def lock_pk(tenant_id: str) -> str:
    return f"T#{tenant_id}#IMPLOCK"


class ImportStore:
    """Import records, their row results, the ledger of each source and the source locks."""

    def __init__(self, table: Table) -> None:
        self.table = table

    # -- imports ----------------------------------------------------------------------------------------

    def create(self, record: Import) -> None:
        self.table.put(_item(record), condition="attribute_not_exists(pk)")

    def get(self, tenant_id: str, import_id: str) -> Import | None:
        item = self.table.get(imports_pk(tenant_id), import_id)
        return _record(item) if item else None

    def list(self, tenant_id: str, limit: int, cursor: str | None) -> tuple[list[Import], str | None]:
        """One page of the tenant's imports, newest first."""
        pk = imports_pk(tenant_id)
        page = self.table.query(
            "pk = :pk", {":pk": pk}, limit=limit, forward=False, start_key=decode_cursor(cursor, {"pk": pk})
        )
        return [_record(item) for item in page.items], page.next_cursor

    def move(self, record: Import, expected: tuple[str, ...]) -> None:
        """Store `record` (its new status and fields) if the stored one is in one of the `expected` statuses
        and unclaimed; `StaleWrite` otherwise."""
        item = _item(record)
        names = {"#s": "status"}
        values = {f":s{i}": status for i, status in enumerate(expected)}
        condition = f"#s IN ({', '.join(values)}) AND attribute_not_exists(lease_owner)"
        try:
            self.table.put(item, condition=condition, values=values, names=names)
        except ConditionFailed:
            raise StaleWrite("The import changed meanwhile.") from None

    def claim(
        self,
        tenant_id: str,
        import_id: str,
        owner: str,
        until: datetime,
        now: datetime,
        runnable: tuple[str, ...],
    ) -> Import | None:
        """Take the import's lease if it is runnable and nobody holds a live lease: None when another runner
        has it (the conditional write is what makes two runs of one import impossible)."""
        states = {f":r{i}": status for i, status in enumerate(runnable)}
        values = {":me": owner, ":until": format_instant(until), ":now": format_instant(now), **states}
        try:
            item = self.table.update(
                imports_pk(tenant_id),
                import_id,
                "SET lease_owner = :me, lease_until = :until",
                condition=f"attribute_exists(pk) AND #s IN ({', '.join(states)}) "
                "AND (attribute_not_exists(lease_until) OR lease_until < :now OR lease_owner = :me)",
                values=values,
                names={"#s": "status"},
            )
        except ConditionFailed:
            return None
        return _record(item)

    def save(self, record: Import, owner: str, until: datetime | None = None, release: bool = False) -> None:
        """Store the import as its lease holder (renewing the lease to `until`, or giving it up)."""
        item = _item(record)
        if not release:
            item |= {"lease_owner": owner, "lease_until": format_instant(until or record.updated_at)}
        try:
            self.table.put(item, condition="lease_owner = :me", values={":me": owner})
        except ConditionFailed:
            raise StaleWrite("Another runner took this import over.") from None

    # -- row results ------------------------------------------------------------------------------------

    def put_results(self, tenant_id: str, import_id: str, page: int, results: list[dict[str, Any]]) -> None:
        self.table.put(
            {
                "pk": results_pk(tenant_id, import_id),
                "sk": f"{page:06d}",
                "rows": json.dumps(results, separators=(",", ":")),
            }
        )

    def results(
        self, tenant_id: str, import_id: str, first_page: int, pages: int
    ) -> list[list[dict[str, Any]]]:
        """`pages` stored pages of row results from `first_page` on (one Query)."""
        page = self.table.query(
            "pk = :pk AND sk >= :first",
            {":pk": results_pk(tenant_id, import_id), ":first": f"{first_page:06d}"},
            limit=pages,
            consistent=True,
        )
        return [json.loads(item["rows"]) for item in page.items]

    # -- the ledger -------------------------------------------------------------------------------------

    def ledger(self, tenant_id: str, source: str) -> dict[str, Entry]:
        """Every row the source's imports booked, by external_id (paged Queries)."""
        found: dict[str, Entry] = {}
        for item in self._all(ledger_pk(tenant_id, source)):
            found[item["sk"]] = Entry(
                external_id=item["sk"],
                kind=item["kind"],
                booking_id=item.get("booking_id"),
                digest=item.get("digest", ""),
                fingerprint=item.get("fingerprint", ""),
                channel_id=item["channel_id"],
                start=parse_instant(item["start"]),
                pending_since=item.get("pending_since"),
            )
        return found

    def remember(self, tenant_id: str, source: str, entry: Entry, import_id: str) -> None:
        self.table.put(
            {
                "pk": ledger_pk(tenant_id, source),
                "sk": entry.external_id,
                "kind": entry.kind,
                "booking_id": entry.booking_id,
                "digest": entry.digest,
                "fingerprint": entry.fingerprint,
                "channel_id": entry.channel_id,
                "start": format_instant(entry.start),
                "pending_since": entry.pending_since,
                "import_id": import_id,
            }
        )

    def forget(self, tenant_id: str, source: str, external_id: str) -> None:
        self.table.delete(ledger_pk(tenant_id, source), external_id)

    # -- one apply per source ---------------------------------------------------------------------------

    def lock_source(
        self, tenant_id: str, source: str, owner: str, until: datetime, now: datetime
    ) -> str | None:
        """Hold the source for `owner` until `until`; None when held, else the import that holds it."""
        try:
            self.table.put(
                {"pk": lock_pk(tenant_id), "sk": source, "owner": owner, "until": format_instant(until)},
                condition="attribute_not_exists(pk) OR #u < :now OR #o = :me",
                values={":now": format_instant(now), ":me": owner},
                names={"#u": "until", "#o": "owner"},
            )
        except ConditionFailed:
            item = self.table.get(lock_pk(tenant_id), source)
            return str(item.get("owner", "?")) if item else "?"
        return None

    def unlock_source(self, tenant_id: str, source: str, owner: str) -> None:
        with contextlib.suppress(ConditionFailed):
            self.table.delete(
                lock_pk(tenant_id), source, condition="#o = :me", values={":me": owner}, names={"#o": "owner"}
            )

    # -- what the plan reads ----------------------------------------------------------------------------

    def bookings(
        self, tenant_id: str, events: list[str], schedules: list[str]
    ) -> dict[str, Event | Schedule]:
        """The events and schedules with these ids (BatchGetItem, 100 keys a call, strongly consistent)."""
        wanted = [(k.collection(tenant_id, "EVENT"), i) for i in events]
        wanted += [(k.collection(tenant_id, "SCHEDULE"), i) for i in schedules]
        found: dict[str, Event | Schedule] = {}
        for start in range(0, len(wanted), 100):
            for item in self._batch(wanted[start : start + 100]):
                model = Event if item["pk"].endswith("#EVENT") else Schedule
                found[item["sk"]] = from_item(model, item)
        return found

    def channels(self, tenant_id: str) -> list[Channel]:
        """The tenant's channels (rows name them by id or name)."""
        return [from_item(Channel, item) for item in self._all(k.collection(tenant_id, "CHANNEL"))]

    def calendars(self, tenant_id: str) -> list[Calendar]:
        """The tenant's term calendars (rows name them by id or name)."""
        return [from_item(Calendar, item) for item in self._all(k.collection(tenant_id, "CALENDAR"))]

    def _all(self, pk: str) -> Iterator[dict[str, Any]]:
        cursor = None
        while True:
            page = self.table.query("pk = :pk", {":pk": pk}, limit=1000, start_key=cursor, consistent=True)
            yield from page.items
            if page.last_key is None:
                return
            cursor = page.last_key

    def _batch(self, keys: list[tuple[str, str]]) -> list[dict[str, Any]]:
        self.table.settle()  # a pending key check runs before anything is read on its behalf
        request = [serialize({"pk": pk, "sk": sk}) for pk, sk in keys]
        found: list[dict[str, Any]] = []
        for attempt in range(10):
            out = self.table.client.batch_get_item(
                RequestItems={self.table.name: {"Keys": request, "ConsistentRead": True}}
            )
            found += [deserialize(raw) for raw in out.get("Responses", {}).get(self.table.name, [])]
            request = out.get("UnprocessedKeys", {}).get(self.table.name, {}).get("Keys", [])
            if not request:
                return found
            time.sleep(0.01 * 2**attempt)  # throttled: back off as the SDK would
        raise RuntimeError("DynamoDB left keys unprocessed after retries")


def _item(record: Import) -> dict[str, Any]:
    return to_item(record, imports_pk(record.tenant_id), status=record.status)


def _record(item: dict[str, Any]) -> Import:
    record = from_item(Import, item)
    return record.model_copy(update={"status": item.get("status", record.status)})
