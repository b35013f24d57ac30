"""Conflict rules on one channel: half-open intervals (starts inclusive, ends exclusive) plus changeover."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta, timezone

import pytest

from chalicelib.domain.conflicts import (
    Booking,
    ConflictRef,
    Slot,
    availability,
    earliest_free_slot,
    find_conflicts,
    pairwise_conflicts,
)

DAY = datetime(2026, 3, 2, tzinfo=UTC)
MIN = timedelta(minutes=1)
SEC = timedelta(seconds=1)


def at(hour: int, minute: int = 0, second: int = 0, day: int = 0) -> datetime:
    """A UTC instant on the test day (plus `day` days)."""
    return DAY + timedelta(days=day, hours=hour, minutes=minute, seconds=second)


def b(event_id: str, start: datetime, end: datetime) -> Booking:
    return Booking(event_id, start, end, title=f"title {event_id}")


# Each row: slots, bookings, changeover, ignore_event_ids, expected [(slot start, event_id, kind)].
FIND_CASES = [
    pytest.param(
        [Slot(at(10), at(11))],
        [b("a", at(9), at(10))],
        timedelta(0),
        (),
        [],
        id="back-to-back after a booking passes (ends exclusive)",
    ),
    pytest.param(
        [Slot(at(10), at(11))],
        [b("a", at(11), at(12))],
        timedelta(0),
        (),
        [],
        id="back-to-back before a booking passes (starts inclusive)",
    ),
    pytest.param(
        [Slot(at(10), at(11))],
        [b("a", at(9), at(10, 0, 1))],
        timedelta(0),
        (),
        [(at(10), "a", "partial")],
        id="one-second overlap is partial",
    ),
    pytest.param(
        [Slot(at(10), at(11))],
        [b("a", at(10, 59, 59), at(12))],
        timedelta(0),
        (),
        [(at(10), "a", "partial")],
        id="one-second overlap at the slot's end is partial",
    ),
    pytest.param(
        [Slot(at(10), at(11))],
        [b("a", at(10), at(11))],
        timedelta(0),
        (),
        [(at(10), "a", "blocked")],
        id="exact same interval is blocked",
    ),
    pytest.param(
        [Slot(at(10), at(11))],
        [b("a", at(8), at(18))],
        timedelta(0),
        (),
        [(at(10), "a", "blocked")],
        id="slot inside a longer booking is blocked",
    ),
    pytest.param(
        [Slot(at(10), at(11))],
        [b("a", at(10), at(12))],
        timedelta(0),
        (),
        [(at(10), "a", "blocked")],
        id="slot sharing the booking's start and inside it is blocked",
    ),
    pytest.param(
        [Slot(at(10), at(11))],
        [b("a", at(10, 15), at(10, 45))],
        timedelta(0),
        (),
        [(at(10), "a", "partial")],
        id="booking inside the slot is partial",
    ),
    pytest.param(
        [Slot(at(10, 5), at(11))],
        [b("a", at(9), at(10))],
        10 * MIN,
        (),
        [(at(10, 5), "a", "partial")],
        id="changeover violated after a booking is partial",
    ),
    pytest.param(
        [Slot(at(10), at(11))],
        [b("a", at(11, 5), at(12))],
        10 * MIN,
        (),
        [(at(10), "a", "partial")],
        id="changeover violated before a booking is partial",
    ),
    pytest.param(
        [Slot(at(10, 10), at(11))],
        [b("a", at(9), at(10))],
        10 * MIN,
        (),
        [],
        id="changeover fits exactly after a booking",
    ),
    pytest.param(
        [Slot(at(10), at(11))],
        [b("a", at(11, 10), at(12))],
        10 * MIN,
        (),
        [],
        id="changeover fits exactly before a booking",
    ),
    pytest.param(
        [Slot(at(10, 10), at(11, 50))],
        [b("a", at(9), at(10)), b("b", at(12), at(13))],
        10 * MIN,
        (),
        [],
        id="changeover fits exactly on both sides",
    ),
    pytest.param(
        [Slot(at(10, 9, 59), at(11))],
        [b("a", at(9), at(10))],
        10 * MIN,
        (),
        [(at(10, 9, 59), "a", "partial")],
        id="changeover one second short is partial",
    ),
    pytest.param(
        [Slot(at(9), at(12))],
        [b("c", at(11, 30), at(13)), b("a", at(8), at(9, 30)), b("b", at(10), at(10, 30))],
        timedelta(0),
        (),
        [(at(9), "a", "partial"), (at(9), "b", "partial"), (at(9), "c", "partial")],
        id="multiple conflicts are all listed by booking start",
    ),
    pytest.param(
        [Slot(at(10, 15), at(10, 45))],
        [b("b", at(10), at(12)), b("a", at(9), at(11))],
        timedelta(0),
        (),
        [(at(10, 15), "a", "blocked"), (at(10, 15), "b", "blocked")],
        id="overlapping bookings each report their own conflict",
    ),
    pytest.param(
        [Slot(at(h), at(h, 30)) for h in (11, 9, 10, 20)] + [Slot(at(12), at(13), at(12))],
        [b("long", at(8), at(12, 30)), b("later", at(12, 30), at(13))],
        timedelta(0),
        (),
        [
            (at(9), "long", "blocked"),
            (at(10), "long", "blocked"),
            (at(11), "long", "blocked"),
            (at(12), "long", "partial"),
            (at(12), "later", "partial"),
        ],
        id="a long booking spans many slots, in slot order",
    ),
    pytest.param(
        [Slot(at(9), at(17)), Slot(at(9, 30), at(10))],
        [b("a", at(12), at(13))],
        timedelta(0),
        (),
        [(at(9), "a", "partial")],
        id="a later, shorter slot does not inherit the earlier slot's reach",
    ),
    pytest.param(
        [Slot(at(10, 30), at(11, 30))],
        [b("self", at(10), at(11)), b("other", at(12), at(13))],
        timedelta(0),
        ("self",),
        [],
        id="ignore_event_ids skips the event being moved",
    ),
    pytest.param(
        [Slot(at(10, 30), at(11, 30))],
        [b("self", at(10), at(11)), b("other", at(11), at(13))],
        timedelta(0),
        {"self"},
        [(at(10, 30), "other", "partial")],
        id="ignore_event_ids keeps the other bookings",
    ),
    pytest.param([Slot(at(10), at(11))], [], 10 * MIN, (), [], id="zero bookings"),
    pytest.param([], [b("a", at(10), at(11))], 10 * MIN, (), [], id="zero slots"),
]


@pytest.mark.parametrize(("slots", "bookings", "changeover", "ignore", "expected"), FIND_CASES)
def test_find_conflicts(slots, bookings, changeover, ignore, expected):
    # Name each slot by its start through occurrence_start, which conflicts carry back.
    slots = [s if s.occurrence_start else Slot(s.start, s.end, s.start) for s in slots]
    found = find_conflicts(slots, bookings, changeover, ignore)
    assert [(c.occurrence_start, c.event_id, c.kind) for c in found] == expected
    assert found == pairwise_conflicts(slots, bookings, changeover, ignore)


def test_conflict_ref_carries_booking_and_occurrence():
    slots = [Slot(at(10, day=7), at(11, day=7), at(10, day=7)), Slot(at(10), at(11), at(10))]
    booking = Booking("e1", at(9), at(10, 30, day=7), "Lecture", "s1")

    found = find_conflicts(slots, [booking])

    assert found == [
        ConflictRef("e1", "s1", "Lecture", at(9), at(10, 30, day=7), "blocked", at(10)),
        ConflictRef("e1", "s1", "Lecture", at(9), at(10, 30, day=7), "partial", at(10, day=7)),
    ]


@pytest.mark.parametrize(
    ("ref", "expected"),
    [
        pytest.param(
            ConflictRef("e1", None, "T", at(9).replace(microsecond=999_999), at(10), "partial"),
            {
                "event_id": "e1",
                "schedule_id": None,
                "title": "T",
                "start": "2026-03-02T09:00:00Z",
                "end": "2026-03-02T10:00:00Z",
                "kind": "partial",
            },
            id="no occurrence_start key when None; sub-seconds dropped",
        ),
        pytest.param(
            ConflictRef(
                "e1", "s1", "T", at(9).astimezone(timezone(timedelta(hours=2))), at(10), "blocked", at(9)
            ),
            {
                "event_id": "e1",
                "schedule_id": "s1",
                "title": "T",
                "start": "2026-03-02T09:00:00Z",
                "end": "2026-03-02T10:00:00Z",
                "kind": "blocked",
                "occurrence_start": "2026-03-02T09:00:00Z",
            },
            id="offsets converted to Z; occurrence_start included when set",
        ),
    ],
)
def test_conflict_ref_to_json(ref, expected):
    assert ref.to_json() == expected


# Each row: bookings, duration, not_before, not_after, changeover, ignore_event_ids, expected start or None.
FREE_CASES = [
    pytest.param([], 30 * MIN, at(9), at(17), timedelta(0), (), at(9), id="no bookings: not_before"),
    pytest.param(
        [b("a", at(12), at(13))],
        30 * MIN,
        at(9),
        at(17),
        10 * MIN,
        (),
        at(9),
        id="free at not_before before a later booking",
    ),
    pytest.param(
        [b("a", at(9, 40), at(10))],
        30 * MIN,
        at(9),
        at(17),
        10 * MIN,
        (),
        at(9),
        id="changeover fits exactly before a booking",
    ),
    pytest.param(
        [b("a", at(9, 39), at(10))],
        30 * MIN,
        at(9),
        at(17),
        10 * MIN,
        (),
        at(10, 10),
        id="changeover one minute short before a booking pushes the slot past it",
    ),
    pytest.param(
        [b("a", at(9), at(10)), b("b", at(10, 5), at(11)), b("c", at(11, 20), at(12))],
        30 * MIN,
        at(9),
        at(17),
        10 * MIN,
        (),
        at(12, 10),
        id="skips several busy bookings whose gaps are too short with changeover",
    ),
    pytest.param(
        [b("a", at(9), at(10)), b("b", at(11), at(12))],
        40 * MIN,
        at(9),
        at(17),
        10 * MIN,
        (),
        at(10, 10),
        id="a gap that fits exactly with changeover on both sides",
    ),
    pytest.param(
        [b("a", at(9), at(10)), b("b", at(11), at(12))],
        40 * MIN + SEC,
        at(9),
        at(17),
        10 * MIN,
        (),
        at(12, 10),
        id="a gap one second short is skipped",
    ),
    pytest.param(
        [b("a", at(9), at(10)), b("b", at(10), at(11))],
        30 * MIN,
        at(9),
        at(17),
        timedelta(0),
        (),
        at(11),
        id="back-to-back bookings leave no gap",
    ),
    pytest.param(
        [b("a", at(8), at(9))],
        30 * MIN,
        at(9),
        at(17),
        15 * MIN,
        (),
        at(9, 15),
        id="a booking before not_before still needs its changeover",
    ),
    pytest.param(
        [b("long", at(9), at(12)), b("inner", at(10), at(10, 30))],
        30 * MIN,
        at(9),
        at(17),
        timedelta(0),
        (),
        at(12),
        id="overlapping bookings: the longer one decides",
    ),
    pytest.param(
        [b("self", at(9), at(10))],
        60 * MIN,
        at(9),
        at(17),
        timedelta(0),
        ("self",),
        at(9),
        id="ignore_event_ids frees the moved event's own time",
    ),
    pytest.param(
        [b("a", at(8), at(18))],
        30 * MIN,
        at(9),
        at(17),
        timedelta(0),
        (),
        None,
        id="None when the horizon is full",
    ),
    pytest.param(
        [b("a", at(9), at(16)), b("b", at(16, 40), at(17))],
        30 * MIN,
        at(9),
        at(17),
        10 * MIN,
        (),
        None,
        id="None when every gap is too short with changeover",
    ),
    pytest.param(
        [b("a", at(9), at(16, 30))],
        30 * MIN,
        at(9),
        at(17),
        timedelta(0),
        (),
        at(16, 30),
        id="the slot may end exactly at not_after",
    ),
    pytest.param(
        [],
        2 * 60 * MIN,
        at(9),
        at(10),
        timedelta(0),
        (),
        None,
        id="None when the horizon is shorter than the duration",
    ),
]


@pytest.mark.parametrize(
    ("bookings", "duration", "not_before", "not_after", "changeover", "ignore", "expected"), FREE_CASES
)
def test_earliest_free_slot(bookings, duration, not_before, not_after, changeover, ignore, expected):
    slot = earliest_free_slot(bookings, duration, not_before, not_after, changeover, ignore)
    assert slot == (None if expected is None else Slot(expected, expected + duration))
    if slot is not None:
        assert find_conflicts([slot], bookings, changeover, ignore) == []


# Each row: bookings, window start, window end, changeover, expected busy, expected free.
AVAILABILITY_CASES = [
    pytest.param(
        [], at(8), at(13), 10 * MIN, [], [(at(8), at(13))], id="no bookings: the whole window is free"
    ),
    pytest.param(
        [b("b", at(11), at(12)), b("a", at(9), at(10))],
        at(8),
        at(13),
        timedelta(0),
        [(at(9), at(10), "a"), (at(11), at(12), "b")],
        [(at(8), at(9)), (at(10), at(11)), (at(12), at(13))],
        id="without changeover",
    ),
    pytest.param(
        [b("a", at(9), at(10)), b("b", at(11), at(12))],
        at(8),
        at(13),
        15 * MIN,
        [(at(8, 45), at(10, 15), "a"), (at(10, 45), at(12, 15), "b")],
        [(at(8), at(8, 45)), (at(10, 15), at(10, 45)), (at(12, 15), at(13))],
        id="changeover widens busy on both sides",
    ),
    pytest.param(
        [b("early", at(7), at(9)), b("late", at(12), at(14))],
        at(8),
        at(13),
        timedelta(0),
        [(at(8), at(9), "early"), (at(12), at(13), "late")],
        [(at(9), at(12))],
        id="clipped to the window",
    ),
    pytest.param(
        [b("before", at(6), at(7, 55))],
        at(8),
        at(13),
        10 * MIN,
        [(at(8), at(8, 5), "before")],
        [(at(8, 5), at(13))],
        id="a booking outside the window reaches in by its changeover",
    ),
    pytest.param(
        [b("before", at(6), at(8)), b("after", at(13), at(14))],
        at(8),
        at(13),
        timedelta(0),
        [],
        [(at(8), at(13))],
        id="bookings touching the window's edges are outside it",
    ),
    pytest.param(
        [b("a", at(9), at(11)), b("b", at(10), at(12))],
        at(8),
        at(13),
        timedelta(0),
        [(at(9), at(11), "a"), (at(10), at(12), "b")],
        [(at(8), at(9)), (at(12), at(13))],
        id="overlapping busy intervals are not merged; free is their union's complement",
    ),
    pytest.param(
        [b("a", at(9), at(10)), b("b", at(10, 20), at(11))],
        at(8),
        at(13),
        10 * MIN,
        [(at(8, 50), at(10, 10), "a"), (at(10, 10), at(11, 10), "b")],
        [(at(8), at(8, 50)), (at(11, 10), at(13))],
        id="touching busy intervals leave no free gap",
    ),
    pytest.param(
        [b("all", at(7), at(14))],
        at(8),
        at(13),
        timedelta(0),
        [(at(8), at(13), "all")],
        [],
        id="a fully busy window has no free interval",
    ),
]


@pytest.mark.parametrize(("bookings", "start", "end", "changeover", "busy", "free"), AVAILABILITY_CASES)
def test_availability(bookings, start, end, changeover, busy, free):
    found_busy, found_free = availability(bookings, start, end, changeover)
    assert ([(s, e, booking.event_id) for s, e, booking in found_busy], found_free) == (busy, free)


def _random_bookings(rng: random.Random, count: int, span_days: int) -> list[Booking]:
    # Minute grid so touching and equal intervals are common; a few bookings run for days, and
    # nothing stops them overlapping (allow_conflict bookings exist).
    bookings = []
    for i in range(count):
        start = DAY + rng.randrange(span_days * 24 * 60) * MIN
        if rng.random() < 0.9:
            length = rng.choice([1, 15, 30, 60, 90, 180]) * MIN
        else:
            length = rng.randrange(1, 4) * timedelta(days=1)
        bookings.append(Booking(f"e{i}", start, start + length, schedule_id=rng.choice([None, "s1", "s2"])))
    return bookings


def _random_slots(rng: random.Random, weeks: int, span_days: int) -> list[Slot]:
    # A weekly series plus scattered slots of mixed length, so slot ends are not in start order.
    first = DAY + rng.randrange(7 * 24 * 60) * MIN
    length = rng.choice([30, 60, 120]) * MIN
    slots = [
        Slot(first + timedelta(weeks=w), first + timedelta(weeks=w) + length, first + timedelta(weeks=w))
        for w in range(weeks)
    ]
    for _ in range(weeks):
        start = DAY + rng.randrange(span_days * 24 * 60) * MIN
        slots.append(Slot(start, start + rng.choice([1, 60, 600, 3000]) * MIN))
    rng.shuffle(slots)
    return slots


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("changeover", [timedelta(0), 10 * MIN, 2 * 60 * MIN], ids=["c0", "c10m", "c2h"])
def test_sweep_matches_pairwise(seed, changeover):
    rng = random.Random(seed)
    bookings = _random_bookings(rng, 400, span_days=200)
    slots = _random_slots(rng, 28, span_days=200)
    ignore = {f"e{i}" for i in rng.sample(range(400), 20)}

    found = find_conflicts(slots, bookings, changeover, ignore)

    assert found == pairwise_conflicts(slots, bookings, changeover, ignore)
    assert found  # the case is dense enough to exercise the sweep


def _with_ties(rng: random.Random, bookings: list[Booking]) -> list[Booking]:
    # Copies equal in (start, end, event_id) but not in title, so storage order must decide; and
    # bookings sharing a start with another end or event_id, so each part of that order matters.
    extra = []
    for booking in rng.sample(bookings, len(bookings) // 10):
        extra.append(Booking(booking.event_id, booking.start, booking.end, title="a duplicate"))
        extra.append(Booking(f"{booking.event_id}-same-start", booking.start, booking.end + 15 * MIN))
        extra.append(Booking("a-first", booking.start, booking.end, title="same interval, earlier id"))
    mixed = bookings + extra
    rng.shuffle(mixed)
    return mixed


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("changeover", [timedelta(0), 10 * MIN, 2 * 60 * MIN], ids=["c0", "c10m", "c2h"])
def test_sweep_matches_pairwise_on_a_series(seed, changeover):
    # Equal-length weekly slots, as a schedule produces: slot reaches grow with their starts. Bookings
    # also fall before the first slot and after the last one.
    rng = random.Random(200 + seed)
    first = DAY + rng.randrange(7 * 24 * 60) * MIN
    length = rng.choice([1, 60, 24 * 60]) * MIN
    slots = [Slot(first + w * timedelta(weeks=1), first + w * timedelta(weeks=1) + length) for w in range(30)]
    bookings = _with_ties(rng, _random_bookings(rng, 600, span_days=30 * 7 + 14))
    bookings += [
        b("before", DAY - timedelta(days=3), DAY - timedelta(days=2)),
        b("after", at(0, day=400), at(1, day=400)),
    ]
    ignore = {f"e{i}" for i in rng.sample(range(600), 20)} | {"a-first"} if seed % 2 else ()

    found = find_conflicts(slots, bookings, changeover, ignore)

    assert found == pairwise_conflicts(slots, bookings, changeover, ignore)
    assert found


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("changeover", [timedelta(0), 10 * MIN], ids=["c0", "c10m"])
def test_sweep_matches_pairwise_with_nested_slots(seed, changeover):
    # Slots inside longer, earlier slots: a later slot may end before a booking that an earlier one
    # still reaches, so the run of reachable slots has gaps.
    rng = random.Random(300 + seed)
    slots = []
    for _ in range(40):
        start = DAY + rng.randrange(60 * 24 * 60) * MIN
        slots.append(Slot(start, start + rng.choice([1, 30, 24 * 60, 20 * 24 * 60]) * MIN, start))
    slots += [Slot(s.start, s.end, s.start) for s in rng.sample(slots, 5)]  # equal slots keep their order
    bookings = _with_ties(rng, _random_bookings(rng, 300, span_days=60))

    found = find_conflicts(slots, bookings, changeover)

    assert found == pairwise_conflicts(slots, bookings, changeover)
    assert found


@pytest.mark.parametrize("seed", range(6))
def test_free_slot_and_availability_agree_with_conflicts(seed):
    rng = random.Random(100 + seed)
    bookings = _random_bookings(rng, 60, span_days=4)
    changeover = rng.choice([0, 5, 30]) * MIN
    not_before = DAY + rng.randrange(24 * 60) * MIN
    not_after = not_before + 4 * 24 * 60 * MIN
    duration = rng.choice([15, 60, 240]) * MIN

    slot = earliest_free_slot(bookings, duration, not_before, not_after, changeover)

    # The answer is free, and no earlier candidate (not_before or a booking's end plus changeover) is.
    candidates = [not_before] + [bk.end + changeover for bk in bookings if bk.end + changeover > not_before]
    free_starts = [
        t
        for t in candidates
        if t + duration <= not_after and not find_conflicts([Slot(t, t + duration)], bookings, changeover)
    ]
    assert slot == (Slot(min(free_starts), min(free_starts) + duration) if free_starts else None)

    busy, free = availability(bookings, not_before, not_after, changeover)
    assert all(not_before <= start < end <= not_after for start, end, *_ in busy + free)
    # Any slot inside a free interval is bookable ...
    for start, end in free:
        assert not find_conflicts([Slot(start, end)], bookings, changeover)
    # ... and every instant of the window is either free or busy, never both.
    for _ in range(300):
        instant = not_before + rng.randrange(4 * 24 * 60 * 60) * SEC
        is_free = any(start <= instant < end for start, end in free)
        is_busy = any(start <= instant < end for start, end, _ in busy)
        assert is_free != is_busy


@pytest.mark.parametrize(
    "call",
    [
        pytest.param(lambda: find_conflicts([Slot(at(10), at(10))], []), id="empty slot"),
        pytest.param(lambda: find_conflicts([Slot(at(11), at(10))], []), id="inverted slot"),
        pytest.param(lambda: find_conflicts([], [b("a", at(10), at(9))]), id="inverted booking"),
        pytest.param(
            lambda: find_conflicts([Slot(at(10), at(11))], [b("a", at(9), at(9).replace(tzinfo=None))]),
            id="naive booking end",
        ),
        pytest.param(lambda: find_conflicts([], [], -MIN), id="negative changeover"),
        pytest.param(
            lambda: find_conflicts([Slot(datetime(2026, 1, 1), datetime(2026, 1, 2))], []),
            id="naive datetimes",
        ),
        pytest.param(lambda: earliest_free_slot([], timedelta(0), at(9), at(10)), id="zero duration"),
        pytest.param(lambda: availability([], at(10), at(9)), id="inverted window"),
    ],
)
def test_invalid_arguments_raise(call):
    with pytest.raises(ValueError):
        call()


# Each row: bookings, the message naming the first invalid booking in the caller's order.
FIRST_INVALID_CASES = [
    pytest.param(
        [b("ok", at(9), at(10)), b("bad", at(12), at(11)), b("worse", at(13), at(13))],
        r"booking must end after it starts: \[2026-03-02T12:00:00\+00:00, 2026-03-02T11:00:00\+00:00\)",
        id="the first inverted booking is named, not a later empty one",
    ),
    pytest.param(
        [
            b("ok", at(9), at(10)),
            Booking("naive", datetime(2026, 3, 2, 11), at(12)),
            b("bad", at(13), at(12)),
        ],
        "booking instants must be timezone-aware",
        id="a naive booking before an inverted one",
    ),
    pytest.param(
        [
            b("ok", at(9), at(10)),
            b("bad", at(12), at(11)),
            Booking("naive", at(13), datetime(2026, 3, 2, 14)),
        ],
        "booking must end after it starts",
        id="an inverted booking before a naive one",
    ),
]


@pytest.mark.parametrize(("bookings", "message"), FIRST_INVALID_CASES)
@pytest.mark.parametrize("check", [find_conflicts, pairwise_conflicts])
def test_first_invalid_booking_is_reported(check, bookings, message):
    with pytest.raises(ValueError, match=message):
        check([Slot(at(10), at(11))], bookings)
