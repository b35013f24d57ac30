"""Recurrence: RFC 5545 rules run in local wall time and come out as UTC; windows are `after <= t < before`.

Every expected instant below was worked out by hand from the zone's offsets (noted per row), not
copied from the code's output. DST facts used (2025): London gap 01:00-02:00 on 30 Mar, overlap
01:00-02:00 on 26 Oct; New York gap 02:00-03:00 on 9 Mar, overlap 01:00-02:00 on 2 Nov; Sydney
overlap 02:00-03:00 on 6 Apr, gap 02:00-03:00 on 5 Oct; Lord Howe (+10:30/+11) overlap 01:30-02:00
on 6 Apr, gap 02:00-02:30 on 5 Oct; Chatham (+12:45/+13:45) overlap 02:45-03:45 on 6 Apr, gap
02:45-03:45 on 28 Sep. 1997-1998 New York: EDT (-4) until 26 Oct 1997 and from 5 Apr 1998.

The tables are kept out of the formatter (`fmt: off`) so that each row stays one readable line.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chalicelib.domain.errors import ValidationFailed
from chalicelib.domain.recurrence import (
    Recurrence,
    expand,
    load_zone,
    occurrence_local,
    parse_local_datetime,
    parse_recurrence,
    simple_to_rrule,
    to_local_naive,
)

NY = "America/New_York"


def z(text: str) -> datetime:
    """A UTC instant from `2025-01-01T09:00Z` shorthand."""
    return datetime.fromisoformat(text.replace("Z", ":00+00:00"))


def iso(values: list[datetime]) -> list[str]:
    """Instants in the tables' `2025-01-01T09:00Z` shorthand."""
    return [v.astimezone(UTC).strftime("%Y-%m-%dT%H:%MZ") for v in values]


def utc(text: str) -> list[str]:
    """A space-separated list of expected instants."""
    return text.split()


def rr(rule: str, **extra: Any) -> dict[str, Any]:
    """An RRULE-form `recurrence` object."""
    return {"rrule": rule, **extra}


def run(zone: str, start: str, recurrence: dict[str, Any], **kwargs: Any) -> tuple[list[str], bool]:
    tz = load_zone(zone)
    found, truncated = expand(datetime.fromisoformat(start), tz, parse_recurrence(recurrence, tz), **kwargs)
    return iso(found), truncated


FRI13 = "1998-02-13T14:00Z 1998-03-13T14:00Z 1998-11-13T14:00Z 1999-08-13T13:00Z 2000-10-13T13:00Z"
BIWEEKLY_MWF = (
    "1997-09-01T13:00Z 1997-09-03T13:00Z 1997-09-05T13:00Z 1997-09-15T13:00Z 1997-09-17T13:00Z "
    "1997-09-19T13:00Z 1997-09-29T13:00Z 1997-10-01T13:00Z 1997-10-03T13:00Z 1997-10-13T13:00Z "
    "1997-10-15T13:00Z 1997-10-17T13:00Z 1997-10-27T14:00Z 1997-10-29T14:00Z 1997-10-31T14:00Z "
    "1997-11-10T14:00Z 1997-11-12T14:00Z 1997-11-14T14:00Z 1997-11-24T14:00Z 1997-11-26T14:00Z "
    "1997-11-28T14:00Z 1997-12-08T14:00Z 1997-12-10T14:00Z 1997-12-12T14:00Z 1997-12-22T14:00Z"
)
WINDOW = {"after": z("2025-01-10T09:00Z"), "before": z("2025-01-13T09:00Z")}
NY_LATE = "2025-01-02T04:30Z 2025-01-03T04:30Z 2025-01-04T04:30Z"  # daily 23:30 EST, 1-3 Jan local

