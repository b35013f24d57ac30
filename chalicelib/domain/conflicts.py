"""Booking conflicts on one channel: overlap with changeover, free-slot suggestion, availability.

Every interval is half-open, `[start, end)`: starts inclusive, ends exclusive. A channel's
changeover is the gap two bookings need between them, so slot `[a, b)` conflicts with booking
`[s, e)` iff `a < e + changeover and s < b + changeover`. Pure: no clock, no I/O; every datetime
is timezone-aware (UTC). Invalid arguments (end not after start, negative changeover) are caller
bugs and raise `ValueError`; request validation belongs to the service layer.
"""

from __future__ import annotations

import heapq
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

ConflictKind = Literal["partial", "blocked"]
PARTIAL: ConflictKind = "partial"
BLOCKED: ConflictKind = "blocked"


@dataclass(frozen=True)
class Booking:
    """An existing booking on a channel, `[start, end)`: starts inclusive, ends exclusive."""

    event_id: str
    start: datetime
    end: datetime
    title: str = ""
    schedule_id: str | None = None


@dataclass(frozen=True)
class Slot:
    """A requested interval `[start, end)`; `occurrence_start` names the schedule occurrence it stands for."""

    start: datetime
    end: datetime
    occurrence_start: datetime | None = None


@dataclass(frozen=True)
class ConflictRef:
    """A booking `[start, end)` a requested slot conflicts with; `blocked` if it wholly contains the slot."""

    event_id: str
    schedule_id: str | None
    title: str
    start: datetime
    end: datetime
    kind: ConflictKind
    occurrence_start: datetime | None = None

    def to_json(self) -> dict[str, Any]:
        """The API's conflict ref: instants as RFC 3339 UTC with `Z` at second precision."""
        body: dict[str, Any] = {
            "event_id": self.event_id,
            "schedule_id": self.schedule_id,
            "title": self.title,
            "start": _rfc3339(self.start),
            "end": _rfc3339(self.end),
            "kind": self.kind,
        }
        if self.occurrence_start is not None:
            body["occurrence_start"] = _rfc3339(self.occurrence_start)
        return body


def find_conflicts(
    slots: Sequence[Slot],
    bookings: Sequence[Booking],
    changeover: timedelta = timedelta(0),
    ignore_event_ids: Collection[str] = (),
) -> list[ConflictRef]:
    """Each slot `[a, b)` x booking `[s, e)` pair with `a < e + changeover and s < b + changeover`.

    Ordered by slot start, then booking start. Intervals are half-open (starts inclusive, ends
    exclusive), so back-to-back bookings pass when changeover is 0. A sweep:
    O((n + m) log(n + m) + k) for n bookings, m slots and k reported conflicts.
    """
    _check_changeover(changeover)
    ordered_slots = _sorted_slots(slots)
    ordered = _sorted_bookings(bookings, ignore_event_ids)
    n = len(ordered)

    # Active bookings live in a doubly linked list in start order (they join in start order, because
    # the pointer walks `ordered`), and in a heap by end to find the ones that can no longer conflict.
    # A booking may be long or overlap others, so it stays active across as many slots as it reaches.
    # Index n is the sentinel: nxt[n] is the head, prv[n] the tail.
    nxt = [n] * (n + 1)
    prv = [n] * (n + 1)
    # Plain numbers, computed once: comparing and heaping floats is much cheaper than datetimes, and it
    # keeps the work per booking constant as the channel grows (no datetime per comparison).
    gap = changeover.total_seconds()
    starts = [b.start.timestamp() for b in ordered]
    ends = [b.end.timestamp() + gap for b in ordered]
    by_end: list[tuple[float, int]] = []
    pointer = 0
    result: list[ConflictRef] = []
    for slot in ordered_slots:
        slot_start = slot.start.timestamp()
        # Join every booking starting early enough to reach this slot. A later slot may end sooner
        # than an earlier one, so some joined bookings need not reach it: the walk below stops there.
        reach = slot.end.timestamp() + gap
        while pointer < n and starts[pointer] < reach:
            tail = prv[n]
            nxt[tail], prv[pointer], nxt[pointer], prv[n] = pointer, tail, n, pointer
            heapq.heappush(by_end, (ends[pointer], pointer))
            pointer += 1
        # Slots come in start order, so a booking that ends (plus changeover) by this slot's start
        # cannot conflict with any later slot either: unlinking it for good is safe.
        while by_end and by_end[0][0] <= slot_start:
            _, gone = heapq.heappop(by_end)
            nxt[prv[gone]], prv[nxt[gone]] = nxt[gone], prv[gone]
        # Every linked booking now ends late enough; those that also start early enough form a
        # prefix of the start-ordered list, so the walk costs only the conflicts it reports.
        i = nxt[n]
        while i != n and starts[i] < reach:
            result.append(_ref(slot, ordered[i]))
            i = nxt[i]
    return result


