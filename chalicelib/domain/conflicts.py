"""Booking conflicts on one channel: overlap with changeover, free-slot suggestion, availability.

Every interval is half-open, `[start, end)`: starts inclusive, ends exclusive. A channel's
changeover is the gap two bookings need between them, so slot `[a, b)` conflicts with booking
`[s, e)` iff `a < e + changeover and s < b + changeover`. Pure: no clock, no I/O; every datetime
is timezone-aware (UTC). Invalid arguments (end not after start, negative changeover) are caller
bugs and raise `ValueError`; request validation belongs to the service layer.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import accumulate, compress, repeat
from operator import add, attrgetter, ge, getitem, le, lt
from typing import Any, Literal

ConflictKind = Literal["partial", "blocked"]
PARTIAL: ConflictKind = "partial"
BLOCKED: ConflictKind = "blocked"

# Stands for the start of a slot after the last one: no booking reaches it (one that did would only
# find an empty run of slots).
_NEVER = datetime.max.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Booking:
    """An existing booking on a channel, `[start, end)`: starts inclusive, ends exclusive.

    A series occurrence that is not an event yet is a booking too (`is_event` False): its `event_id` is
    the id its event will have (deterministic), and `occurrence_start` names it within its series.
    """

    event_id: str
    start: datetime
    end: datetime
    title: str = ""
    schedule_id: str | None = None
    occurrence_start: datetime | None = None
    is_event: bool = True


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
    occurrence_start: datetime | None = None  # the requested slot's occurrence (series checks)
    is_event: bool = True  # False: the booking is a series occurrence that is not an event yet
    booking_occurrence_start: datetime | None = None  # that occurrence's name in its series

    def to_json(self) -> dict[str, Any]:
        """The API's conflict ref: instants as RFC 3339 UTC with `Z` at second precision.

        A ref to an occurrence that is not an event yet has `event_id: null`; its `occurrence_start`
        names it, unless the requested slot is itself an occurrence (a series check), whose name wins.
        """
        body: dict[str, Any] = {
            "event_id": self.event_id if self.is_event else None,
            "schedule_id": self.schedule_id,
            "title": self.title,
            "start": _rfc3339(self.start),
            "end": _rfc3339(self.end),
            "kind": self.kind,
        }
        occurrence = self.occurrence_start or (None if self.is_event else self.booking_occurrence_start)
        if occurrence is not None:
            body["occurrence_start"] = _rfc3339(occurrence)
        return body


def find_conflicts(
    slots: Sequence[Slot],
    bookings: Sequence[Booking],
    changeover: timedelta = timedelta(0),
    ignore_event_ids: Collection[str] = (),
) -> list[ConflictRef]:
    """Each slot `[a, b)` x booking `[s, e)` pair with `a < e + changeover and s < b + changeover`.

    Ordered by slot start, then booking (start, end, event_id), exactly as `pairwise_conflicts`.
    Intervals are half-open (starts inclusive, ends exclusive), so back-to-back bookings pass when
    changeover is 0. Slots are few and bookings many, so only the slots are sorted; each booking
    finds the first slot it can reach by binary search, and only the c bookings that reach one are
    sorted and expanded: O(m log m + n log m + c log c + k) for m slots, n bookings and k conflicts
    (k log m when slots nest inside longer ones).
    """
    _check_changeover(changeover)
    ordered_slots = _sorted_slots(slots)
    kept, starts, ends = _checked_bookings(bookings, ignore_event_ids)
    if not ordered_slots or not kept:
        return []

    # The same datetime expressions and comparisons as the pairwise rule, so both agree exactly.
    slot_starts = [slot.start for slot in ordered_slots]
    slot_reach = [slot.end + changeover for slot in ordered_slots]
    # A booking starting at or after the latest reach of slots[: j + 1] conflicts with none of them.
    reach_so_far = list(accumulate(slot_reach, max))
    # Slot starts only grow, so a booking reaches some slot from `first` on iff it reaches slot
    # `first` itself. map() keeps this per-booking work in C: Python runs only for bookings that
    # conflict. _NEVER stands after the last slot, so a booking with `first` == m drops out.
    first = list(map(bisect_right, repeat(reach_so_far), starts))
    next_start = map(getitem, repeat([*slot_starts, _NEVER]), first)
    reaching = map(lt, next_start, map(add, ends, repeat(changeover)))
    hits = list(compress(range(len(kept)), reaching))
    # Stable, so bookings equal in (start, end, event_id) keep the caller's order, as in pairwise.
    hits.sort(key=lambda i: (starts[i], ends[i], kept[i].event_id))

    # When slot reaches grow with their starts (a series: equal lengths), a booking conflicts with
    # every slot from `first` to the first slot it cannot reach; otherwise a short slot after a longer
    # one may end before the booking starts, so the tree picks out the slots that reach it.
    nested = None if all(map(le, slot_reach, slot_reach[1:])) else _MaxTree(slot_reach)
    by_slot: list[list[Booking]] = [[] for _ in ordered_slots]
    for i in hits:
        booking = kept[i]
        stop = bisect_left(slot_starts, booking.end + changeover, first[i])
        run = range(first[i], stop) if nested is None else nested.above(booking.start, first[i], stop)
        for j in run:
            by_slot[j].append(booking)
    return [
        _ref(slot, booking) for slot, found in zip(ordered_slots, by_slot, strict=True) for booking in found
    ]


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
) -> tuple[list[tuple[datetime, datetime, Booking]], list[tuple[datetime, datetime]]]:
    """Busy `(start, end, booking)` and free `(start, end)` intervals in `[window_start, window_end)`.

    All half-open (starts inclusive, ends exclusive) and clipped to the window. Each busy interval
    is its booking widened by changeover on both sides, `[s - c, e + c)`, because that is where a
    new booking cannot be; busy intervals are not merged, so each keeps its event_id, and they may
    overlap. Free is the complement of their union within the window: any slot that fits inside a
    free interval conflicts with nothing.
    """
    _check_changeover(changeover)
    _check_interval(window_start, window_end, "window")
    busy: list[tuple[datetime, datetime, Booking]] = []
    for booking in _sorted_bookings(bookings, ()):
        start, end = booking.start - changeover, booking.end + changeover
        if start < window_end and window_start < end:
            busy.append((max(start, window_start), min(end, window_end), booking))
    busy.sort(key=lambda interval: (interval[0], interval[1], interval[2].event_id))

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
        is_event=booking.is_event,
        booking_occurrence_start=booking.occurrence_start,
    )


def _sorted_slots(slots: Sequence[Slot]) -> list[Slot]:
    # sorted() is stable, so slots with equal intervals keep the caller's order in both implementations.
    for slot in slots:
        _check_interval(slot.start, slot.end, "slot")
    return sorted(slots, key=lambda slot: (slot.start, slot.end))


def _sorted_bookings(bookings: Sequence[Booking], ignore_event_ids: Collection[str]) -> list[Booking]:
    # Ties on start are broken by end and event_id so results do not depend on storage order.
    kept, _, _ = _checked_bookings(bookings, ignore_event_ids)
    return sorted(kept, key=lambda booking: (booking.start, booking.end, booking.event_id))


def _checked_bookings(
    bookings: Sequence[Booking], ignore_event_ids: Collection[str]
) -> tuple[list[Booking], list[datetime], list[datetime]]:
    """The bookings not ignored, in the caller's order, with their starts and ends; checked."""
    ignored = frozenset(ignore_event_ids)
    kept = [booking for booking in bookings if booking.event_id not in ignored] if ignored else list(bookings)
    starts = list(map(attrgetter("start"), kept))
    ends = list(map(attrgetter("end"), kept))
    # Checked in C in the usual all-valid case; only a failure walks the bookings in Python, so the
    # error names the first bad one, as checking each in turn would.
    if (
        None in map(attrgetter("tzinfo"), starts)
        or None in map(attrgetter("tzinfo"), ends)
        or any(map(ge, starts, ends))
    ):
        for booking in kept:
            _check_interval(booking.start, booking.end, "booking")
    return kept, starts, ends