# fmt: off
# Each row: zone, local start, recurrence, expand kwargs, expected UTC starts, truncated.
EXPAND_CASES = [
    # --- DST, both hemispheres ------------------------------------------------------------------
    pytest.param("Europe/London", "2025-03-29T09:00", rr("FREQ=DAILY;COUNT=3"), {},
                 utc("2025-03-29T09:00Z 2025-03-30T08:00Z 2025-03-31T08:00Z"), False,
                 id="London 09:00 stays 09:00 across spring-forward (GMT then BST)"),
    pytest.param("Europe/London", "2025-03-29T01:30", rr("FREQ=DAILY;COUNT=3"), {},
                 utc("2025-03-29T01:30Z 2025-03-30T01:30Z 2025-03-31T00:30Z"), False,
                 id="London 01:30 in the gap reads as GMT, i.e. 02:30 BST (forward by the gap)"),
    pytest.param("Europe/London", "2025-10-25T01:30", rr("FREQ=DAILY;COUNT=3"), {},
                 utc("2025-10-25T00:30Z 2025-10-26T00:30Z 2025-10-27T01:30Z"), False,
                 id="London ambiguous 01:30 on fall-back day means the first (BST) instance"),
    pytest.param(NY, "2025-03-08T02:30", rr("FREQ=DAILY;COUNT=3"), {},
                 utc("2025-03-08T07:30Z 2025-03-09T07:30Z 2025-03-10T06:30Z"), False,
                 id="New York 02:30 in the gap reads as EST, i.e. 03:30 EDT"),
    pytest.param(NY, "2025-11-01T01:30", rr("FREQ=DAILY;COUNT=3"), {},
                 utc("2025-11-01T05:30Z 2025-11-02T05:30Z 2025-11-03T06:30Z"), False,
                 id="New York ambiguous 01:30 means the first (EDT) instance"),
    pytest.param("Australia/Sydney", "2025-04-05T02:30", rr("FREQ=DAILY;COUNT=3"), {},
                 utc("2025-04-04T15:30Z 2025-04-05T15:30Z 2025-04-06T16:30Z"), False,
                 id="Sydney April fall-back: ambiguous 02:30 means the first (AEDT +11) instance"),
    pytest.param("Australia/Sydney", "2025-10-04T02:30", rr("FREQ=DAILY;COUNT=3"), {},
                 utc("2025-10-03T16:30Z 2025-10-04T16:30Z 2025-10-05T15:30Z"), False,
                 id="Sydney October gap: 02:30 reads as AEST +10, i.e. 03:30 AEDT"),
    pytest.param("Australia/Lord_Howe", "2025-10-04T02:15", rr("FREQ=DAILY;COUNT=3"), {},
                 utc("2025-10-03T15:45Z 2025-10-04T15:45Z 2025-10-05T15:15Z"), False,
                 id="Lord Howe 30-minute gap: 02:15 reads as +10:30, i.e. 02:45 +11"),
    pytest.param("Australia/Lord_Howe", "2025-04-05T01:45", rr("FREQ=DAILY;COUNT=3"), {},
                 utc("2025-04-04T14:45Z 2025-04-05T14:45Z 2025-04-06T15:15Z"), False,
                 id="Lord Howe 30-minute overlap: 01:45 means the first (+11) instance"),
    pytest.param("Pacific/Chatham", "2025-09-27T03:00", rr("FREQ=DAILY;COUNT=3"), {},
                 utc("2025-09-26T14:15Z 2025-09-27T14:15Z 2025-09-28T13:15Z"), False,
                 id="Chatham gap 02:45-03:45: 03:00 reads as +12:45"),
    pytest.param("Pacific/Chatham", "2025-04-05T03:00", rr("FREQ=DAILY;COUNT=3"), {},
                 utc("2025-04-04T13:15Z 2025-04-05T13:15Z 2025-04-06T14:15Z"), False,
                 id="Chatham overlap: 03:00 means the first (+13:45) instance"),
    pytest.param("Pacific/Kiritimati", "2025-01-01T00:30", rr("FREQ=DAILY;COUNT=2"), {},
                 utc("2024-12-31T10:30Z 2025-01-01T10:30Z"), False,
                 id="Kiritimati +14: a local morning is the previous UTC day"),
    pytest.param("Asia/Kathmandu", "2025-01-01T09:00", rr("FREQ=WEEKLY;COUNT=2"), {},
                 utc("2025-01-01T03:15Z 2025-01-08T03:15Z"), False,
                 id="Kathmandu +5:45 quarter-hour offset"),
    pytest.param(NY, "2025-03-03T09:00", rr("FREQ=WEEKLY;COUNT=2"), {},
                 utc("2025-03-03T14:00Z 2025-03-10T13:00Z"), False,
                 id="weekly 09:00 keeps the wall clock, so its UTC hour moves"),
    pytest.param("Europe/London", "2025-03-30T00:00", rr("FREQ=HOURLY;COUNT=5"), {},
                 utc("2025-03-30T00:00Z 2025-03-30T01:00Z 2025-03-30T02:00Z 2025-03-30T03:00Z"), False,
                 id="hourly over the gap: local 01:00 (gap) and 02:00 BST are one instant, listed once"),
    pytest.param("Europe/London", "2025-10-26T00:00", rr("FREQ=HOURLY;COUNT=4"), {},
                 utc("2025-10-25T23:00Z 2025-10-26T00:00Z 2025-10-26T02:00Z 2025-10-26T03:00Z"), False,
                 id="hourly over the overlap: a wall-clock rule has no second 01:00"),
    pytest.param("Europe/London", "2025-03-29T00:00", rr("FREQ=HOURLY"),
                 {"after": z("2025-03-30T00:00Z"), "before": z("2025-03-30T04:00Z")},
                 utc("2025-03-30T00:00Z 2025-03-30T01:00Z 2025-03-30T02:00Z 2025-03-30T03:00Z"), False,
                 id="an endless hourly rule over the gap lists each instant once"),
    pytest.param(NY, "2025-03-09T01:00", rr("FREQ=MINUTELY;INTERVAL=30;COUNT=6"), {},
                 utc("2025-03-09T06:00Z 2025-03-09T06:30Z 2025-03-09T07:00Z 2025-03-09T07:30Z"), False,
                 id="half-hourly over the gap comes out sorted and distinct (02:30 gap = 03:30 EDT)"),
    # --- month ends, leap days, positions --------------------------------------------------------
    pytest.param("UTC", "2025-01-31T10:00", rr("FREQ=MONTHLY;BYMONTHDAY=31;COUNT=4"), {},
                 utc("2025-01-31T10:00Z 2025-03-31T10:00Z 2025-05-31T10:00Z 2025-07-31T10:00Z"), False,
                 id="BYMONTHDAY=31 skips months without a 31st"),
    pytest.param("UTC", "2025-01-31T10:00", {"frequency": "monthly", "count": 4}, {},
                 utc("2025-01-31T10:00Z 2025-03-31T10:00Z 2025-05-31T10:00Z 2025-07-31T10:00Z"), False,
                 id="simple monthly from the 31st skips short months too"),
    pytest.param("UTC", "2024-01-31T10:00", rr("FREQ=MONTHLY;BYMONTHDAY=-1;COUNT=4"), {},
                 utc("2024-01-31T10:00Z 2024-02-29T10:00Z 2024-03-31T10:00Z 2024-04-30T10:00Z"), False,
                 id="BYMONTHDAY=-1 is each month's last day, 29 Feb in a leap year"),
    pytest.param("Europe/London", "2024-02-29T12:00", rr("FREQ=YEARLY;COUNT=3"), {},
                 utc("2024-02-29T12:00Z 2028-02-29T12:00Z 2032-02-29T12:00Z"), False,
                 id="yearly on 29 February occurs only in leap years"),
    pytest.param("Europe/London", "2024-02-29T12:00", {"frequency": "yearly", "count": 2}, {},
                 utc("2024-02-29T12:00Z 2028-02-29T12:00Z"), False,
                 id="simple yearly on 29 February occurs only in leap years"),
    pytest.param("UTC", "2025-01-31T17:00", rr("FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1;COUNT=4"), {},
                 utc("2025-01-31T17:00Z 2025-02-28T17:00Z 2025-03-31T17:00Z 2025-04-30T17:00Z"), False,
                 id="BYSETPOS=-1 over weekdays is the last weekday of the month"),
    pytest.param("UTC", "2025-01-31T17:00", rr("FREQ=MONTHLY;BYDAY=-1FR;COUNT=3"), {},
                 utc("2025-01-31T17:00Z 2025-02-28T17:00Z 2025-03-28T17:00Z"), False,
                 id="BYDAY=-1FR is the last Friday"),
    # --- RFC 5545 section 3.8.5.3 examples, DTSTART;TZID=America/New_York ----------------------
    pytest.param(NY, "1997-09-02T09:00", rr("FREQ=DAILY;COUNT=10"), {},
                 [f"1997-09-{d:02d}T13:00Z" for d in range(2, 12)], False,
                 id="RFC: daily for 10 occurrences"),
    pytest.param(NY, "1997-09-01T09:00",
                 rr("FREQ=WEEKLY;INTERVAL=2;UNTIL=19971224T000000Z;WKST=SU;BYDAY=MO,WE,FR"), {},
                 utc(BIWEEKLY_MWF), False,
                 id="RFC: every other week on Mon, Wed, Fri until 24 Dec 1997 (EDT then EST)"),
    pytest.param(NY, "1997-09-30T09:00", rr("FREQ=MONTHLY;COUNT=10;BYMONTHDAY=1,-1"), {},
                 utc("1997-09-30T13:00Z 1997-10-01T13:00Z 1997-10-31T14:00Z 1997-11-01T14:00Z "
                     "1997-11-30T14:00Z 1997-12-01T14:00Z 1997-12-31T14:00Z 1998-01-01T14:00Z "
                     "1998-01-31T14:00Z 1998-02-01T14:00Z"),
                 False, id="RFC: monthly on the first and last day for 10 occurrences"),
    pytest.param(NY, "1997-09-02T09:00",
                 rr("FREQ=MONTHLY;BYDAY=FR;BYMONTHDAY=13", exdates=["1997-09-02T09:00:00"]), {"limit": 5},
                 utc(FRI13), True,
                 id="RFC: every Friday the 13th; its EXDATE removes the off-rule DTSTART"),
    pytest.param(NY, "1997-09-02T09:00", rr("FREQ=MONTHLY;BYDAY=FR;BYMONTHDAY=13"), {"limit": 3},
                 ["1997-09-02T13:00Z", *utc(FRI13)[:2]], True,
                 id="the same without EXDATE: the off-rule DTSTART is the first occurrence"),
    pytest.param(NY, "1997-09-04T09:00", rr("FREQ=MONTHLY;COUNT=3;BYDAY=TU,WE,TH;BYSETPOS=3"), {},
                 utc("1997-09-04T13:00Z 1997-10-07T13:00Z 1997-11-06T14:00Z"), False,
                 id="RFC: third of Tue/Wed/Thu in the month for 3 months"),
    pytest.param(NY, "1997-09-29T09:00", rr("FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-2"), {"limit": 7},
                 utc("1997-09-29T13:00Z 1997-10-30T14:00Z 1997-11-27T14:00Z 1997-12-30T14:00Z "
                     "1998-01-29T14:00Z 1998-02-26T14:00Z 1998-03-30T14:00Z"), True,
                 id="RFC: second-to-last weekday of the month"),
    pytest.param(NY, "1997-09-22T09:00", rr("FREQ=MONTHLY;COUNT=6;BYDAY=-2MO"), {},
                 utc("1997-09-22T13:00Z 1997-10-20T13:00Z 1997-11-17T14:00Z 1997-12-22T14:00Z "
                     "1998-01-19T14:00Z 1998-02-16T14:00Z"), False,
                 id="RFC: second-to-last Monday for 6 months"),
    pytest.param(NY, "1997-05-19T09:00", rr("FREQ=YEARLY;BYDAY=20MO"), {"limit": 3},
                 utc("1997-05-19T13:00Z 1998-05-18T13:00Z 1999-05-17T13:00Z"), True,
                 id="RFC: every 20th Monday of the year"),
    pytest.param(NY, "1997-05-12T09:00", rr("FREQ=YEARLY;BYWEEKNO=20;BYDAY=MO"), {"limit": 3},
                 utc("1997-05-12T13:00Z 1998-05-11T13:00Z 1999-05-17T13:00Z"), True,
                 id="RFC: Monday of ISO week 20"),
    pytest.param(NY, "1996-11-05T09:00",
                 rr("FREQ=YEARLY;INTERVAL=4;BYMONTH=11;BYDAY=TU;BYMONTHDAY=2,3,4,5,6,7,8"), {"limit": 3},
                 utc("1996-11-05T14:00Z 2000-11-07T14:00Z 2004-11-02T14:00Z"), True,
                 id="RFC: US presidential election day"),
    pytest.param(NY, "1997-08-05T09:00", rr("FREQ=WEEKLY;INTERVAL=2;COUNT=4;BYDAY=TU,SU;WKST=MO"), {},
                 utc("1997-08-05T13:00Z 1997-08-10T13:00Z 1997-08-19T13:00Z 1997-08-24T13:00Z"), False,
                 id="RFC: WKST=MO"),
    pytest.param(NY, "1997-08-05T09:00", rr("FREQ=WEEKLY;INTERVAL=2;COUNT=4;BYDAY=TU,SU;WKST=SU"), {},
                 utc("1997-08-05T13:00Z 1997-08-17T13:00Z 1997-08-19T13:00Z 1997-08-31T13:00Z"), False,
                 id="RFC: WKST=SU changes which days fall in the same fortnight"),
    pytest.param(NY, "2007-01-15T09:00", rr("FREQ=MONTHLY;BYMONTHDAY=15,30;COUNT=5"), {},
                 utc("2007-01-15T14:00Z 2007-01-30T14:00Z 2007-02-15T14:00Z 2007-03-15T13:00Z "
                     "2007-03-30T13:00Z"), False,
                 id="RFC: an invalid date (30 Feb) is ignored; EDT from 11 Mar 2007"),
    # --- DTSTART, EXDATE, RDATE, COUNT -----------------------------------------------------------
    pytest.param("UTC", "2025-01-07T10:00", rr("FREQ=WEEKLY;BYDAY=MO;COUNT=3"), {},
                 utc("2025-01-07T10:00Z 2025-01-13T10:00Z 2025-01-20T10:00Z"), False,
                 id="off-rule DTSTART (a Tuesday) is the first occurrence and counts toward COUNT"),
    pytest.param("UTC", "2025-01-07T10:00", {"frequency": "weekly", "days": ["MON"], "count": 3}, {},
                 utc("2025-01-13T10:00Z 2025-01-20T10:00Z 2025-01-27T10:00Z"), False,
                 id="simple form: a start off the listed days only anchors the time"),
    pytest.param("UTC", "2025-01-01T10:00", rr("FREQ=DAILY;COUNT=3", exdates=["2025-01-01T10:00:00"]), {},
                 utc("2025-01-02T10:00Z 2025-01-03T10:00Z"), False,
                 id="EXDATE on DTSTART removes it"),
    pytest.param("UTC", "2025-01-01T10:00", rr("FREQ=DAILY;COUNT=5", exdates=["2025-01-03T10:00:00"]), {},
                 utc("2025-01-01T10:00Z 2025-01-02T10:00Z 2025-01-04T10:00Z 2025-01-05T10:00Z"), False,
                 id="COUNT=5 is generated first, then EXDATE removes one: 4 remain"),
    pytest.param(NY, "2025-01-01T10:00", rr("FREQ=DAILY;COUNT=3", exdates=["2025-01-02T15:00:00Z"]), {},
                 utc("2025-01-01T15:00Z 2025-01-03T15:00Z"), False,
                 id="EXDATE given as a UTC instant"),
    pytest.param(NY, "2025-01-01T10:00", rr("FREQ=DAILY;COUNT=3", exdates=[1735830000]), {},
                 utc("2025-01-01T15:00Z 2025-01-03T15:00Z"), False,
                 id="EXDATE given as epoch seconds (2025-01-02T15:00Z)"),
    pytest.param(NY, "2025-03-08T02:30", rr("FREQ=DAILY;COUNT=3", exdates=["2025-03-09T07:30:00Z"]), {},
                 utc("2025-03-08T07:30Z 2025-03-10T06:30Z"), False,
                 id="EXDATE at the instant of a gap occurrence removes it (its wall time reads 03:30)"),
    pytest.param("UTC", "2025-01-01T10:00",
                 rr("FREQ=DAILY;UNTIL=20250102T100000Z",
                    rdates=["2025-01-10T08:00:00", "2025-01-02T10:00:00"]),
                 {}, utc("2025-01-01T10:00Z 2025-01-02T10:00Z 2025-01-10T08:00Z"), False,
                 id="RDATE adds occurrences (even past UNTIL); one equal to a rule's is listed once"),
    pytest.param("UTC", "2025-01-01T10:00",
                 {"frequency": "daily", "count": 2, "rdates": ["2024-12-25T18:00:00"]}, {},
                 utc("2024-12-25T18:00Z 2025-01-01T10:00Z 2025-01-02T10:00Z"), False,
                 id="an RDATE before the start is still an occurrence"),
    pytest.param("UTC", "2025-01-30T10:00", rr("FREQ=MONTHLY;BYMONTH=2"), {},
                 utc("2025-01-30T10:00Z"), False,
                 id="a rule that can never match (30 Feb, by default) yields just DTSTART"),
    # --- UNTIL is inclusive ----------------------------------------------------------------------
    pytest.param("Europe/London", "2025-01-01T09:00", rr("FREQ=DAILY;UNTIL=20250103T090000Z"), {},
                 utc("2025-01-01T09:00Z 2025-01-02T09:00Z 2025-01-03T09:00Z"), False,
                 id="UNTIL exactly at an occurrence includes it"),
    pytest.param(NY, "2025-01-01T23:30", rr("FREQ=DAILY;UNTIL=20250103"), {}, utc(NY_LATE), False,
                 id="bare-date UNTIL includes that local day's late occurrence (next UTC day)"),
    pytest.param(NY, "2025-01-01T23:30", rr("FREQ=DAILY;UNTIL=20250103T233000"), {}, utc(NY_LATE), False,
                 id="floating UNTIL is local wall time, inclusive"),
    pytest.param(NY, "2025-01-01T23:30", {"frequency": "daily", "until": "2025-01-03"}, {},
                 utc(NY_LATE), False, id="simple until date means the end of that local day"),
    pytest.param(NY, "2025-01-01T23:30", {"frequency": "daily", "until": "2025-01-04T04:30:00Z"}, {},
                 utc(NY_LATE), False, id="simple until instant exactly at an occurrence includes it"),
    pytest.param(NY, "2025-01-01T23:30", {"frequency": "daily", "until": "2025-01-04T04:29:59Z"}, {},
                 utc(NY_LATE)[:2], False, id="simple until a second before an occurrence excludes it"),
    pytest.param(NY, "2025-01-01T23:30", {"frequency": "daily", "until": 1735965000}, {}, utc(NY_LATE), False,
                 id="simple until as epoch seconds (2025-01-04T04:30Z)"),
    pytest.param(NY, "2025-01-01T23:30", {"frequency": "daily", "until": "2025-01-03T23:30:00"}, {},
                 utc(NY_LATE), False, id="simple naive until is local wall time"),
    # --- RFC 5545 §3.3.10 where dateutil departs from it ------------------------------------------------
    # "Each BYDAY value can also be preceded by a positive (+n) or negative (-n) integer": every value is
    # an alternative, so a list mixing numbered and plain days is their union (dateutil intersects them).
    pytest.param("UTC", "2025-09-01T09:00", rr("FREQ=MONTHLY;BYDAY=1MO,TU;COUNT=6"), {},
                 utc("2025-09-01T09:00Z 2025-09-02T09:00Z 2025-09-09T09:00Z 2025-09-16T09:00Z "
                     "2025-09-23T09:00Z 2025-09-30T09:00Z"), False,
                 id="monthly BYDAY=1MO,TU: the first Monday and every Tuesday (a union)"),
    pytest.param("UTC", "2025-03-01T09:00", rr("FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU,SA;COUNT=6"), {},
                 utc("2025-03-01T09:00Z 2025-03-08T09:00Z 2025-03-15T09:00Z 2025-03-22T09:00Z "
                     "2025-03-29T09:00Z 2025-03-30T09:00Z"), False,
                 id="yearly in March: every Saturday and the last Sunday of the month"),
    # "BYSETPOS ... specifies ... the nth occurrence within the set of recurrence instances specified by
    # the rule" for each period: a week runs from WKST, even the first (dateutil starts it at DTSTART).
    pytest.param("UTC", "2025-01-08T09:00", rr("FREQ=WEEKLY;BYDAY=MO,WE,FR;BYSETPOS=2;COUNT=3"), {},
                 utc("2025-01-08T09:00Z 2025-01-15T09:00Z 2025-01-22T09:00Z"), False,
                 id="weekly BYSETPOS=2 from a Wednesday counts the whole first week (Mon, Wed, Fri)"),
    pytest.param("UTC", "2025-01-08T09:00", rr("FREQ=WEEKLY;BYDAY=MO,WE,FR;BYSETPOS=1;COUNT=3"), {},
                 utc("2025-01-08T09:00Z 2025-01-13T09:00Z 2025-01-20T09:00Z"), False,
                 id="weekly BYSETPOS=1 from a Wednesday: the first week's Monday is before DTSTART"),
    pytest.param("UTC", "2025-01-08T09:00", rr("FREQ=WEEKLY;BYDAY=MO,WE,FR;BYSETPOS=1;WKST=WE;COUNT=2"), {},
                 utc("2025-01-08T09:00Z 2025-01-15T09:00Z"), False,
                 id="weekly BYSETPOS with WKST=WE: weeks start on Wednesday"),
    # --- the year limit ---------------------------------------------------------------------------------
    pytest.param("UTC", "2998-06-01T09:00", rr("FREQ=YEARLY"), {"limit": 10},
                 utc("2998-06-01T09:00Z 2999-06-01T09:00Z"), False,
                 id="an endless rule ends with the year 2999, where instants end"),
    # --- simple form -------------------------------------------------------------------------------
    pytest.param("UTC", "2025-01-06T09:00",
                 {"frequency": "weekly", "days": [1, "wed", "Friday"], "count": 4}, {},
                 utc("2025-01-06T09:00Z 2025-01-08T09:00Z 2025-01-10T09:00Z 2025-01-13T09:00Z"), False,
                 id="simple weekly days mixing 1 (Monday), 'wed' and 'Friday'"),
    pytest.param("UTC", "2025-01-06T09:00", {"frequency": "daily", "days": [0, 6], "count": 3}, {},
                 utc("2025-01-11T09:00Z 2025-01-12T09:00Z 2025-01-18T09:00Z"), False,
                 id="simple daily with days [0, 6] is weekends only (0 = Sunday)"),
    pytest.param("UTC", "2025-01-06T09:00", {"frequency": "weekly", "interval": 2, "count": 3}, {},
                 utc("2025-01-06T09:00Z 2025-01-20T09:00Z 2025-02-03T09:00Z"), False,
                 id="simple weekly every second week on the start's weekday"),
    # --- limit, truncated and windows --------------------------------------------------------------
    pytest.param("UTC", "2025-01-01T09:00", {"frequency": "daily"}, {"limit": 3},
                 utc("2025-01-01T09:00Z 2025-01-02T09:00Z 2025-01-03T09:00Z"), True,
                 id="an endless rule stops at limit and says truncated"),
    pytest.param("UTC", "2025-01-01T09:00", {"frequency": "daily"}, WINDOW,
                 utc("2025-01-10T09:00Z 2025-01-11T09:00Z 2025-01-12T09:00Z"), False,
                 id="a window includes after and excludes before"),
    pytest.param("UTC", "2025-01-01T09:00", {"frequency": "daily"}, {**WINDOW, "limit": 2},
                 utc("2025-01-10T09:00Z 2025-01-11T09:00Z"), True,
                 id="limit inside a window truncates"),
    pytest.param("UTC", "2025-01-01T09:00", {"frequency": "daily"}, {**WINDOW, "limit": 3},
                 utc("2025-01-10T09:00Z 2025-01-11T09:00Z 2025-01-12T09:00Z"), False,
                 id="a window that exactly fills the limit is not truncated (before cut it)"),
    pytest.param("UTC", "2025-01-01T09:00", {"frequency": "daily", "count": 3}, {"limit": 3},
                 utc("2025-01-01T09:00Z 2025-01-02T09:00Z 2025-01-03T09:00Z"), False,
                 id="a finite rule that exactly fills the limit is not truncated"),
    pytest.param("UTC", "2025-01-01T09:00", {"frequency": "daily"}, {"limit": 0}, [], True,
                 id="limit 0 returns nothing but reports more"),
    pytest.param("UTC", "2025-01-01T09:00", {"frequency": "daily", "count": 3},
                 {"after": z("2025-02-01T00:00Z")}, [], False, id="a window after a finite rule is empty"),
    pytest.param(NY, "2024-01-01T09:00", rr("FREQ=WEEKLY;BYDAY=MO,FR"),
                 {"after": z("2025-03-07T14:00Z"), "before": z("2025-03-15T00:00Z")},
                 utc("2025-03-07T14:00Z 2025-03-10T13:00Z 2025-03-14T13:00Z"), False,
                 id="a window a year on, across the New York spring-forward"),
]
# fmt: on