def pairwise_conflicts(
    slots: Sequence[Slot],
    bookings: Sequence[Booking],
    changeover: timedelta = timedelta(0),
    ignore_event_ids: Collection[str] = (),
) -> list[ConflictRef]:
    """`find_conflicts` by checking every pair, O(n * m); the reference for tests and benchmarks."""
    _check_changeover(changeover)
    ordered_slots = _sorted_slots(slots)
    ordered = _sorted_bookings(bookings, ignore_event_ids)
    return [
        _ref(slot, booking)
        for slot in ordered_slots
        for booking in ordered
        if slot.start < booking.end + changeover and booking.start < slot.end + changeover
    ]


def earliest_free_slot(
    bookings: Sequence[Booking],
    duration: timedelta,
    not_before: datetime,
    not_after: datetime,
    changeover: timedelta = timedelta(0),
    ignore_event_ids: Collection[str] = (),
) -> Slot | None:
    """The earliest `[t, t + duration)` inside `[not_before, not_after]` conflicting with no booking, or None.

    Starts inclusive, ends exclusive; the slot may end exactly at `not_after`. Conflict means the
    same changeover rule as `find_conflicts`. O(n log n).
    """
    _check_changeover(changeover)
    if duration <= timedelta(0):
        raise ValueError("duration must be positive")
    t = not_before
    for booking in _sorted_bookings(bookings, ignore_event_ids):
        if t + duration > not_after:
            return None
        if booking.start >= t + duration + changeover:
            # Bookings are in start order, so none from here on reaches the candidate either.
            break
        # If this booking reaches the candidate, every start before its end plus changeover would
        # conflict with it too, so the next candidate is exactly there; otherwise t stays.
        t = max(t, booking.end + changeover)
    if t + duration > not_after:
        return None
    return Slot(t, t + duration)


def availability(
    bookings: Sequence[Booking],
    window_start: datetime,
    window_end: datetime,
    changeover: timedelta = timedelta(0),
) -> tuple[list[tuple[datetime, datetime, str]], list[tuple[datetime, datetime]]]:
    """Busy `(start, end, event_id)` and free `(start, end)` intervals in `[window_start, window_end)`.

    All half-open (starts inclusive, ends exclusive) and clipped to the window. Each busy interval
    is its booking widened by changeover on both sides, `[s - c, e + c)`, because that is where a
    new booking cannot be; busy intervals are not merged, so each keeps its event_id, and they may
    overlap. Free is the complement of their union within the window: any slot that fits inside a
    free interval conflicts with nothing.
    """
    _check_changeover(changeover)
    _check_interval(window_start, window_end, "window")
    busy: list[tuple[datetime, datetime, str]] = []
    for booking in _sorted_bookings(bookings, ()):
        start, end = booking.start - changeover, booking.end + changeover
        if start < window_end and window_start < end:
            busy.append((max(start, window_start), min(end, window_end), booking.event_id))
    busy.sort(key=lambda interval: (interval[0], interval[1], interval[2]))

    free: list[tuple[datetime, datetime]] = []
    cursor = window_start
    for start, end, _ in busy:
        # Touching busy intervals leave no gap: a zero-length free interval would be empty.
        if start > cursor:
            free.append((cursor, start))
        cursor = max(cursor, end)
    if cursor < window_end:
        free.append((cursor, window_end))
    return busy, free


def _ref(slot: Slot, booking: Booking) -> ConflictRef:
    blocked = booking.start <= slot.start and slot.end <= booking.end
    return ConflictRef(
        event_id=booking.event_id,
        schedule_id=booking.schedule_id,
        title=booking.title,
        start=booking.start,
        end=booking.end,
        kind=BLOCKED if blocked else PARTIAL,
        occurrence_start=slot.occurrence_start,
    )


def _sorted_slots(slots: Sequence[Slot]) -> list[Slot]:
    # sorted() is stable, so slots with equal intervals keep the caller's order in both implementations.
    for slot in slots:
        _check_interval(slot.start, slot.end, "slot")
    return sorted(slots, key=lambda slot: (slot.start, slot.end))


def _sorted_bookings(bookings: Sequence[Booking], ignore_event_ids: Collection[str]) -> list[Booking]:
    ignored = frozenset(ignore_event_ids)
    kept = [booking for booking in bookings if booking.event_id not in ignored]
    for booking in kept:
        _check_interval(booking.start, booking.end, "booking")
    # Ties on start are broken by end and event_id so results do not depend on storage order.
    return sorted(kept, key=lambda booking: (booking.start, booking.end, booking.event_id))


def _check_interval(start: datetime, end: datetime, what: str) -> None:
    # An empty interval overlaps nothing, yet the inequality rule would still report it inside a
    # booking; an inverted one means a bug upstream. Reject both rather than report nonsense.
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError(f"{what} instants must be timezone-aware")
    if end <= start:
        raise ValueError(f"{what} must end after it starts: [{start.isoformat()}, {end.isoformat()})")


def _check_changeover(changeover: timedelta) -> None:
    if changeover < timedelta(0):
        raise ValueError("changeover must not be negative")


def _rfc3339(instant: datetime) -> str:
    if instant.tzinfo is None:
        # astimezone() would read a naive value as the host's local time: refuse instead.
        raise ValueError("instants must be timezone-aware")
    return instant.astimezone(UTC).replace(microsecond=0, tzinfo=None).isoformat() + "Z"
