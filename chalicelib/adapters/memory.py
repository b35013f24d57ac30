"""In-memory repositories with the same protocols and guarantees as the DynamoDB adapters.

They back the fast service tests (`tests/unit/test_*_rules.py`), and one contract test suite
(`tests/contract/test_repositories.py`) runs against both these and the DynamoDB adapters on moto, so a
rule proved here holds there. One `MemoryDb` holds every record, and one lock makes each write atomic, as
a DynamoDB transaction is: a version or booking-version condition that fails changes nothing.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Generic, TypeVar

from chalicelib.adapters.audit import AuditEntry
from chalicelib.adapters.events import EventPage
from chalicelib.adapters.history import Entry
from chalicelib.adapters.lock import ChannelBusy
from chalicelib.adapters.runs import DueRun
from chalicelib.domain.errors import (
    AlreadyExists,
    BookingRaced,
    ExternalIdTaken,
    FieldError,
    StaleWrite,
    ValidationFailed,
)
from chalicelib.domain.lifecycle import TERMINAL
from chalicelib.domain.models import Channel, Event, Record, Source
from chalicelib.domain.queries import EventQuery
from chalicelib.domain.schedules import Schedule
from chalicelib.domain.time import format_instant

R = TypeVar("R", bound=Record)


@dataclass
class MemoryDb:
    """Every record, by tenant and id; `lock` makes each write one atomic step."""

    lock: threading.RLock = field(default_factory=threading.RLock)
    channels: dict[tuple[str, str], Channel] = field(default_factory=dict)
    sources: dict[tuple[str, str], Source] = field(default_factory=dict)
    events: dict[tuple[str, str], Event] = field(default_factory=dict)
    schedules: dict[tuple[str, str], Schedule] = field(default_factory=dict)
    external_ids: dict[tuple[str, str], str] = field(default_factory=dict)
    tenant_max: dict[str, int] = field(default_factory=dict)
    history: dict[tuple[str, str], list[Entry]] = field(default_factory=dict)
    live: dict[tuple[str, str], str] = field(default_factory=dict)
    due_runs: dict[tuple[str, str], datetime] = field(default_factory=dict)
    due_schedules: dict[tuple[str, str], datetime] = field(default_factory=dict)
    audit: list[AuditEntry] = field(default_factory=list)

    def records(self, model: type[Record]) -> dict[tuple[str, str], Any]:
        return {Channel: self.channels, Source: self.sources, Schedule: self.schedules}[model]  # type: ignore[index]

    def bump_channel(self, tenant_id: str, channel_id: str, expected: int | None, series: int = 0) -> None:
        """The channel's booking version moves on (checked against `expected` when given)."""
        channel = self.channels.get((tenant_id, channel_id))
        if channel is None or (expected is not None and channel.booking_version != expected):
            raise BookingRaced()
        self.channels[(tenant_id, channel_id)] = channel.model_copy(
            update={
                "booking_version": channel.booking_version + 1,
                "series_count": channel.series_count + series,
            }
        )

    def check_sources(self, tenant_id: str, source_ids: Sequence[str], known: Sequence[str] = ()) -> None:
        missing = [
            FieldError(f"/source_ids/{i}", "no such source")
            for i, s in enumerate(source_ids)
            if s not in known and (tenant_id, s) not in self.sources
        ]
        if missing:
            raise ValidationFailed(missing)