@pytest.mark.parametrize(("zone", "start", "recurrence", "kwargs", "expected", "truncated"), EXPAND_CASES)
def test_expand(
    zone: str,
    start: str,
    recurrence: dict[str, Any],
    kwargs: dict[str, Any],
    expected: list[str],
    truncated: bool,
) -> None:
    assert run(zone, start, recurrence, **kwargs) == (expected, truncated)


# fmt: off
# Each row: zone, recurrence, normalised RRULE text.
NORMALISE_CASES = [
    pytest.param("UTC", rr("RRULE:freq=weekly;byday=mo,we;count=10"), "FREQ=WEEKLY;BYDAY=MO,WE;COUNT=10",
                 id="RRULE: prefix and lower case are accepted"),
    pytest.param("UTC", rr(" FREQ=MONTHLY;WKST=MO;BYSETPOS=-1;BYDAY=FR,FR;INTERVAL=1 "),
                 "FREQ=MONTHLY;BYDAY=FR;BYSETPOS=-1",
                 id="canonical order, default INTERVAL and WKST dropped, duplicates merged"),
    pytest.param(NY, rr("FREQ=DAILY;UNTIL=20270630"), "FREQ=DAILY;UNTIL=20270701T035959Z",
                 id="bare-date UNTIL becomes the end of that New York day (EDT) in UTC"),
    pytest.param(NY, rr("FREQ=DAILY;UNTIL=20270110T090000"), "FREQ=DAILY;UNTIL=20270110T140000Z",
                 id="floating UNTIL becomes UTC (EST)"),
    pytest.param(NY, {"frequency": "weekly", "days": ["MON", "wed"], "count": 10},
                 "FREQ=WEEKLY;BYDAY=MO,WE;COUNT=10", id="simple weekly with day names"),
    pytest.param(NY, {"frequency": "Weekly", "days": [0, 3, "su"], "interval": 2},
                 "FREQ=WEEKLY;INTERVAL=2;BYDAY=WE,SU", id="days 0-6 with 0 = Sunday, merged, Monday first"),
    pytest.param(NY, {"frequency": "daily", "until": "2027-06-30"}, "FREQ=DAILY;UNTIL=20270701T035959Z",
                 id="simple until date is the end of the local day"),
    pytest.param("Pacific/Kiritimati", {"frequency": "yearly", "until": "2027-06-30"},
                 "FREQ=YEARLY;UNTIL=20270630T095959Z", id="the end of a +14 day is 09:59:59Z that date"),
    # Santiago falls back at midnight to 23:00, so 23:00-23:59 on 5 Apr 2025 happens twice
    # (-03 then -04); the day ends at the second 23:59:59, i.e. 03:59:59Z.
    pytest.param("America/Santiago", {"frequency": "daily", "until": "2025-04-05"},
                 "FREQ=DAILY;UNTIL=20250406T035959Z", id="a day that repeats its last hour ends after both"),
    pytest.param(NY, {"frequency": "monthly", "count": 1, "exdates": None, "days": None},
                 "FREQ=MONTHLY;COUNT=1", id="null optional fields count as absent"),
]
# fmt: on