class _MaxTree:
    """A max segment tree over slot reaches: which slots in a run reach past an instant."""

    def __init__(self, reach: list[datetime]) -> None:
        # Node i has children 2i and 2i + 1, and leaves start at `leaves`. Padding with the least
        # reach changes no maximum.
        self.leaves = 1 << (len(reach) - 1).bit_length()
        low = min(reach)
        self.tree = [low] * self.leaves + reach + [low] * (self.leaves - len(reach))
        for node in range(self.leaves - 1, 0, -1):
            self.tree[node] = max(self.tree[2 * node], self.tree[2 * node + 1])

    def above(self, instant: datetime, lo: int, hi: int) -> Iterator[int]:
        """Positions j in `[lo, hi)` with `reach[j] > instant`, ascending; O(log m) per position."""
        stack = [(1, 0, self.leaves)]
        while stack:
            node, left, right = stack.pop()
            # A subtree outside the run, or whose greatest reach is not past the instant, has none.
            if right <= lo or hi <= left or self.tree[node] <= instant:
                continue
            if node >= self.leaves:
                yield left
            else:
                middle = (left + right) // 2
                # The left half goes on last so it comes off first: positions come out ascending.
                stack.append((2 * node + 1, middle, right))
                stack.append((2 * node, left, middle))


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