class MemoryRecords(Generic[R]):
    """`RecordStore` for channels and sources."""

    def __init__(self, db: MemoryDb, model: type[R]) -> None:
        self.db = db
        self.model = model
        self.table = None  # no transactions with other items: guards are DynamoDB-only

    @property
    def _all(self) -> dict[tuple[str, str], R]:
        return self.db.records(self.model)

    def get(self, tenant_id: str, record_id: str) -> R | None:
        return self._all.get((tenant_id, record_id))

    def list(self, tenant_id: str, limit: int, cursor: str | None) -> tuple[list[R], str | None]:
        found = sorted((r for (t, _), r in self._all.items() if t == tenant_id), key=lambda r: r.id)
        return _page(found, limit, cursor)

    def create(self, record: R, **_: Any) -> None:
        with self.db.lock:
            if (record.tenant_id, record.id) in self._all:
                raise AlreadyExists("A record with this id exists.")
            self._all[(record.tenant_id, record.id)] = record

    def replace(self, record: R, expected_version: int) -> None:
        with self.db.lock:
            current = self._all.get((record.tenant_id, record.id))
            if current is None or current.version != expected_version:
                raise StaleWrite()
            self._all[(record.tenant_id, record.id)] = _keep_live(record, current)

    def delete(
        self, tenant_id: str, record_id: str, expected_version: int, booking_version: int | None = None
    ) -> None:
        with self.db.lock:
            current = self._all.get((tenant_id, record_id))
            if current is None or current.version != expected_version:
                raise StaleWrite()
            if booking_version is not None and getattr(current, "booking_version", 0) != booking_version:
                raise StaleWrite()
            del self._all[(tenant_id, record_id)]

    # The transactional forms exist for guard items (agent names), which memory does not keep.
    def create_op(self, record: R, **_: Any) -> dict[str, Any]:
        return {}

    def replace_op(self, record: R, expected_version: int) -> dict[str, Any]:
        return {}

    def delete_op(self, *args: Any) -> dict[str, Any]:
        return {}


class MemoryEvents:
    """`EventStore`."""

    def __init__(self, db: MemoryDb) -> None:
        self.db = db

    def get(self, tenant_id: str, event_id: str) -> Event | None:
        return self.db.events.get((tenant_id, event_id))

    def id_for_external(self, tenant_id: str, external_id: str) -> str | None:
        return self.db.external_ids.get((tenant_id, external_id))

    def create(
        self,
        event: Event,
        booking_version: int | None = None,
        run_due_at: datetime | None = None,
        marks: Sequence[str] = (),
        series: Schedule | None = None,
    ) -> None:
        with self.db.lock:
            if (event.tenant_id, event.id) in self.db.events:
                raise AlreadyExists("An event with this id exists.")
            if series is not None:
                stored = self.db.schedules.get((series.tenant_id, series.id))
                if stored is None or stored.version != series.version:
                    raise StaleWrite()
            self._check_marks(event, marks)
            self.db.check_sources(event.tenant_id, event.source_ids)
            if event.external_id and (event.tenant_id, event.external_id) in self.db.external_ids:
                raise ExternalIdTaken()
            self.db.bump_channel(event.tenant_id, event.channel_id, booking_version)
            self.db.events[(event.tenant_id, event.id)] = event
            if event.external_id:
                self.db.external_ids[(event.tenant_id, event.external_id)] = event.id
            if run_due_at is not None:
                self.db.due_runs[(event.tenant_id, event.id)] = run_due_at
            self._apply_marks(event, marks)

    def update(
        self, event: Event, previous: Event, booking_version: int | None = None, marks: Sequence[str] = ()
    ) -> None:
        with self.db.lock:
            current = self.db.events.get((event.tenant_id, event.id))
            if current is None or current.version != previous.version:
                raise StaleWrite()
            self._check_marks(event, marks)
            added = [s for s in event.source_ids if s not in previous.source_ids]
            self.db.check_sources(event.tenant_id, added)
            slot = (event.channel_id, event.start, event.end, event.occupies())
            if slot != (previous.channel_id, previous.start, previous.end, previous.occupies()):
                self.db.bump_channel(event.tenant_id, event.channel_id, booking_version)
            if event.external_id != previous.external_id:
                if event.external_id and (event.tenant_id, event.external_id) in self.db.external_ids:
                    raise ExternalIdTaken()
                self.db.external_ids.pop((event.tenant_id, previous.external_id or ""), None)
                if event.external_id:
                    self.db.external_ids[(event.tenant_id, event.external_id)] = event.id
            self.db.events[(event.tenant_id, event.id)] = event
            self._apply_marks(event, marks)

    def delete(self, event: Event) -> None:
        with self.db.lock:
            current = self.db.events.get((event.tenant_id, event.id))
            if current is None or current.version != event.version:
                raise StaleWrite()
            if event.occupies():
                self.db.bump_channel(event.tenant_id, event.channel_id, None)
            del self.db.events[(event.tenant_id, event.id)]
            if event.external_id:
                self.db.external_ids.pop((event.tenant_id, event.external_id), None)

    def mark(self, tenant_id: str, event_id: str, other_id: str, present: bool) -> None:
        with self.db.lock:
            event = self.db.events.get((tenant_id, event_id))
            if event is None:
                return
            marks = set(event.overlaps) | {other_id} if present else set(event.overlaps) - {other_id}
            self.db.events[(tenant_id, event_id)] = event.model_copy(
                update={"overlaps": sorted(marks), "version": event.version + 1}
            )

    def raise_max_duration(self, pk: str, sk: str, seconds: int) -> None:
        with self.db.lock:
            if pk.endswith("#CHANNEL"):
                tenant_id = pk.split("#")[1]
                channel = self.db.channels.get((tenant_id, sk))
                if channel is not None and channel.max_event_seconds < seconds:
                    self.db.channels[(tenant_id, sk)] = channel.model_copy(
                        update={"max_event_seconds": seconds}
                    )
            else:
                self.db.tenant_max[sk] = max(self.db.tenant_max.get(sk, 0), seconds)

    def list(self, query: EventQuery, bound_seconds: int = 0) -> EventPage:
        found = sorted(
            (e for (t, _), e in self.db.events.items() if t == query.tenant_id and query.matches(e)),
            key=lambda e: (e.start, e.id),
            reverse=query.descending,
        )
        items, cursor = _page(found, query.limit, query.cursor)
        return EventPage(items, cursor, len(items))

    def iterate(self, query: EventQuery, bound_seconds: int = 0) -> Iterator[Event]:
        cursor = None
        while True:
            page = self.list(replace(query, cursor=cursor), bound_seconds)
            yield from page.items
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    def unsettled(self, ended_before: datetime, limit: int = 100) -> Iterator[Event]:
        found = [
            e
            for e in self.db.events.values()
            if e.state not in TERMINAL and e.deleted_at is None and e.end < ended_before
        ]
        yield from sorted(found, key=lambda e: (e.end, e.id))

    def _check_marks(self, event: Event, marks: Sequence[str]) -> None:
        if any((event.tenant_id, other) not in self.db.events for other in marks):
            raise BookingRaced()

    def _apply_marks(self, event: Event, marks: Sequence[str]) -> None:
        for other in marks:
            self.mark(event.tenant_id, other, event.id, True)