@pytest.mark.parametrize(("zone", "recurrence", "text"), NORMALISE_CASES)
def test_parse_normalises_the_rule(zone: str, recurrence: dict[str, Any], text: str) -> None:
    tz = load_zone(zone)
    rec = parse_recurrence(recurrence, tz)
    assert rec.rrule == text
    assert parse_recurrence({"rrule": rec.rrule}, tz).rrule == text  # the normal form parses to itself


def test_parse_keeps_dates_as_sorted_local_wall_times() -> None:
    tz = load_zone("Europe/London")
    exdates = ["2025-07-01T09:00:00Z", "2025-06-01T09:00:00", 1735722000, "2025-06-01T09:00:00.750"]
    rec = parse_recurrence(rr("FREQ=DAILY", exdates=exdates), tz)
    # 09:00Z in July is 10:00 BST; 1735722000 is 2025-01-01T09:00Z (GMT); sub-seconds are dropped.
    assert rec.exdates == (datetime(2025, 1, 1, 9), datetime(2025, 6, 1, 9), datetime(2025, 7, 1, 10))
    assert rec.rdates == ()
    assert rec.start_is_occurrence is True
    assert parse_recurrence({"frequency": "daily"}, tz).start_is_occurrence is False


R = "/recurrence/rrule"

# fmt: off
# Each row: recurrence, pointer prefix, the pointers that must be reported.
INVALID_CASES = [
    pytest.param(["FREQ=DAILY"], "", ["/recurrence"], id="not an object"),
    pytest.param({"rrule": "FREQ=DAILY", "frequency": "daily"}, "", ["/recurrence"], id="both forms"),
    pytest.param({"exdates": []}, "", ["/recurrence"], id="neither form"),
    pytest.param({"rrule": "FREQ=DAILY", "foo": 1}, "", ["/recurrence/foo"], id="unknown key"),
    pytest.param({"rrule": "FREQ=DAILY", "a/b": 1}, "", ["/recurrence/a~1b"], id="unknown key, escaped"),
    pytest.param({"rrule": "FREQ=DAILY", "count": 3}, "", ["/recurrence/count"], id="simple field + rrule"),
    pytest.param({"rrule": 5}, "", [R], id="rrule not a string"),
    pytest.param({"rrule": "  "}, "", [R], id="rrule empty"),
    pytest.param({"rrule": "DTSTART:19970902T090000Z\nRRULE:FREQ=DAILY"}, "", [R], id="DTSTART inside"),
    pytest.param({"rrule": "FREQ=DAILY;DTSTART=19970902T090000Z"}, "", [R], id="DTSTART as a part"),
    pytest.param({"rrule": "FREQ=DAILY\nEXDATE:19970902T090000Z"}, "", [R], id="a second property line"),
    pytest.param({"rrule": "FREQ=DAILY;COUNT=3;UNTIL=20250101"}, "", [R], id="COUNT with UNTIL"),
    pytest.param({"rrule": "FREQ=SECONDLY"}, "", [R], id="SECONDLY is too fine"),
    pytest.param({"rrule": "FREQ=FORTNIGHTLY"}, "", [R], id="unknown FREQ"),
    pytest.param({"rrule": "BYDAY=MO"}, "", [R], id="no FREQ"),
    pytest.param({"rrule": "FREQ=DAILY;INTERVAL=0"}, "", [R], id="INTERVAL 0"),
    pytest.param({"rrule": "FREQ=DAILY;INTERVAL=-2"}, "", [R], id="INTERVAL negative"),
    pytest.param({"rrule": "FREQ=DAILY;COUNT=0"}, "", [R], id="COUNT 0"),
    pytest.param({"rrule": "FREQ=DAILY;COUNT=x"}, "", [R], id="COUNT not a number"),
    pytest.param({"rrule": "FREQ=WEEKLY;BYDAY=XX"}, "", [R], id="unknown BYDAY day"),
    pytest.param({"rrule": "FREQ=MONTHLY;BYDAY=0MO"}, "", [R], id="BYDAY ordinal 0"),
    pytest.param({"rrule": "FREQ=MONTHLY;BYDAY=54MO"}, "", [R], id="BYDAY ordinal 54"),
    pytest.param({"rrule": "FREQ=DAILY;BYHOUR=24"}, "", [R], id="BYHOUR 24"),
    pytest.param({"rrule": "FREQ=DAILY;BYMINUTE=5,,6"}, "", [R], id="empty list item"),
    pytest.param({"rrule": "FREQ=MONTHLY;BYMONTHDAY=0"}, "", [R], id="BYMONTHDAY 0"),
    pytest.param({"rrule": "FREQ=MONTHLY;BYMONTHDAY=32"}, "", [R], id="BYMONTHDAY 32"),
    pytest.param({"rrule": "FREQ=YEARLY;BYMONTH=13"}, "", [R], id="BYMONTH 13"),
    pytest.param({"rrule": "FREQ=YEARLY;BYYEARDAY=367"}, "", [R], id="BYYEARDAY 367"),
    pytest.param({"rrule": "FREQ=DAILY;FOO=1"}, "", [R], id="unknown part"),
    pytest.param({"rrule": "FREQ=DAILY;FREQ=WEEKLY"}, "", [R], id="repeated part"),
    pytest.param({"rrule": "FREQ=DAILY;;COUNT=2"}, "", [R], id="empty part"),
    pytest.param({"rrule": "FREQ=DAILY;COUNT"}, "", [R], id="part without a value"),
    pytest.param({"rrule": "FREQ=DAILY;UNTIL=20250230"}, "", [R], id="UNTIL 30 February"),
    pytest.param({"rrule": "FREQ=DAILY;UNTIL=2025-01-01"}, "", [R], id="UNTIL in ISO form"),
    pytest.param({"rrule": "FREQ=DAILY;WKST=XX"}, "", [R], id="bad WKST"),
    pytest.param({"rrule": "FREQ=WEEKLY;BYDAY=1MO"}, "", [R], id="BYDAY ordinal with WEEKLY"),
    pytest.param({"rrule": "FREQ=YEARLY;BYWEEKNO=20;BYDAY=1MO"}, "", [R], id="BYDAY ordinal with BYWEEKNO"),
    pytest.param({"rrule": "FREQ=MONTHLY;BYWEEKNO=1"}, "", [R], id="BYWEEKNO without YEARLY"),
    pytest.param({"rrule": "FREQ=MONTHLY;BYDAY=6MO"}, "", [R], id="a sixth Monday in a month"),
    pytest.param({"rrule": "FREQ=YEARLY;BYMONTH=3;BYDAY=-20FR,TU"}, "", [R], id="ordinal 20 within a month"),
    pytest.param({"rrule": "FREQ=MONTHLY;BYYEARDAY=1"}, "", [R], id="BYYEARDAY with MONTHLY"),
    pytest.param({"rrule": "FREQ=WEEKLY;BYMONTHDAY=1"}, "", [R], id="BYMONTHDAY with WEEKLY"),
    pytest.param({"rrule": "FREQ=DAILY;BYSETPOS=1"}, "", [R], id="BYSETPOS alone"),
    pytest.param({"rrule": "FREQ=YEARLY;BYMONTH=2,4;BYMONTHDAY=31"}, "", [R],
                 id="never occurs: no 31 February or 31 April"),
    pytest.param({"rrule": "FREQ=HOURLY;BYYEARDAY=1;BYMONTH=2"}, "", [R],
                 id="never occurs: day 1 of the year is never in February"),
    pytest.param({"rrule": "FREQ=DAILY;BYDAY=MO;BYMONTHDAY=1;BYMONTH=1;BYYEARDAY=2"}, "", [R],
                 id="never occurs: 1 January is never day 2 of the year"),
    pytest.param({"rrule": "FREQ=DAILY;BYHOUR=9;BYSETPOS=2"}, "", [R],
                 id="never occurs: a day holds one time and BYSETPOS asks for the second"),
    pytest.param({"frequency": "hourly"}, "", ["/recurrence/frequency"], id="simple frequency not allowed"),
    pytest.param({"frequency": 5}, "", ["/recurrence/frequency"], id="simple frequency not a string"),
    pytest.param({"frequency": "daily", "interval": 0}, "", ["/recurrence/interval"], id="interval 0"),
    pytest.param({"frequency": "daily", "interval": "2"}, "", ["/recurrence/interval"], id="interval str"),
    pytest.param({"frequency": "daily", "interval": True}, "", ["/recurrence/interval"], id="interval bool"),
    pytest.param({"frequency": "daily", "count": 0}, "", ["/recurrence/count"], id="count 0"),
    pytest.param({"frequency": "daily", "count": 1.5}, "", ["/recurrence/count"], id="count fractional"),
    pytest.param({"frequency": "weekly", "days": ["MO", "XY"]}, "", ["/recurrence/days/1"], id="unknown day"),
    pytest.param({"frequency": "weekly", "days": [7]}, "", ["/recurrence/days/0"], id="day number 7"),
    pytest.param({"frequency": "weekly", "days": [False]}, "", ["/recurrence/days/0"], id="day a bool"),
    pytest.param({"frequency": "weekly", "days": "MON"}, "", ["/recurrence/days"], id="days not a list"),
    pytest.param({"frequency": "weekly", "days": []}, "", ["/recurrence/days"], id="days empty"),
    pytest.param({"frequency": "daily", "count": 3, "until": "2027-06-30"}, "", ["/recurrence/until"],
                 id="count with until"),
    pytest.param({"frequency": "daily", "until": "next june"}, "", ["/recurrence/until"], id="until prose"),
    pytest.param({"frequency": "daily", "until": "2027-02-30"}, "", ["/recurrence/until"], id="until 30 Feb"),
    pytest.param({"frequency": "daily", "until": 10**20}, "", ["/recurrence/until"], id="until too late"),
    pytest.param({"frequency": "daily", "exdates": "2025-01-01T09:00:00"}, "", ["/recurrence/exdates"],
                 id="exdates not a list"),
    pytest.param({"frequency": "daily",
                  "exdates": ["2025-01-01T09:00:00", "2025-01-02T09:00:00Z", 1735722000, "?"]},
                 "", ["/recurrence/exdates/3"], id="a bad exdate item is pointed at by its index"),
    pytest.param({"rrule": "FREQ=DAILY", "rdates": [True]}, "", ["/recurrence/rdates/0"], id="rdate a bool"),
    pytest.param({"rrule": "FREQ=DAILY", "rdates": ["2025-01-01"]}, "", ["/recurrence/rdates/0"],
                 id="rdate without a time of day"),
    pytest.param({"rrule": "FREQ=DAILY", "rdates": ["2025-01-01T25:00:00"]}, "", ["/recurrence/rdates/0"],
                 id="rdate hour 25"),
    pytest.param({"rrule": "FREQ=DAILY", "rdates": [1.5]}, "", ["/recurrence/rdates/0"], id="rdate a float"),
    pytest.param({"frequency": "weekly", "days": ["MON", "XYZ"], "count": 0, "exdates": [None], "x": 1}, "",
                 ["/recurrence/x", "/recurrence/count", "/recurrence/days/1", "/recurrence/exdates/0"],
                 id="every bad field is reported at once"),
    pytest.param({"rrule": "FREQ=DAILY;BYHOUR=99"}, "/changes", ["/changes/recurrence/rrule"],
                 id="pointer prefix for split's changes"),
    pytest.param({"rrule": "FREQ=MINUTELY;BYMONTHDAY=29"}, "", ["/recurrence/rrule"],
                 id="minute steps filtered by day of month (use DAILY with BYHOUR)"),
    pytest.param({"rrule": "FREQ=HOURLY;BYYEARDAY=60"}, "", ["/recurrence/rrule"],
                 id="hour steps filtered by day of year"),
]
# fmt: on


