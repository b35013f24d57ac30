"""The plan of an import, pure: each row against the ledger of what earlier imports booked."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.domain.errors import FieldError
from chalicelib.domain.import_plan import Current, Entry, counts, plan
from chalicelib.domain.imports import ScopeIn
from chalicelib.domain.timetable_rows import Desired, Invalid

NOW = datetime(2027, 3, 1, tzinfo=UTC)
START = datetime(2027, 4, 5, 8, tzinfo=UTC)


def row(
    external_id: str, digest: str = "d1", number: int = 1, channel: str = "ch_1", **kw: object
) -> Desired:
    start = kw.pop("start", START)
    return Desired(
        number,
        None,
        external_id,
        kw.pop("kind", "event"),
        {},
        digest,
        channel,
        start,
        start + timedelta(hours=1),
        **kw,
    )  # type: ignore[arg-type]


def entry(
    external_id: str, digest: str = "d1", booking: str = "evt_1", channel: str = "ch_1", **kw: object
) -> Entry:
    kind = str(kw.pop("kind", "event"))
    return Entry(external_id, kind, booking, digest, "f1", channel, START)


ALL = ScopeIn()
BAD = Invalid(3, 4, "B", [FieldError("/start", "bad")])


A = {"A": entry("A")}
PAST = NOW - timedelta(hours=1)


def now_is(fingerprint: str = "f1", **state: bool) -> dict[str, Current]:
    return {"evt_1": Current(fingerprint, **state)}


# (what the timetable says, what the ledger remembers, the booking now, overwrite_local_edits) -> the steps
CASES = [
    ("a new row is created", [row("A")], {}, {}, False, [("A", "create", 1)]),
    ("the same row again changes nothing", [row("A")], A, now_is(), False, [("A", "unchanged", 1)]),
    ("a changed row updates its booking", [row("A", "d2")], A, now_is(), False, [("A", "update", 1)]),
    ("a booking changed in onair is drift", [row("A", "d2")], A, now_is("f9"), False, [("A", "drift", 1)]),
    ("drift even when the row is the same", [row("A")], A, now_is("f9"), False, [("A", "drift", 1)]),
    ("overwrite_local_edits undoes drift", [row("A")], A, now_is("f9"), True, [("A", "update", 1)]),
    ("a booking deleted in onair is drift", [row("A")], A, now_is(deleted=True), False, [("A", "drift", 1)]),
    ("a booking gone for good comes back when overwriting", [row("A")], A, {}, True, [("A", "create", 1)]),
    ("a row that is gone cancels its booking", [], A, now_is(), False, [("A", "cancel", None)]),
    ("a gone row's changed booking is kept as drift", [], A, now_is("f9"), False, [("A", "drift", None)]),
    ("a gone row's booking that started is history", [], A, now_is(started=True), False, []),
    (
        "a booking out of the scope is never cancelled",
        [],
        {"A": entry("A", channel="ch_2")},
        now_is(),
        False,
        [],
    ),
    (
        "a cancelled row cancels on its own row",
        [row("A", cancelled=True)],
        A,
        now_is(),
        False,
        [("A", "cancel", 1)],
    ),
    (
        "a cancelled row with nothing booked",
        [row("A", cancelled=True)],
        {},
        {},
        False,
        [("A", "unchanged", 1)],
    ),
    (
        "a started event is not changed",
        [row("A", "d2", start=PAST)],
        A,
        now_is(started=True),
        False,
        [("A", "error", 1)],
    ),
    ("nothing past is created", [row("A", start=PAST)], {}, {}, False, [("A", "error", 1)]),
    ("a row that became a series", [row("A", "d2", kind="series")], A, now_is(), False, [("A", "error", 1)]),
    (
        "a repeated external_id",
        [row("A"), row("A", number=2)],
        {},
        {},
        False,
        [("A", "create", 1), ("A", "error", 2)],
    ),
    (
        "an invalid row is its own error",
        [BAD, row("A")],
        {},
        {},
        False,
        [("B", "error", 3), ("A", "create", 1)],
    ),
]


@pytest.mark.parametrize(
    "rows, ledger, current, overwrite, expected", [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_each_row_gets_the_step_the_table_says(rows, ledger, current, overwrite, expected) -> None:
    scope = ScopeIn(channel_ids=["ch_1"])
    steps = plan(rows, ledger, current, scope, NOW, overwrite)
    assert [(s.external_id, s.action, s.row) for s in steps] == expected


def test_a_row_outside_the_scope_is_an_error_pointing_at_what_is_outside() -> None:
    scope = ScopeIn.model_validate(
        {"from": "2027-04-01T00:00:00Z", "to": "2027-05-01T00:00:00Z", "channel_ids": ["ch_1"]}
    )
    late = row("A", start=datetime(2027, 6, 1, tzinfo=UTC))
    elsewhere = row("B", number=2, channel="ch_2")
    steps = plan([late, elsewhere], {}, {}, scope, NOW)
    assert [(s.external_id, [(e.pointer, e.detail) for e in s.errors]) for s in steps] == [
        ("A", [("/start", "is outside the import's scope")]),
        ("B", [("/channel", "is outside the import's scope")]),
    ]


def test_counts_add_up_to_the_steps() -> None:
    steps = plan(
        [row("A"), row("B", number=2)], {"C": entry("C", booking="evt_3")}, {"evt_3": Current("f1")}, ALL, NOW
    )
    assert counts(steps) == {"create": 2, "update": 0, "cancel": 1, "unchanged": 0, "error": 0, "drift": 0}