class MemorySchedules(MemoryRecords[Schedule]):
    """`ScheduleStore`."""

    def __init__(self, db: MemoryDb) -> None:
        super().__init__(db, Schedule)

    def create(self, schedule: Schedule, booking_version: int | None = None, **_: Any) -> None:  # type: ignore[override]
        with self.db.lock:
            if (schedule.tenant_id, schedule.id) in self.db.schedules:
                raise AlreadyExists("A schedule with this id exists.")
            self.db.check_sources(schedule.tenant_id, schedule.source_ids)
            self.db.bump_channel(schedule.tenant_id, schedule.channel_id, booking_version, 1)
            self.db.schedules[(schedule.tenant_id, schedule.id)] = schedule

    def replace(  # type: ignore[override]
        self,
        record: Schedule,
        expected_version: int,
        booking_version: int | None = None,
        previous: Schedule | None = None,
    ) -> None:
        with self.db.lock:
            current = self.db.schedules.get((record.tenant_id, record.id))
            if current is None or current.version != expected_version:
                raise StaleWrite()
            known = previous.source_ids if previous is not None else record.source_ids
            self.db.check_sources(record.tenant_id, record.source_ids, known)
            if booking_version is not None:
                moved = previous is not None and previous.channel_id != record.channel_id
                self.db.bump_channel(record.tenant_id, record.channel_id, booking_version, int(moved))
                if previous is not None and moved:
                    self.db.bump_channel(previous.tenant_id, previous.channel_id, None, -1)
            self.db.schedules[(record.tenant_id, record.id)] = _keep_live(record, current)

    def split(
        self, ended: Schedule, expected_version: int, successor: Schedule, booking_version: int
    ) -> None:
        with self.db.lock:
            current = self.db.schedules.get((ended.tenant_id, ended.id))
            if current is None or current.version != expected_version:
                raise StaleWrite()
            self.db.check_sources(successor.tenant_id, successor.source_ids, ended.source_ids)
            self.db.bump_channel(successor.tenant_id, successor.channel_id, booking_version, 1)
            self.db.schedules[(ended.tenant_id, ended.id)] = _keep_live(ended, current)
            self.db.schedules[(successor.tenant_id, successor.id)] = successor

    def remove(self, schedule: Schedule) -> None:
        with self.db.lock:
            self.delete(schedule.tenant_id, schedule.id, schedule.version)
            channel = self.db.channels.get((schedule.tenant_id, schedule.channel_id))
            if channel is not None:
                self.db.channels[(schedule.tenant_id, schedule.channel_id)] = channel.model_copy(
                    update={"series_count": channel.series_count - 1}
                )
            self.db.due_schedules.pop((schedule.tenant_id, schedule.id), None)

    def set_progress(self, schedule: Schedule, materialised_until: datetime, due_at: datetime | None) -> None:
        with self.db.lock:
            current = self.db.schedules.get((schedule.tenant_id, schedule.id))
            if current is None:
                return
            self.db.schedules[(schedule.tenant_id, schedule.id)] = current.model_copy(
                update={"materialised_until": materialised_until}
            )
            if due_at is None:
                self.db.due_schedules.pop((schedule.tenant_id, schedule.id), None)
            else:
                self.db.due_schedules[(schedule.tenant_id, schedule.id)] = due_at

    def set_failure(self, schedule: Schedule, failure: dict[str, str] | None) -> None:
        with self.db.lock:
            current = self.db.schedules.get((schedule.tenant_id, schedule.id))
            if current is not None:
                self.db.schedules[(schedule.tenant_id, schedule.id)] = current.model_copy(
                    update={"failure": failure}
                )

    def due(self, now: datetime, page_size: int = 100) -> Iterator[Schedule]:
        due = sorted((at, key) for key, at in self.db.due_schedules.items() if at <= now)
        for _, key in due:
            if key in self.db.schedules:
                yield self.db.schedules[key]

    def for_channel(self, tenant_id: str, channel_id: str) -> list[Schedule]:
        return sorted(
            (s for (t, _), s in self.db.schedules.items() if t == tenant_id and s.channel_id == channel_id),
            key=lambda s: s.id,
        )

    def list_for_channel(
        self, tenant_id: str, channel_id: str, limit: int, cursor: str | None
    ) -> tuple[list[Schedule], str | None]:
        return _page(self.for_channel(tenant_id, channel_id), limit, cursor)