@pytest.mark.parametrize(("recurrence", "prefix", "pointers"), INVALID_CASES)
def test_parse_rejects(recurrence: Any, prefix: str, pointers: list[str]) -> None:
    with pytest.raises(ValidationFailed) as caught:
        parse_recurrence(recurrence, load_zone("Europe/London"), pointer_prefix=prefix)
    assert [e.pointer for e in caught.value.errors] == pointers
    assert all(e.detail for e in caught.value.errors)


@pytest.mark.parametrize(
    "rule",
    [
        pytest.param("FREQ=DAILY;BYMONTH=2;BYMONTHDAY=29", id="29 February"),
        pytest.param("FREQ=YEARLY;BYYEARDAY=366;BYMONTH=12", id="day 366 is 31 December of a leap year"),
        pytest.param("FREQ=YEARLY;BYYEARDAY=-307;BYMONTH=2;BYMONTHDAY=29", id="29 Feb is 307th from the end"),
        pytest.param("FREQ=MONTHLY;BYDAY=MO;BYMONTHDAY=31;BYMONTH=3", id="Monday 31 March happens"),
        pytest.param("FREQ=WEEKLY;BYDAY=MO,FR;BYHOUR=9,17;BYSETPOS=4", id="a week holds four times"),
    ],
)
def test_parse_accepts_rare_but_possible_rules(rule: str) -> None:
    assert parse_recurrence(rr(rule), load_zone("UTC")).rrule


