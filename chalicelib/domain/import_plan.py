"""The plan of a timetable import, pure: what each row (and each booking whose row is gone) needs.

The ledger remembers, per `external_id` of a source, the booking an import wrote for it, the row's digest
then and the booking's fingerprint as written. Against it:

| row now | booking since the last import | plan |
|---|---|---|
| new | - | create |
| same digest | unchanged | unchanged |
| new digest | unchanged | update (refused once the booking has started) |
| any | changed in onair (or deleted) | drift: left alone, unless `overwrite_local_edits` (then update) |
| gone, or STATUS:CANCELLED | unchanged, in scope, not started | cancel |
| gone | changed in onair | drift (kept) unless `overwrite_local_edits` (then cancel) |

Bookings outside the import's scope are never touched; a row outside it is an error. A booking that has
started is never cancelled or changed, and nothing is created that has started or ended already.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from chalicelib.domain.errors import FieldError
from chalicelib.domain.imports import ScopeIn
from chalicelib.domain.models import Event, EventState
from chalicelib.domain.schedules import Schedule
from chalicelib.domain.timetable_rows import Desired, Invalid

# What an import writes of each kind; a local change to any of these is drift.
EVENT_FIELDS = (
    "title", "channel_id", "start", "end", "source_ids", "start_mode", "end_mode", "record", "publish",
    "ref_id", "tags", "category", "metadata", "settings", "share",
)  # fmt: skip
SERIES_FIELDS = (
    "title", "channel_id", "start", "timezone", "duration", "recurrence", "active", "source_ids",
    "start_mode", "end_mode", "record", "publish", "tags", "category", "metadata", "settings", "share",
    "calendar_id", "weeks",
)  # fmt: skip


@dataclass(frozen=True)
class Entry:
    """The ledger's memory of one row: its booking, the row's digest and the booking as last written."""

    external_id: str
    kind: str
    booking_id: str | None
    digest: str
    fingerprint: str
    channel_id: str
    start: datetime
    pending_since: str | None = None  # a series create that may not have finished (see the job)


@dataclass(frozen=True)
class Current:
    """A booking as it is now: its fingerprint, whether it is gone or deleted, whether it has begun."""

    fingerprint: str | None  # None: gone for good
    deleted: bool = False
    started: bool = False
    version: int = 0


@dataclass
class Step:
    """One line of the plan: a row (or, for a cancel, the booking whose row is gone) and what to do."""

    external_id: str
    action: str  # create | update | cancel | unchanged | drift | error
    kind: str | None = None
    row: int | None = None
    line: int | None = None
    desired: Desired | None = None
    entry: Entry | None = None
    booking_id: str | None = None
    errors: list[FieldError] = field(default_factory=list)
    detail: str | None = None


def fingerprint(record: Event | Schedule) -> str:
    """What an import manages of a booking, hashed: a change in onair to any of it is drift.

    Events: the fields an import writes, and whether it is deleted or cancelled. Series: the fields an
    import writes, and the occurrences people changed or skipped (not those a calendar's closures skipped).
    """
    if isinstance(record, Event):
        view = record.model_dump(mode="json", include=set(EVENT_FIELDS))
        view["off"] = record.deleted_at is not None or record.state == EventState.CANCELLED
    else:
        view = record.model_dump(mode="json", include=set(SERIES_FIELDS))
        view["exceptions"] = {
            key: exc.model_dump(mode="json", exclude={"event_id", "closure_id"})
            for key, exc in sorted(record.exceptions.items())
            if exc.closure_id is None
        }
    text = json.dumps(view, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def plan(
    rows: list[Desired | Invalid],
    ledger: dict[str, Entry],
    current: dict[str, Current],
    scope: ScopeIn,
    now: datetime,
    overwrite_local_edits: bool = False,
) -> list[Step]:
    """Every row's step in row order, then the cancels (by external_id). `current` is keyed by booking id."""
    seen: dict[str, int] = {}
    steps = [_row_step(row, seen, ledger, current, scope, now, overwrite_local_edits) for row in rows]
    present = {s.external_id for s in steps if s.desired is not None and s.action != "cancel"}
    gone = {s.external_id: s for s in _gone(ledger, current, scope, present, overwrite_local_edits)}
    for step in steps:
        if step.action == "cancel":  # the row itself says the booking is off
            found = gone.pop(step.external_id, None)
            if found is None:
                step.action, step.detail = "unchanged", "cancelled in the timetable; nothing is booked"
            else:
                step.action, step.entry, step.booking_id, step.detail = (
                    found.action,
                    found.entry,
                    found.booking_id,
                    found.detail,
                )
    return steps + list(gone.values())


def _gone(
    ledger: dict[str, Entry], current: dict[str, Current], scope: ScopeIn, present: set[str], overwrite: bool
) -> list[Step]:
    """Steps for the bookings in scope whose rows are gone, by external_id."""
    found = []
    for external_id, entry in sorted(ledger.items()):
        if external_id in present or not scope.holds(entry.channel_id, entry.start):
            continue
        step = Step(external_id, "cancel", entry.kind, entry=entry, booking_id=entry.booking_id)
        state = current.get(entry.booking_id or "")
        if state is None or state.fingerprint is None:
            step.detail = "already gone from onair"
        elif state.started:
            continue  # it has begun: history is not rewritten
        elif state.fingerprint != entry.fingerprint and not overwrite:
            step.action, step.detail = "drift", "its row is gone, but it was changed in onair since: kept"
        found.append(step)
    return found


def _row_step(
    row: Desired | Invalid,
    seen: dict[str, int],
    ledger: dict[str, Entry],
    current: dict[str, Current],
    scope: ScopeIn,
    now: datetime,
    overwrite: bool,
) -> Step:
    if isinstance(row, Invalid):
        return Step(row.external_id or "", "error", row=row.row, line=row.line, errors=row.errors)
    step = Step(row.external_id, "error", row.kind, row.row, row.line, desired=row)
    if row.external_id in seen:
        step.errors = [FieldError("/external_id", f"repeats row {seen[row.external_id]}'s")]
        step.desired = None
        return step
    seen[row.external_id] = row.row
    if not scope.holds(row.channel_id, row.start):
        pointer = (
            "/channel"
            if scope.channel_ids is not None and row.channel_id not in scope.channel_ids
            else "/start"
        )
        step.errors = [FieldError(pointer, "is outside the import's scope")]
        step.desired = None
        return step
    if row.cancelled:
        step.action = "cancel"
        return step
    entry = ledger.get(row.external_id)
    step.entry = entry
    if entry is not None and entry.kind != row.kind:
        step.errors = [
            FieldError("", f"was a {entry.kind} and is now a {row.kind}: give it a new external_id")
        ]
        return step
    state = current.get(entry.booking_id or "") if entry is not None else None
    if entry is not None and entry.booking_id is not None:
        step.booking_id = entry.booking_id
    if entry is None or entry.booking_id is None:
        return _create(step, row, now)
    if state is None or state.fingerprint is None or state.deleted or state.fingerprint != entry.fingerprint:
        gone = state is None or state.fingerprint is None
        if not overwrite:
            step.action = "drift"
            step.detail = (
                "deleted in onair since the last import: left alone"
                if gone or (state is not None and state.deleted)
                else "changed in onair since the last import: left alone"
            )
            return step
        if gone:
            return _create(step, row, now)
        return _update(step, state, now)
    if row.digest == entry.digest:
        step.action = "unchanged"
        return step
    return _update(step, state, now)


def _create(step: Step, row: Desired, now: datetime) -> Step:
    if row.kind == "event" and row.start <= now:
        step.errors = [FieldError("/start", "is past: an import books only what is still to come")]
    elif row.kind == "series" and row.start <= now:
        step.errors = [FieldError("/start", "must be in the future (a new series starts ahead)")]
    else:
        step.action = "create"
    return step


def _update(step: Step, state: Current, now: datetime) -> Step:
    row = step.desired
    assert row is not None
    if row.kind == "event" and (state.started or row.start <= now):
        step.errors = [
            FieldError("", "the booking has started: an import changes only what is still to come")
        ]
    else:
        step.action = "update"
    return step


def counts(steps: list[Step]) -> dict[str, Any]:
    """How many steps of each action."""
    found = dict.fromkeys(("create", "update", "cancel", "unchanged", "error", "drift"), 0)
    for step in steps:
        found[step.action] += 1
    return found