class MemoryLocks:
    """`ChannelLocks`, with the history line written in the same step."""

    def __init__(self, db: MemoryDb) -> None:
        self.db = db

    def holder(self, tenant_id: str, channel_id: str) -> str | None:
        return self.db.live.get((tenant_id, channel_id))

    def write(self, event: Event, previous: Event, lock: str | None, entry: Entry | None = None) -> None:
        with self.db.lock:
            current = self.db.events.get((event.tenant_id, event.id))
            if current is None or current.version != previous.version:
                raise StaleWrite()
            key = (event.tenant_id, event.channel_id)
            holder = self.db.live.get(key)
            if lock == "take":
                if holder not in (None, event.id):
                    raise ChannelBusy(holder)
                self.db.live[key] = event.id
            elif lock == "release" and holder == event.id:
                del self.db.live[key]
            self.db.events[(event.tenant_id, event.id)] = event
            if entry is not None:
                self.db.history.setdefault((entry.tenant_id, entry.event_id), []).append(entry)

    def release(self, tenant_id: str, channel_id: str, event_id: str) -> bool:
        with self.db.lock:
            if self.db.live.get((tenant_id, channel_id)) != event_id:
                return False
            del self.db.live[(tenant_id, channel_id)]
            return True


class MemoryHistory:
    """`HistoryStore`."""

    def __init__(self, db: MemoryDb) -> None:
        self.db = db

    def append(self, entry: Entry) -> None:
        with self.db.lock:
            self.db.history.setdefault((entry.tenant_id, entry.event_id), []).append(entry)

    def list(self, tenant_id: str, event_id: str, limit: int = 500) -> list[Entry]:
        return sorted(self.db.history.get((tenant_id, event_id), []), key=lambda e: (e.at, e.seq))[:limit]