# fmt: off
# Each row: start, rule, expected. dateutil would search these up to year 9999 (seconds) or refuse them.
NEVER_CASES = [
    pytest.param("2025-01-30T10:00", "FREQ=MONTHLY;BYMONTH=2", ["2025-01-30T10:00Z"],
                 id="monthly in February on the start's day, the 30th"),
    pytest.param("2025-01-06T00:00", "FREQ=HOURLY;INTERVAL=2;BYHOUR=1;COUNT=3", ["2025-01-06T00:00Z"],
                 id="an odd hour every two hours from an even one (dateutil refuses it)"),
    pytest.param("2025-01-06T00:00", "FREQ=MINUTELY;INTERVAL=120;BYHOUR=1", ["2025-01-06T00:00Z"],
                 id="every two hours counted in minutes, never at 01"),
    pytest.param("2025-01-07T09:00", "FREQ=DAILY;INTERVAL=7;BYDAY=MO", ["2025-01-07T09:00Z"],
                 id="every seventh day from a Tuesday is never a Monday"),
    pytest.param("2025-01-07T09:00", "FREQ=HOURLY;INTERVAL=168;BYDAY=MO", ["2025-01-07T09:00Z"],
                 id="every 168 hours from a Tuesday is never a Monday"),
    pytest.param("2025-01-07T09:00", "FREQ=MINUTELY;INTERVAL=1440;BYHOUR=10", ["2025-01-07T09:00Z"],
                 id="every 1440 minutes from 09:00 is never at 10"),
]
# fmt: on


