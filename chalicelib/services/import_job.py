"""The import job: read the timetable, plan it against the source's ledger, then (unless a dry run)
apply the plan row by row through `BookingWriter`, resumably.

- One runner at a time: a run claims the import's lease (a conditional write), and an apply also holds
  its source's lock, so two applies of one import, or of one source, never run together.
- No row is half-written: each row is one booking write (one transaction) followed by its ledger entry;
  an event is found again by its external_id (`<source>:<external_id>`) and a series by the pending mark
  its ledger entry carries while it is being created, so a run that stops between the two repairs it.
- Progress is saved every batch (row results in pages, counts, the lease renewed); when the Lambda is
  about to run out of time the run hands over (`{"again": true}`) and the next one goes on from there.
- Cancels run first, then updates, then creates (a move frees its old slot before others take it);
  rows of different channels are applied side by side. A row refused for an overlap is tried once more
  at the end, after the rows that may have freed its slot (a swap of two rooms).
"""

from __future__ import annotations

import contextvars
import logging
import math
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

from chalicelib.adapters.imports import RESULTS_PER_PAGE, ImportStore
from chalicelib.adapters.uploads import UploadStore, upload_key
from chalicelib.domain.calendars import Calendar
from chalicelib.domain.closures import with_calendar
from chalicelib.domain.conflicts import Booking, Slot, find_conflicts
from chalicelib.domain.errors import BookingConflict, DomainError, StaleWrite, ValidationFailed
from chalicelib.domain.ids import new_id
from chalicelib.domain.import_plan import Current, Entry, Step, fingerprint, plan
from chalicelib.domain.imports import ACTIONS, LEASE, RUNNABLE, Import
from chalicelib.domain.inputs import ScheduleIn
from chalicelib.domain.models import Event, EventState
from chalicelib.domain.recurrence import MAX_STEPS
from chalicelib.domain.schedules import Schedule, occurrences
from chalicelib.domain.time import format_instant, parse_instant
from chalicelib.domain.timetable import parse
from chalicelib.domain.timetable_rows import Catalog, desired, digest
from chalicelib.domain.timetable_rows import _pointer as row_pointer
from chalicelib.services.bookings import suggestion_json
from chalicelib.services.common import etag
from chalicelib.services.events import EventService
from chalicelib.services.import_writer import BookingWriter, import_principal
from chalicelib.services.schedules import ScheduleService, schedule_view

log = logging.getLogger("onair.imports")

RESERVE_SECONDS = 90.0  # hand over to a fresh run when less time than this is left
BATCH = 100  # rows between two checkpoints
MAX_SUGGESTIONS = 25  # a dry run suggests a free slot for the first this many rows that overlap
ORDER = {"cancel": 0, "update": 1, "create": 2}


class ImportJob:
    """Runs imports: `handle({"tenant_id", "import_id"})` plans or applies one."""

    def __init__(
        self,
        store: ImportStore,
        uploads: UploadStore,
        events: EventService,
        schedules: ScheduleService,
        clock: Callable[[], datetime],
        max_bytes: int,
        workers: int = 4,
    ) -> None:
        self.store = store
        self.uploads = uploads
        self.events = events
        self.schedules = schedules
        self.clock = clock
        self.max_bytes = max_bytes
        self.workers = max(1, workers)

    def handle(self, payload: dict[str, Any], time_left: Callable[[], float] | None = None) -> dict[str, Any]:
        """One run. `time_left()` is the seconds this run may still take (a Lambda's remaining time).

        Returns a summary; `again: true` means it handed over and wants another run.
        """
        tenant_id, import_id = str(payload.get("tenant_id", "")), str(payload.get("import_id", ""))
        now = self.clock()
        owner = new_id("run", now)
        record = self.store.claim(tenant_id, import_id, owner, now + LEASE, now, RUNNABLE)
        if record is None:
            return {"import_id": import_id, "ran": False}
        run = _Run(self, record, owner, now, time_left or (lambda: math.inf))
        try:
            return run.go()
        except Exception:
            log.exception("the import job stopped", extra={"import_id": import_id})
            run.fail(
                [{"pointer": "", "detail": "the job stopped unexpectedly (logged); apply it again to go on"}]
            )
            return {"import_id": import_id, "ran": True, "status": "failed"}