class MemoryDueRuns:
    """`DueRuns`: markers of runs the scheduled job starts later."""

    def __init__(self, db: MemoryDb) -> None:
        self.db = db

    def put(self, tenant_id: str, event_id: str, provision_at: datetime) -> None:
        self.db.due_runs[(tenant_id, event_id)] = provision_at

    def delete(self, tenant_id: str, event_id: str, sort_key: str | None = None) -> None:
        at = self.db.due_runs.get((tenant_id, event_id))
        if at is not None and (sort_key is None or sort_key == _due_key(tenant_id, event_id, at)):
            del self.db.due_runs[(tenant_id, event_id)]

    def due(self, until: datetime, limit: int = 100) -> list[DueRun]:
        found = sorted((at, t, e) for (t, e), at in self.db.due_runs.items() if at <= until)[:limit]
        return [DueRun(t, e, _due_key(t, e, at)) for at, t, e in found]


class MemoryRuns:
    """`Runs` (Step Functions): records which runs were started and stopped; runs nothing."""

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled
        self.started: dict[str, dict[str, Any]] = {}
        self.stopped: list[str] = []

    def start(self, name: str, payload: dict[str, Any]) -> str | None:
        if not self.enabled:
            return None
        self.started.setdefault(name, payload)
        return name

    def stop(self, name: str) -> int:
        if name in self.started and name not in self.stopped:
            self.stopped.append(name)
            return 1
        return 0

    def running(self) -> list[str]:
        return [name for name in self.started if name not in self.stopped]


class MemoryAudit:
    """`AuditStore`."""

    def __init__(self, db: MemoryDb) -> None:
        self.db = db

    def put(self, entry: AuditEntry, expires_at: datetime) -> None:
        with self.db.lock:
            if all(e.id != entry.id for e in self.db.audit):
                self.db.audit.append(entry)

    def list(
        self,
        tenant_id: str,
        resource_id: str | None,
        start: datetime | None,
        end: datetime | None,
        limit: int,
        cursor: str | None,
    ) -> tuple[list[AuditEntry], str | None]:
        found = [
            e
            for e in self.db.audit
            if e.tenant_id == tenant_id
            and (resource_id is None or e.resource_id == resource_id)
            and (start is None or e.at >= start)
            and (end is None or e.at < end)
        ]
        found.sort(key=lambda e: (e.at, e.id), reverse=True)
        return _page(found, limit, cursor)


class MemoryTenancy:
    """What the booking services ask of tenants: the longest booking a tenant has made."""

    def __init__(self, db: MemoryDb) -> None:
        self.db = db

    def tenant_max_duration(self, tenant_id: str) -> int:
        return self.db.tenant_max.get(tenant_id, 0)


def _page(items: list[Any], limit: int, cursor: str | None) -> tuple[list[Any], str | None]:
    """A page of `items` after the opaque offset `cursor`; the next cursor, or None at the end."""
    start = int(cursor) if cursor and cursor.isdigit() else 0
    end = start + limit
    return items[start:end], (str(end) if end < len(items) else None)


def _keep_live(record: R, current: R) -> R:
    """A replaced record keeps the attributes other writes own (as the DynamoDB item's live attributes)."""
    live = ("max_event_seconds", "booking_version", "series_count", "materialised_until", "failure")
    kept = {name: getattr(current, name) for name in live if name in type(record).model_fields}
    return record.model_copy(update=kept)


def _due_key(tenant_id: str, event_id: str, at: datetime) -> str:
    return f"{format_instant(at)}#{tenant_id}#{event_id}"


Publisher = Callable[[str, dict[str, Any]], None]