@pytest.mark.parametrize(("start", "rule", "expected"), NEVER_CASES)
def test_rules_that_never_match_give_just_dtstart_at_once(start: str, rule: str, expected: list[str]) -> None:
    tz = load_zone("UTC")
    began = time.perf_counter()
    found, truncated = expand(datetime.fromisoformat(start), tz, parse_recurrence(rr(rule), tz))
    assert (iso(found), truncated) == (expected, False)
    assert time.perf_counter() - began < 0.1


@pytest.mark.parametrize(
    "name",
    [
        pytest.param("Mars/Olympus_Mons", id="unknown zone"),
        pytest.param("europe/london", id="wrong case"),
        pytest.param("", id="empty"),
        pytest.param("../../etc/passwd", id="path traversal"),
        pytest.param("/etc/localtime", id="absolute path"),
        pytest.param("zone.tab", id="a tzdata file that is not a zone"),
        pytest.param("localtime", id="the host's setting, not a zone"),
        pytest.param(None, id="not a string"),
    ],
)
def test_load_zone_rejects(name: Any) -> None:
    with pytest.raises(ValidationFailed) as caught:
        load_zone(name, pointer="/changes/timezone")
    assert [e.pointer for e in caught.value.errors] == ["/changes/timezone"]


def test_load_zone_accepts_iana_names() -> None:
    assert str(load_zone("Australia/Lord_Howe")) == "Australia/Lord_Howe"
    assert str(load_zone("UTC")) == "UTC"


# fmt: off
LOCAL_CASES = [
    pytest.param(datetime(2025, 7, 1, 8, tzinfo=UTC), datetime(2025, 7, 1, 9), id="aware to BST wall time"),
    pytest.param(datetime(2025, 7, 1, 8), datetime(2025, 7, 1, 8), id="naive is already local"),
    pytest.param(datetime(2025, 10, 26, 1, 30, tzinfo=UTC), datetime(2025, 10, 26, 1, 30),
                 id="the second 01:30 (GMT) reads as wall 01:30, fold cleared"),
]
# fmt: on


@pytest.mark.parametrize(("value", "expected"), LOCAL_CASES)
def test_to_local_naive(value: datetime, expected: datetime) -> None:
    local = to_local_naive(value, load_zone("Europe/London"))
    assert (local, local.tzinfo, local.fold) == (expected, None, 0)


# fmt: off
PARSE_LOCAL_CASES = [
    pytest.param("2025-03-09T07:30:00Z", datetime(2025, 3, 9, 3, 30), id="Z instant to EDT wall time"),
    pytest.param("2025-03-09t07:30:00z", datetime(2025, 3, 9, 3, 30), id="lower-case t and z (RFC 3339)"),
    pytest.param("2025-01-01T12:00:00+05:45", datetime(2025, 1, 1, 1, 15), id="offset instant"),
    pytest.param("2025-01-01T09:00:00", datetime(2025, 1, 1, 9), id="naive is local"),
    pytest.param(0, datetime(1969, 12, 31, 19), id="epoch seconds"),
]
# fmt: on


