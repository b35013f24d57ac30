"""No double booking, as a property: random sequences of bookings against a brute-force oracle.

A hypothesis state machine drives the API (in-process, on moto) with one-off events and weekly series,
bounded and endless, in three time zones, on channels with and without a changeover, at distances from
an hour to five years: create, move, extend, delete, restore, skip, split, `allow_conflict`, and the
materialiser's ticks. An in-memory oracle expands every series itself and compares every pair of
bookings. After every step the API's answer (2xx or 409) must be the oracle's; at the end of each run the
API's bookings (availability) must be the oracle's, and no two of them may overlap unless the overlap was
accepted with `allow_conflict` (or is one the conflict horizon lets through between two endless series,
which the tick reports).

`make test` runs it with a fixed seed and a few runs. A longer search:

    ONAIR_PROPERTY_EXAMPLES=300 ONAIR_PROPERTY_RANDOM=1 \\
        make test PYTEST_ARGS=tests/integration/test_booking_properties.py
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    precondition,
    rule,
    run_state_machine_as_test,
)

from tests.conftest import OPERATOR_KEY, Api, Clock

START = datetime(2027, 3, 1, 8, 0, tzinfo=UTC)
HORIZON = timedelta(days=365)  # the conflict horizon between two endless series
LOOKAHEAD = timedelta(days=6 * 365)  # how far the oracle expands endless series
ZONES = ("Europe/London", "America/New_York", "UTC")
DAYS = ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")
# From an hour to five years ahead: inside the materialisation horizon, past it, past 365 days.
DISTANCES = st.sampled_from(
    [timedelta(hours=h) for h in (1, 5, 30)]
    + [timedelta(days=d) for d in (3, 12, 40, 75, 200, 370, 420, 800, 1100, 1825)]
)
MINUTES = st.sampled_from([0, 15, 30, 45, 50, 60, 90])


@pytest.fixture
def aws(emptied_tables: None) -> None:
    """One moto for the module; each run of the machine empties it."""


def fmt(instant: datetime) -> str:
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Series:
    id: str
    channel: int
    zone: str
    first_day: date
    at: time
    duration: int
    days: tuple[int, ...]  # Monday = 0
    count: int | None
    skipped: set[datetime] = field(default_factory=set)
    ends_before: datetime | None = None  # set by a split
    # The endless series this one was not checked against past its first 365 days (it was endless too).
    horizon_exempt: set[str] = field(default_factory=set)

    @property
    def endless(self) -> bool:
        return self.count is None and self.ends_before is None

    def first(self) -> datetime:
        local = datetime.combine(self.first_day, self.at)
        return local.replace(tzinfo=ZoneInfo(self.zone)).astimezone(UTC)

    def generated(self, until: datetime) -> list[datetime]:
        """Occurrence starts (UTC) up to `until`, before skips: simple weekly form, COUNT from the start."""
        zone = ZoneInfo(self.zone)
        found: list[datetime] = []
        day = self.first_day
        while True:
            if day.weekday() in self.days:
                instant = datetime.combine(day, self.at).replace(tzinfo=zone).astimezone(UTC)
                if instant >= until or (self.ends_before is not None and instant >= self.ends_before):
                    return found
                found.append(instant)
                if self.count is not None and len(found) == self.count:
                    return found
            elif datetime.combine(day, self.at).replace(tzinfo=zone).astimezone(UTC) >= until:
                return found
            day += timedelta(days=1)

    def occurrences(self, until: datetime) -> list[datetime]:
        return [o for o in self.generated(until) if o not in self.skipped]


@dataclass
class OneOff:
    id: str
    channel: int
    start: datetime
    end: datetime
    deleted: bool = False


Key = tuple[str, ...]  # ("evt", id) or ("occ", series id, occurrence start)


@dataclass(frozen=True)
class Booking:
    key: Key
    start: datetime
    end: datetime
    series: str | None = None


class Oracle:
    """Every booking on every channel, by brute force."""

    def __init__(self, changeovers: list[int]) -> None:
        self.changeovers = changeovers
        self.events: dict[str, OneOff] = {}
        self.series: dict[str, Series] = {}
        self.accepted: set[frozenset[Key]] = set()

    def bookings(self, channel: int, until: datetime, skip_series: str | None = None) -> list[Booking]:
        found = [
            Booking(("evt", e.id), e.start, e.end)
            for e in self.events.values()
            if e.channel == channel and not e.deleted
        ]
        for s in self.series.values():
            if s.channel == channel and s.id != skip_series:
                length = timedelta(seconds=s.duration)
                found += [Booking(("occ", s.id, fmt(o)), o, o + length, s.id) for o in s.occurrences(until)]
        return found

    def overlapping(self, channel: int, start: datetime, end: datetime, bookings: list[Booking]) -> set[Key]:
        co = timedelta(seconds=self.changeovers[channel])
        return {b.key for b in bookings if start < b.end + co and b.start < end + co}

    def event_conflicts(
        self, channel: int, start: datetime, end: datetime, ignore: Key | None = None
    ) -> set[Key]:
        found = self.overlapping(channel, start, end, self.bookings(channel, end + timedelta(days=32)))
        return found - {ignore} if ignore else found

    def series_conflicts(
        self, candidate: Series, replaces: tuple[str, datetime] | None = None
    ) -> dict[Key, Key]:
        """Each booking the candidate would overlap, with one of its occurrences that does, by the API's
        rules: a bounded series over all of it; an endless one against every event, bounded series whole,
        and other endless series only with its occurrences of its first 365 days (from DTSTART)."""
        until = START + LOOKAHEAD
        own = candidate.occurrences(until)
        length = timedelta(seconds=candidate.duration)
        horizon_end = candidate.first() + HORIZON
        found: dict[Key, Key] = {}
        for booking in self.bookings(candidate.channel, until):
            slots = own
            if booking.series is not None:
                other = self.series[booking.series]
                if replaces and booking.series == replaces[0] and booking.start >= replaces[1]:
                    continue  # a split's own later occurrences give way to its successor
                if candidate.endless and other.endless:
                    slots = [o for o in own if o < horizon_end]  # the tick checks the rest
            for occ in slots:
                if self.overlapping(candidate.channel, occ, occ + length, [booking]):
                    found[booking.key] = ("occ", candidate.id, fmt(occ))
                    break
        return found

    def exempt(self, candidate: Series) -> set[str]:
        """The series a new endless one is checked against only for its first 365 days."""
        if not candidate.endless:
            return set()
        return {s.id for s in self.series.values() if s.channel == candidate.channel and s.endless}

    def accept(self, key: Key, others: set[Key]) -> None:
        self.accepted |= {frozenset({key, other}) for other in others}


class BookingMachine(RuleBasedStateMachine):
    """The API and the oracle, side by side."""

    api: Api
    services: Any
    clock: Clock

    events = Bundle("events")
    schedules = Bundle("schedules")

    def __init__(self) -> None:
        super().__init__()
        reset()
        self.channels: list[str] = []
        changeovers = [0, 600]
        for i, changeover in enumerate(changeovers):
            response = self.api.post(
                "/v1/channels", {"name": f"Room {i}", "timezone": ZONES[i], "changeover_seconds": changeover}
            )
            assert response.status_code == 201, response.data
            self.channels.append(response.data["id"])
        self.oracle = Oracle(changeovers)

    @property
    def now(self) -> datetime:
        return self.clock()

    def expect(self, response: Any, ok: bool, what: str) -> None:
        if ok:
            assert response.status_code in (200, 201, 204), (what, response.status_code, response.data)
        else:
            assert response.status_code == 409, (what, response.status_code, response.data)

    # -- one-off events -------------------------------------------------------------------------------

    @rule(
        target=events,
        channel=st.integers(0, 1),
        distance=DISTANCES,
        minutes=MINUTES,
        length=st.sampled_from([1800, 3600, 7200]),
        allow=st.booleans(),
    )
    def create_event(self, channel: int, distance: timedelta, minutes: int, length: int, allow: bool) -> Any:
        start = (self.now + distance).replace(minute=0, second=0) + timedelta(minutes=minutes)
        return self._create(channel, start, start + timedelta(seconds=length), allow)

    @precondition(lambda self: bool(self.oracle.series))
    @rule(target=events, data=st.data(), shift=st.sampled_from([-30, 0, 20, 55]), allow=st.booleans())
    def create_event_on_an_occurrence(self, data: st.DataObject, shift: int, allow: bool) -> Any:
        s = data.draw(st.sampled_from(list(self.oracle.series.values())))  # in creation order: ids vary
        occurrences = [o for o in s.occurrences(START + LOOKAHEAD) if o > self.now][:80]
        if not occurrences:
            return None
        occ = data.draw(st.sampled_from(occurrences))
        start = occ + timedelta(minutes=shift)
        return self._create(s.channel, start, start + timedelta(minutes=40), allow)

    def _create(self, channel: int, start: datetime, end: datetime, allow: bool) -> Any:
        conflicts = self.oracle.event_conflicts(channel, start, end)
        response = self.api.post(
            "/v1/events",
            {
                "title": "One-off",
                "channel_id": self.channels[channel],
                "start": fmt(start),
                "end": fmt(end),
                "allow_conflict": allow,
            },
        )
        self.expect(response, allow or not conflicts, f"create {fmt(start)} {sorted(conflicts)}")
        if response.status_code != 201:
            return None
        event = OneOff(response.data["id"], channel, start, end)
        self.oracle.events[event.id] = event
        self.oracle.accept(("evt", event.id), conflicts)
        return event.id

    @rule(event=events, minutes=st.sampled_from([-90, -20, -5, 5, 15, 60, 24 * 60]), allow=st.booleans())
    def move(self, event: str | None, minutes: int, allow: bool) -> None:
        self._change(event, timedelta(minutes=minutes), timedelta(minutes=minutes), allow, "move")

    @rule(event=events, minutes=st.sampled_from([10, 45, 120]), allow=st.booleans())
    def extend(self, event: str | None, minutes: int, allow: bool) -> None:
        self._change(event, timedelta(0), timedelta(minutes=minutes), allow, "extend")

    def _overlapping(self) -> list[str]:
        """Live events ahead that overlap something (an overlap accepted when they were written)."""
        return [
            e.id
            for e in self.oracle.events.values()
            if not e.deleted
            and e.start > self.now + timedelta(hours=1)
            and self.oracle.event_conflicts(e.channel, e.start, e.end, ("evt", e.id))
        ]

    @precondition(lambda self: bool(self._overlapping()))
    @rule(data=st.data(), minutes=st.sampled_from([-5, 5, 10]), extend=st.booleans())
    def nudge_an_overlapping_event(self, data: st.DataObject, minutes: int, extend: bool) -> None:
        """An accepted overlap never blocks a change that adds none (one that adds one is refused)."""
        event = data.draw(st.sampled_from(self._overlapping()))
        by = timedelta(minutes=abs(minutes) if extend else minutes)
        self._change(event, timedelta(0) if extend else by, by, False, "extend" if extend else "move")

    def _change(
        self, event_id: str | None, by_start: timedelta, by_end: timedelta, allow: bool, how: str
    ) -> None:
        if event_id is None or self.oracle.events[event_id].deleted:
            return
        event = self.oracle.events[event_id]
        start, end = event.start + by_start, event.end + by_end
        if start <= self.now:
            return
        key = ("evt", event_id)
        before = self.oracle.event_conflicts(event.channel, event.start, event.end, key)
        after = self.oracle.event_conflicts(event.channel, start, end, key)
        if how == "move":
            response = self.api.patch(
                f"/v1/events/{event_id}", {"start": fmt(start), "allow_conflict": allow}
            )
        else:
            seconds = int(by_end.total_seconds())
            response = self.api.post(
                f"/v1/events/{event_id}/actions",
                {"action": "extend", "seconds": seconds, "allow_conflict": allow},
            )
        self.expect(
            response, allow or after <= before, f"{how} {fmt(start)}-{fmt(end)} {sorted(after - before)}"
        )
        if response.status_code == 200:
            event.start, event.end = start, end
            self.oracle.accept(key, after)

    @rule(event=events)
    def delete(self, event: str | None) -> None:
        if event is None or self.oracle.events[event].deleted:
            return
        assert self.api.delete(f"/v1/events/{event}").status_code == 204
        self.oracle.events[event].deleted = True

    @rule(event=events, allow=st.booleans())
    def restore(self, event: str | None, allow: bool) -> None:
        if event is None or not self.oracle.events[event].deleted:
            return
        e = self.oracle.events[event]
        conflicts = self.oracle.event_conflicts(e.channel, e.start, e.end, ("evt", event))
        response = self.api.post(f"/v1/events/{event}/restore", {"allow_conflict": allow})
        self.expect(response, allow or not conflicts, f"restore {sorted(conflicts)}")
        if response.status_code == 200:
            e.deleted = False
            self.oracle.accept(("evt", event), conflicts)

    # -- series ---------------------------------------------------------------------------------------

    @rule(
        target=schedules,
        channel=st.integers(0, 1),
        zone=st.sampled_from(ZONES),
        distance=DISTANCES,
        at=st.sampled_from([time(9), time(9, 30), time(10), time(14, 15)]),
        duration=st.sampled_from([1800, 3000, 5400]),
        days=st.lists(st.integers(0, 6), min_size=1, max_size=2, unique=True),
        count=st.one_of(st.none(), st.integers(2, 60)),
        allow=st.booleans(),
    )
    def create_series(self, channel, zone, distance, at, duration, days, count, allow) -> Any:
        first_day = (self.now + distance + timedelta(days=1)).astimezone(ZoneInfo(zone)).date()
        candidate = Series("new", channel, zone, first_day, at, duration, tuple(sorted(days)), count)
        conflicts = self.oracle.series_conflicts(candidate)
        response = self.api.post(
            "/v1/schedules",
            {
                "title": "Series",
                "channel_id": self.channels[channel],
                "start": datetime.combine(first_day, at).isoformat(),
                "timezone": zone,
                "duration": duration,
                "recurrence": {
                    "frequency": "weekly",
                    "days": [DAYS[d] for d in sorted(days)],
                    "count": count,
                },
                "allow_conflict": allow,
            },
        )
        self.expect(response, allow or not conflicts, f"series {first_day} {sorted(conflicts)}")
        if response.status_code != 201:
            return None
        candidate.id = response.data["id"]
        candidate.horizon_exempt = self.oracle.exempt(candidate)
        self.oracle.series[candidate.id] = candidate
        self._accept_series(candidate, conflicts)
        return candidate.id

    def _accept_series(self, s: Series, conflicts: dict[Key, Key]) -> None:
        # Every occurrence of the series that overlaps an accepted booking is accepted with it.
        length = timedelta(seconds=s.duration)
        bookings = {b.key: b for b in self.oracle.bookings(s.channel, START + LOOKAHEAD)}
        for key in conflicts:
            booking = bookings.get(key)
            if booking is None:
                continue
            for occ in s.occurrences(START + LOOKAHEAD):
                if self.oracle.overlapping(s.channel, occ, occ + length, [booking]):
                    self.oracle.accept(("occ", s.id, fmt(occ)), {key})

    def _future(self, schedule: str | None, data: st.DataObject) -> tuple[Series, datetime] | None:
        if schedule is None or schedule not in self.oracle.series:
            return None
        s = self.oracle.series[schedule]
        ahead = [o for o in s.occurrences(START + LOOKAHEAD) if o > self.now + timedelta(hours=1)][:60]
        return (s, data.draw(st.sampled_from(ahead))) if ahead else None

    @rule(schedule=schedules, data=st.data())
    def skip(self, schedule: str | None, data: st.DataObject) -> None:
        found = self._future(schedule, data)
        if found is None:
            return
        s, occ = found
        from urllib.parse import quote

        response = self.api.delete(f"/v1/schedules/{s.id}/occurrences/{quote(fmt(occ), safe='')}")
        assert response.status_code == 204, response.data
        s.skipped.add(occ)

    @rule(
        schedule=consumes(schedules),
        data=st.data(),
        minutes=st.sampled_from([0, 45, -40, 120]),
        allow=st.booleans(),
    )
    def split(self, schedule: str | None, data: st.DataObject, minutes: int, allow: bool) -> None:
        found = self._future(schedule, data)
        if found is None:
            return
        s, at = found
        local = at.astimezone(ZoneInfo(s.zone))
        new_at = (datetime.combine(local.date(), s.at) + timedelta(minutes=minutes)).time()
        remaining = None if s.count is None else s.count - len(s.generated(at))
        successor = Series(
            "new",
            s.channel,
            s.zone,
            local.date(),
            new_at,
            s.duration,
            s.days,
            remaining,
            skipped={o for o in s.skipped if o >= at} if minutes == 0 else set(),
        )
        if successor.first() <= self.now or (remaining is not None and remaining < 1):
            return
        conflicts = self.oracle.series_conflicts(successor, replaces=(s.id, at))
        change = {"start": datetime.combine(local.date(), new_at).isoformat()}
        response = self.api.post(
            f"/v1/schedules/{s.id}/split", {"at": fmt(at), "changes": change, "allow_conflict": allow}
        )
        self.expect(response, allow or not conflicts, f"split at {fmt(at)} {sorted(conflicts)}")
        if response.status_code != 201:
            return
        s.ends_before = at
        s.skipped = {o for o in s.skipped if o < at}
        successor.id = response.data["id"]
        successor.horizon_exempt = self.oracle.exempt(successor)
        self.oracle.series[successor.id] = successor
        self._accept_series(successor, conflicts)

    # -- time passes ----------------------------------------------------------------------------------

    @rule(days=st.sampled_from([1, 9, 33]))
    def tick(self, days: int) -> None:
        self.clock.advance(days=days)
        result = self.services.materialiser.tick(self.now)
        assert result["failed"] == 0, result

    # -- the end of a run -----------------------------------------------------------------------------

    def teardown(self) -> None:
        """The API's bookings are the oracle's, and every overlap among them was accepted."""
        for channel in range(len(self.channels)):
            for start, end in self._windows(channel):
                # From now on only: an occurrence that ended before the materialiser reached it (the clock
                # jumped past it between ticks) is never made into an event, by design.
                if end > self.now:
                    self._compare(channel, max(start, self.now), end)
            self._only_accepted_overlaps(channel)

    def _windows(self, channel: int) -> list[tuple[datetime, datetime]]:
        points = [e.start for e in self.oracle.events.values() if e.channel == channel]
        for s in self.oracle.series.values():
            if s.channel == channel:
                occurrences = s.occurrences(START + LOOKAHEAD)
                points += occurrences[:2] + occurrences[-1:]
        windows: list[tuple[datetime, datetime]] = []
        for point in sorted(points):
            start = (point - timedelta(days=1)).replace(hour=0, minute=0, second=0)
            if windows and start <= windows[-1][1]:
                continue
            windows.append((start, start + timedelta(days=3)))
        return windows[:12]

    def _compare(self, channel: int, start: datetime, end: datetime) -> None:
        co = timedelta(seconds=self.oracle.changeovers[channel])
        response = self.api.get(
            f"/v1/channels/{self.channels[channel]}/availability?from={fmt(start)}&to={fmt(end)}"
        )
        assert response.status_code == 200, response.data
        api = set()
        for busy in response.data["busy"]:
            key: Key = (
                ("occ", busy["schedule_id"], busy["occurrence_start"])
                if busy["schedule_id"] and busy["occurrence_start"]
                else ("evt", busy["event_id"])
            )
            api.add((key, busy["start"], busy["end"]))
        expected = set()
        for b in self.oracle.bookings(channel, end + timedelta(days=1)):
            s, e = max(b.start - co, start), min(b.end + co, end)
            if s < e:
                expected.add((b.key, fmt(s), fmt(e)))
        assert api == expected, (channel, fmt(start), sorted(api ^ expected))

    def _only_accepted_overlaps(self, channel: int) -> None:
        bookings = self.oracle.bookings(channel, START + LOOKAHEAD)
        co = timedelta(seconds=self.oracle.changeovers[channel])
        bookings.sort(key=lambda b: b.start)
        for i, a in enumerate(bookings):
            for b in bookings[i + 1 :]:
                if b.start >= a.end + co:
                    break
                if frozenset({a.key, b.key}) in self.oracle.accepted:
                    continue
                if self._beyond_the_horizon(a, b):
                    continue  # two endless series past the later one's first year: the tick reports it
                raise AssertionError(f"unaccepted overlap on channel {channel}: {a} and {b}")

    def _beyond_the_horizon(self, a: Booking, b: Booking) -> bool:
        if not (a.series and b.series) or a.series == b.series:
            return False
        for later, earlier, occ in ((a.series, b.series, a.start), (b.series, a.series, b.start)):
            s = self.oracle.series[later]
            if earlier in s.horizon_exempt and occ >= s.first() + HORIZON:
                return True
        return False


def reset() -> None:
    """Empty the module's tables and build fresh services on them (a run starts from nothing)."""
    from chalicelib import bootstrap
    from chalicelib.config import Settings
    from tests.integration.conftest import empty_tables

    empty_tables(BookingMachine.tables)
    BookingMachine.clock.now = START
    built = bootstrap.build(Settings.from_env({"ONAIR_STAGE": "test"}), BookingMachine.clock)
    built.tenancy.bootstrap_operator(OPERATOR_KEY, START)
    bootstrap.override(built)
    BookingMachine.services = built


@pytest.mark.timeout(900)  # a few hundred API calls on moto; slow on a loaded machine
def test_no_double_booking_at_any_distance(moto_tables: dict[str, list[str]]) -> None:
    from chalice.test import Client

    from app import app
    from chalicelib import bootstrap

    randomly = os.environ.get("ONAIR_PROPERTY_RANDOM") == "1"
    examples = int(os.environ.get("ONAIR_PROPERTY_EXAMPLES", "20"))
    BookingMachine.tables = moto_tables
    BookingMachine.clock = Clock(START)
    try:
        with Client(app) as client:
            BookingMachine.api = Api(client.http, OPERATOR_KEY)
            run_state_machine_as_test(
                BookingMachine,
                settings=settings(
                    max_examples=examples,
                    stateful_step_count=14,
                    deadline=None,
                    derandomize=not randomly,
                    database=None,
                    suppress_health_check=list(HealthCheck),
                ),
            )
    finally:
        bootstrap.override(None)