class _Run:
    """One run of one import: everything it read and decided."""

    def __init__(
        self, job: ImportJob, record: Import, owner: str, now: datetime, time_left: Callable[[], float]
    ):
        self.job = job
        self.record = record
        self.owner = owner
        self.now = now
        self.time_left = time_left
        self.tenant_id = record.tenant_id
        self.writer = BookingWriter(
            job.events, job.schedules, import_principal(record.tenant_id, record.id, record.source)
        )
        self.results: list[dict[str, Any]] = []
        self.locked = False

    # -- the run --------------------------------------------------------------------------------------

    def go(self) -> dict[str, Any]:
        store, record = self.job.store, self.record
        if record.status == "queued":
            self._save(status="planning", started_at=self.now)
        try:
            content = self.job.uploads.get(upload_key(self.tenant_id, record.id), self.job.max_bytes)
            raws = parse(record.format, content)
        except ValidationFailed as exc:
            return self.fail([{"pointer": e.pointer, "detail": e.detail} for e in exc.errors])
        catalog = Catalog(store.channels(self.tenant_id), store.calendars(self.tenant_id))
        rows = [desired(raw, catalog) for raw in raws]
        if not record.dry_run:
            holder = store.lock_source(self.tenant_id, record.source, record.id, self.now + LEASE, self.now)
            if holder is not None:
                return self.fail(
                    [
                        {
                            "pointer": "/source",
                            "detail": f"import {holder} is applying this source; apply again later",
                        }
                    ]
                )
            self.locked = True
        ledger = self._recovered(store.ledger(self.tenant_id, record.source))
        steps = plan(
            rows, ledger, self._current(ledger), record.scope_in(), self.now, record.overwrite_local_edits
        )
        if record.dry_run:
            self.results = [_result(step, "planned") for step in steps]
            self._preview(steps, catalog)
            self._store_pages(set(range(self._pages())))
            return self._finish("planned")
        return self._apply(steps)

    def _apply(self, steps: list[Step]) -> dict[str, Any]:
        planned = {step.external_id: step for step in steps}
        stored = self._stored() if self.record.total is not None else []
        done = {r["external_id"]: r for r in stored if r.get("state") == "done"}
        self.results = [done.get(s.external_id) or _result(s, _initial_state(s)) for s in steps]
        self.results += [r for key, r in done.items() if key not in planned]  # cancels done by an earlier run
        self.results.sort(key=lambda r: (r["row"] is None, r["row"] or 0, r["external_id"]))
        if self.record.status != "applying" or self.record.total != len(self.results):
            self._store_pages(set(range(self._pages())))
            self._save(status="applying", total=len(self.results))
        pending = sorted(
            (i for i, r in enumerate(self.results) if r["state"] == "planned"),
            key=lambda i: (ORDER[self.results[i]["action"]], i),
        )
        retry: list[int] = []
        for first in range(0, len(pending), BATCH):
            batch = pending[first : first + BATCH]
            for index, result in self._run_batch(
                [(i, planned[self.results[i]["external_id"]]) for i in batch]
            ):
                self.results[index] = result
                if result.pop("_retry", False):
                    retry.append(index)
            self._store_pages({i // RESULTS_PER_PAGE for i in batch})
            self._save()
            if self.time_left() < RESERVE_SECONDS and first + BATCH < len(pending):
                self._save(release=True)
                return {"import_id": self.record.id, "ran": True, "again": True, "done": self.record.done}
        for index in retry:  # once more, after the rows that may have freed their slots
            step = planned[self.results[index]["external_id"]]
            result = self._apply_step(step)
            result.pop("_retry", None)
            self.results[index] = result
        if retry:
            self._store_pages({i // RESULTS_PER_PAGE for i in retry})
        return self._finish("applied")

    def _run_batch(self, batch: list[tuple[int, Step]]) -> list[tuple[int, dict[str, Any]]]:
        """Apply a batch: each channel's rows in order, channels side by side."""
        groups: dict[str, list[tuple[int, Step]]] = {}
        for index, step in batch:
            channel = (
                step.desired.channel_id if step.desired else (step.entry.channel_id if step.entry else "")
            )
            groups.setdefault(channel, []).append((index, step))

        def run(group: list[tuple[int, Step]]) -> list[tuple[int, dict[str, Any]]]:
            return [(index, self._apply_step(step)) for index, step in group]

        if self.job.workers == 1 or len(groups) == 1:
            return [pair for group in groups.values() for pair in run(group)]
        with ThreadPoolExecutor(max_workers=min(self.job.workers, len(groups))) as pool:
            # Each group in a copy of this context: its writes' audit items carry this run's request id.
            found = [pool.submit(contextvars.copy_context().run, run, group) for group in groups.values()]
            return [pair for future in found for pair in future.result()]

    # -- one row --------------------------------------------------------------------------------------

    def _apply_step(self, step: Step) -> dict[str, Any]:
        result = _result(step, "done")
        try:
            if step.kind == "series":
                self._apply_series(step, result)
            else:
                self._apply_event(step, result)
        except BookingConflict as exc:
            result.update(
                action="error", conflicts=exc.conflicts, suggestion=exc.suggestion, detail=exc.detail
            )
            result["_retry"] = step.action in ("create", "update")
        except ValidationFailed as exc:
            result.update(
                action="error",
                errors=[{"pointer": row_pointer(e.pointer), "detail": e.detail} for e in exc.errors],
            )
        except DomainError as exc:
            result.update(action="error", detail=exc.detail)
        except Exception:
            log.exception("an import row failed", extra={"import_id": self.record.id, "row": step.row})
            result.update(
                action="error", detail="writing this row failed unexpectedly; the logs have the details"
            )
        return result

    def _apply_event(self, step: Step, result: dict[str, Any]) -> None:
        external_id = f"{self.record.source}:{step.external_id}"
        if step.action == "create":
            event = self.writer.put_event(external_id, self._body(step), None, self.now)
            self._remember(step, event)
            result["event_id"] = event.id
            return
        assert step.booking_id is not None
        fresh = self.writer.event(step.booking_id)
        if not self._still_ours(step, fresh, result):
            return
        assert fresh is not None
        if step.action == "update":
            event = self.writer.put_event(external_id, self._body(step), etag(fresh), self.now)
            self._remember(step, event)
        elif fresh.start <= self.now or fresh.state != EventState.SCHEDULED:
            result.update(action="unchanged", detail="it has started: kept")
        else:
            if fresh.deleted_at is None:
                self.writer.remove_event(fresh.id, etag(fresh), self.now)
            self.job.store.forget(self.tenant_id, self.record.source, step.external_id)

    def _apply_series(self, step: Step, result: dict[str, Any]) -> None:
        if step.action == "create":
            assert step.desired is not None
            row = step.desired
            pending = Entry(
                step.external_id,
                "series",
                None,
                row.digest,
                "",
                row.channel_id,
                row.start,
                format_instant(self.now),
            )
            self.job.store.remember(self.tenant_id, self.record.source, pending, self.record.id)
            try:
                schedule = self.writer.create_series(self._body(step), self.now)
            except Exception:
                self.job.store.forget(self.tenant_id, self.record.source, step.external_id)
                raise
            self._remember(step, schedule)
            result["schedule_id"] = schedule.id
            return
        assert step.booking_id is not None
        fresh = self.writer.series(step.booking_id)
        if not self._still_ours(step, fresh, result):
            return
        assert fresh is not None
        if step.action == "update":
            self._remember(step, self.writer.change_series(fresh.id, self._body(step), etag(fresh), self.now))
        elif not occurrences(fresh, after=self.now, before=None, limit=1)[0]:
            result.update(action="unchanged", detail="it has ended: kept")
        else:
            self.writer.remove_series(fresh.id, etag(fresh), self.now)
            self.job.store.forget(self.tenant_id, self.record.source, step.external_id)

    def _still_ours(self, step: Step, fresh: Event | Schedule | None, result: dict[str, Any]) -> bool:
        """Whether the booking is still as the plan saw it (else the row is drift, or gone)."""
        if fresh is None:
            if step.action == "cancel":
                self.job.store.forget(self.tenant_id, self.record.source, step.external_id)
                return False
            result.update(action="drift", detail="deleted in onair during the import: left alone")
            return False
        assert step.entry is not None
        if fingerprint(fresh) != step.entry.fingerprint and not self.record.overwrite_local_edits:
            result.update(action="drift", detail="changed in onair since the last import: left alone")
            return False
        return True

    def _body(self, step: Step) -> dict[str, Any]:
        assert step.desired is not None
        return dict(step.desired.body)

    def _remember(self, step: Step, booking: Event | Schedule) -> None:
        assert step.desired is not None
        row = step.desired
        entry = Entry(
            step.external_id,
            row.kind,
            booking.id,
            row.digest,
            fingerprint(booking),
            row.channel_id,
            row.start,
        )
        self.job.store.remember(self.tenant_id, self.record.source, entry, self.record.id)

    # -- what the plan reads --------------------------------------------------------------------------

    def _current(self, ledger: dict[str, Entry]) -> dict[str, Current]:
        """The ledger's bookings as they are now (one batched read per 100; 1 item read per row)."""
        events = [e.booking_id for e in ledger.values() if e.kind == "event" and e.booking_id]
        series = [e.booking_id for e in ledger.values() if e.kind == "series" and e.booking_id]
        found: dict[str, Current] = {}
        for booking_id, booking in self.job.store.bookings(self.tenant_id, events, series).items():
            if isinstance(booking, Event):
                started = booking.start <= self.now or booking.state != EventState.SCHEDULED
                found[booking_id] = Current(fingerprint(booking), booking.deleted_at is not None, started)
            else:
                ahead = occurrences(booking, after=self.now, before=None, limit=1)[0]
                found[booking_id] = Current(fingerprint(booking), False, not ahead)
        return found

    def _recovered(self, ledger: dict[str, Entry]) -> dict[str, Entry]:
        """Finish what a run that stopped mid-row left: a series created without its ledger entry."""
        for key, entry in list(ledger.items()):
            if entry.booking_id is not None or entry.pending_since is None:
                continue
            since = parse_instant(entry.pending_since)
            orphan = next(
                (
                    s
                    for s in self.writer.series_on(entry.channel_id)
                    if s.created_at >= since and _series_digest(s) == entry.digest
                ),
                None,
            )
            if orphan is None:
                self.job.store.forget(self.tenant_id, self.record.source, key)
                del ledger[key]
            else:
                ledger[key] = Entry(
                    key, "series", orphan.id, entry.digest, fingerprint(orphan), entry.channel_id, entry.start
                )
                self.job.store.remember(self.tenant_id, self.record.source, ledger[key], self.record.id)
        return ledger

    # -- a dry run's overlaps -------------------------------------------------------------------------

    def _preview(self, steps: list[Step], catalog: Catalog) -> None:
        """Each create or update checked against its channel's bookings and the other rows: the bookings
        this import replaces give way, and the first rows that overlap get a suggested free slot."""
        replaced = {s.booking_id for s in steps if s.action in ("update", "cancel") and s.booking_id}
        by_channel: dict[str, list[tuple[int, Step, list[Slot]]]] = {}
        for index, step in enumerate(steps):
            if step.action in ("create", "update") and step.desired is not None:
                slots = self._slots(step, catalog)
                by_channel.setdefault(step.desired.channel_id, []).append((index, step, slots))
        suggested = 0
        bookings = self.job.events.bookings

        def gives_way(booking: Booking) -> bool:
            return booking.event_id in replaced or (booking.schedule_id or "") in replaced

        for channel_id, group in by_channel.items():
            channel = catalog.channels[channel_id]
            spans = [s for _, _, slots in group for s in slots]
            if not spans:
                continue
            low = min(s.start for s in spans) - channel.changeover
            high = max(s.end for s in spans) + channel.changeover
            existing = [b for b in bookings.window(channel, low, high) if not gives_way(b)]
            proposed = [
                Booking(f"row:{step.row}", s.start, s.end, str(step.desired.body.get("title", "")))
                for _, step, slots in group
                if step.desired is not None
                for s in slots
            ]
            for index, step, slots in group:
                own = f"row:{step.row}"
                others = [p for p in proposed if p.event_id != own]
                refs = find_conflicts(slots, existing + others, channel.changeover)
                if not refs:
                    continue
                self.results[index]["conflicts"] = [_row_ref(ref.to_json()) for ref in refs[:50]]
                if suggested < MAX_SUGGESTIONS and slots:
                    suggested += 1
                    first = slots[0]
                    length = first.end - first.start
                    free = bookings.suggest(channel, length, first.start, extra=others, exclude=gives_way)
                    self.results[index]["suggestion"] = suggestion_json(free)

    def _slots(self, step: Step, catalog: Catalog) -> list[Slot]:
        """The booking's slots: an event's one, a series' occurrences (an endless one's for a year)."""
        assert step.desired is not None
        row = step.desired
        if row.kind == "event":
            return [Slot(row.start, row.end)]
        probe = Schedule(
            id="sch_row", tenant_id=self.tenant_id, created_at=self.now, updated_at=self.now, **row.body
        )
        calendar: Calendar | None = catalog.calendars.get(probe.calendar_id or "")
        if calendar is not None:
            probe = with_calendar(probe, calendar, self.now)
        before = None if probe.teaching else self.now + timedelta(days=365)
        try:
            found, _ = occurrences(probe, after=self.now, before=before, limit=MAX_STEPS)
        except ValidationFailed:
            return []
        return [Slot(o.start, o.end, o.occurrence_start) for o in found]

    # -- keeping the record ---------------------------------------------------------------------------

    def _pages(self) -> int:
        return max(1, math.ceil(len(self.results) / RESULTS_PER_PAGE))

    def _store_pages(self, pages: set[int]) -> None:
        for page in sorted(pages):
            chunk = self.results[page * RESULTS_PER_PAGE : (page + 1) * RESULTS_PER_PAGE]
            self.job.store.put_results(self.tenant_id, self.record.id, page, [_compact(r) for r in chunk])

    def _stored(self) -> list[dict[str, Any]]:
        total = self.record.total or 0
        pages = self.job.store.results(
            self.tenant_id, self.record.id, 0, max(1, math.ceil(total / RESULTS_PER_PAGE))
        )
        return [row for page in pages for row in page][:total]

    def _tally(self) -> dict[str, Any]:
        counted = [r for r in self.results if r.get("state") == "done" or self.record.dry_run]
        counts = dict.fromkeys(ACTIONS, 0) | dict(Counter(r["action"] for r in counted))
        conflicts = sum(1 for r in self.results if r.get("conflicts"))
        if conflicts:
            counts["conflict"] = conflicts
        return {"counts": counts, "done": len(counted), "total": len(self.results)}

    def _save(self, release: bool = False, **changes: Any) -> None:
        now = self.job.clock()
        if self.results:
            changes = {**self._tally(), **changes}
        self.record = self.record.model_copy(
            update={**changes, "updated_at": now, "version": self.record.version + 1}
        )
        self.job.store.save(self.record, self.owner, now + LEASE, release=release)

    def _finish(self, status: str) -> dict[str, Any]:
        self._save(release=True, status=status, finished_at=self.job.clock())
        self._unlock()
        return {"import_id": self.record.id, "ran": True, "status": status, "counts": self.record.counts}

    def fail(self, errors: list[dict[str, str]]) -> dict[str, Any]:
        """The file (or the run) failed as a whole: say why on the import, and let go of it."""
        try:
            self._save(release=True, status="failed", errors=errors, finished_at=self.job.clock())
        except StaleWrite:
            log.warning("an import was taken over while failing", extra={"import_id": self.record.id})
        self._unlock()
        return {"import_id": self.record.id, "ran": True, "status": "failed"}

    def _unlock(self) -> None:
        if self.locked:
            self.job.store.unlock_source(self.tenant_id, self.record.source, self.record.id)
            self.locked = False


def _initial_state(step: Step) -> str:
    return "planned" if step.action in ORDER else "done"


def _result(step: Step, state: str) -> dict[str, Any]:
    """A step as its row result (`RowResult`'s fields)."""
    result: dict[str, Any] = {
        "row": step.row,
        "line": step.line,
        "external_id": step.external_id,
        "kind": step.kind,
        "action": step.action,
        "state": state,
        "errors": [{"pointer": e.pointer, "detail": e.detail} for e in step.errors],
        "conflicts": [],
        "suggestion": None,
        "detail": step.detail,
    }
    if step.booking_id:
        result["event_id" if step.kind == "event" else "schedule_id"] = step.booking_id
    return result


def _compact(result: dict[str, Any]) -> dict[str, Any]:
    """A result as stored: empty fields left out."""
    return {k: v for k, v in result.items() if v not in (None, [], {}) and not k.startswith("_")}


def _row_ref(ref: dict[str, Any]) -> dict[str, Any]:
    """A conflict with another row of the same import names the row (its booking does not exist yet)."""
    event_id = ref.get("event_id") or ""
    if event_id.startswith("row:"):
        ref = {**ref, "event_id": None, "row": int(event_id[4:])}
    return ref


def _series_digest(schedule: Schedule) -> str:
    """What a row that asks for exactly this series would digest to."""
    view = ScheduleIn.model_validate(schedule_view(schedule)).model_dump(
        mode="json", exclude={"allow_conflict"}
    )
    return digest("series", view)