@pytest.mark.parametrize(("value", "expected"), PARSE_LOCAL_CASES)
def test_parse_local_datetime(value: Any, expected: datetime) -> None:
    assert parse_local_datetime(value, load_zone(NY), "/start") == expected


def test_parse_local_datetime_error_pointer() -> None:
    with pytest.raises(ValidationFailed) as caught:
        parse_local_datetime("soon", load_zone(NY), "/start")
    assert [e.pointer for e in caught.value.errors] == ["/start"]


def test_simple_to_rrule_reports_under_its_pointer() -> None:
    assert simple_to_rrule({"frequency": "daily", "interval": 3}, load_zone("UTC")) == "FREQ=DAILY;INTERVAL=3"
    with pytest.raises(ValidationFailed) as caught:
        simple_to_rrule({"frequency": "daily", "interval": 0}, load_zone("UTC"), "/changes/recurrence")
    assert [e.pointer for e in caught.value.errors] == ["/changes/recurrence/interval"]


def test_expand_needs_aware_bounds() -> None:
    tz = load_zone("UTC")
    with pytest.raises(ValueError, match="after"):
        expand(datetime(2025, 1, 1), tz, Recurrence("FREQ=DAILY"), after=datetime(2025, 1, 2))


def test_expand_accepts_an_aware_start() -> None:
    found, _ = expand(datetime(2025, 1, 1, 14, tzinfo=UTC), load_zone(NY), Recurrence("FREQ=DAILY;COUNT=1"))
    assert iso(found) == ["2025-01-01T14:00Z"]


def test_occurrence_local_exdate_removes_exactly_that_occurrence() -> None:
    """Skipping an occurrence by its UTC start works even for gap and overlap times."""
    tz = load_zone("Europe/London")
    rule = "FREQ=MINUTELY;INTERVAL=30;COUNT=12"
    for start in (datetime(2025, 3, 30, 0), datetime(2025, 10, 26, 0)):
        every, _ = expand(start, tz, Recurrence(rule))
        for skipped in every:
            rest, _ = expand(start, tz, Recurrence(rule, exdates=(occurrence_local(skipped, tz),)))
            assert rest == [o for o in every if o != skipped], skipped


# fmt: off
# Each row: zone, start, rule, window. The window comes long after the start, so expand skips
# ahead; the result must equal the slow path (everything from the start, then filtered).
SKIP_AHEAD_CASES = [
    pytest.param("Europe/London", "2024-01-01T00:17", "FREQ=HOURLY;BYMINUTE=0,17,30",
                 "2025-03-29T09:00Z", "2025-03-31T00:00Z", id="hourly over the London gap"),
    pytest.param(NY, "2024-02-03T09:00", "FREQ=WEEKLY;INTERVAL=3;BYDAY=MO,TH",
                 "2025-03-07T09:00Z", "2025-04-20T00:00Z", id="every third week"),
    pytest.param("Australia/Lord_Howe", "2024-06-05T02:10", "FREQ=DAILY;INTERVAL=5;BYHOUR=2,20",
                 "2025-10-01T00:00Z", "2025-10-12T00:00Z", id="every fifth day twice, over Lord Howe's gap"),
    pytest.param(NY, "2025-01-01T00:03", "FREQ=MINUTELY;INTERVAL=7",
                 "2025-03-09T06:00Z", "2025-03-09T08:00Z", id="every seven minutes over the New York gap"),
    # 02:30 on 9 Mar is in the gap (07:30Z) yet its wall time is before after's (03:15 EDT): a start
    # moved right up to after's wall time would lose it, hence the margin.
    pytest.param(NY, "2025-01-01T03:00", "FREQ=DAILY;BYHOUR=2;BYMINUTE=30",
                 "2025-03-09T07:15Z", "2025-03-11T00:00Z", id="a gap occurrence just inside the window"),
    # BYSETPOS counts whole weeks from WKST, so a start moved on by whole weeks changes nothing.
    pytest.param("UTC", "2024-01-03T09:00", "FREQ=WEEKLY;BYDAY=MO,FR;BYSETPOS=1;WKST=SU",
                 "2025-03-07T09:00Z", "2025-03-20T00:00Z", id="weekly BYSETPOS skips ahead by whole weeks"),
    pytest.param("Pacific/Chatham", "2024-01-31T03:00", "FREQ=MONTHLY;BYMONTHDAY=31",
                 "2025-03-01T00:00Z", "2025-06-01T00:00Z", id="monthly is not skipped"),
]
# fmt: on


@pytest.mark.parametrize(("zone", "start", "rule", "after", "before"), SKIP_AHEAD_CASES)
def test_far_window_matches_full_expansion(zone: str, start: str, rule: str, after: str, before: str) -> None:
    tz = load_zone(zone)
    rec = parse_recurrence(rr(rule, exdates=["2025-03-10T09:00:00"]), tz)
    first = datetime.fromisoformat(start)
    everything, _ = expand(first, tz, rec, before=z(before), limit=10**6)
    windowed, truncated = expand(first, tz, rec, after=z(after), before=z(before), limit=10**6)
    assert windowed == [o for o in everything if o >= z(after)]
    assert windowed and not truncated


def test_out_of_phase_simple_form_produces_nothing() -> None:
    tz = load_zone("UTC")
    rule = parse_recurrence({"frequency": "daily", "interval": 7, "days": ["MON"]}, tz)
    assert expand(datetime(2025, 1, 7, 9), tz, rule) == ([], False)


def test_an_expansion_that_needs_too_many_steps_is_refused_with_a_pointer() -> None:
    """A COUNT rule is walked from its start (COUNT counts from there), so a window centuries on costs
    a step per minute: it is refused rather than left to run."""
    tz = load_zone("UTC")
    rule = parse_recurrence(rr("FREQ=MINUTELY;COUNT=999999999"), tz)
    with pytest.raises(ValidationFailed) as caught:
        expand(datetime(2025, 1, 1), tz, rule, after=z("2900-01-01T00:00Z"), limit=3)
    assert [e.pointer for e in caught.value.errors] == ["/recurrence"]


def test_ten_thousand_occurrences_are_fast() -> None:
    tz = load_zone("Europe/London")
    began = time.perf_counter()
    daily, truncated = expand(datetime(2025, 1, 1, 9), tz, Recurrence("FREQ=DAILY"), limit=10_000)
    minutely, _ = expand(datetime(2025, 1, 1), tz, Recurrence("FREQ=MINUTELY;INTERVAL=15"), limit=10_000)
    # A window decades after an endless minutely rule starts is reached by skipping, not iterating.
    after = z("2040-06-01T00:00Z")
    late, _ = expand(datetime(2000, 1, 1), tz, Recurrence("FREQ=MINUTELY"), after=after, limit=3)
    elapsed = time.perf_counter() - began
    assert (len(daily), truncated, len(minutely)) == (10_000, True, 10_000)
    assert daily[-1] - daily[0] > timedelta(days=9_998)  # about 27 years of days, all distinct
    assert iso(late) == utc("2040-06-01T00:00Z 2040-06-01T00:01Z 2040-06-01T00:02Z")
    assert elapsed < 1.0, elapsed
