"""Term calendars over the API (moto): teaching weeks, closures previewed, applied as restorable skips and
restored, also when occurrences are events already or their slot was booked meanwhile."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bench.semester import TERM_START, semester, session_starts, slot
from tests.conftest import Api, Clock
from tests.integration.moto_app import app_on_moto

pytestmark = pytest.mark.timeout(600)

COURSES, ROOMS = 60, 20
LONDON = ZoneInfo("Europe/London")  # the calendar's zone: closures are its local dates


@dataclass
class Env:
    api: Api
    calendar: str
    rooms: dict[str, str]
    series: dict[int, str]  # course -> schedule id


@pytest.fixture(scope="module")
def env() -> Iterator[Env]:
    clock = Clock(datetime(2027, 3, 1, 8, tzinfo=UTC))
    with app_on_moto(clock) as (api, _):
        term = semester(COURSES, ROOMS, series=True)
        rooms = {r["name"]: api.post("/v1/channels", r).data["id"] for r in term.rooms}
        calendar = api.post("/v1/calendars", term.calendar).data["id"]
        made = api.post("/v1/imports", {"source": "term", "format": "json", "content": term.rows})
        results = api.get(f"/v1/imports/{made.data['id']}?limit=500").data["results"]
        assert [r["action"] for r in results] == ["create"] * COURSES, results[:2]
        series = {int(r["external_id"][1:]): r["schedule_id"] for r in results}
        yield Env(api, calendar, rooms, series)


def occurrence_starts(env: Env, schedule_id: str) -> list[str]:
    page = env.api.get(f"/v1/schedules/{schedule_id}/occurrences?from=2027-04-01T00:00:00Z&limit=100")
    assert page.status_code == 200, page.data
    return [o["occurrence_start"] for o in page.data["items"]]


def expected(day: datetime, rooms: set[int] | None = None) -> set[tuple[str, str]]:
    """(schedule, occurrence_start) of every course session on `day`'s local date (London closure, so
    a New York session is closed when its London time falls on that date: 9-16h NY is 14-21h London)."""
    found = set()
    for course in range(COURSES):
        room = slot(course, ROOMS)[0]
        if rooms is not None and room not in rooms:
            continue
        for start in session_starts(course, ROOMS):
            london = start.astimezone(LONDON)
            if london.date() == day.date():
                found.add((course, start.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")))
    return found


def affected(env: Env, body: dict[str, Any]) -> set[tuple[int, str]]:
    by_schedule = {v: k for k, v in env.series.items()}
    return {(by_schedule[item["schedule_id"]], item["occurrence_start"]) for item in body["affected"]}


def test_a_closures_preview_lists_exactly_the_sessions_it_closes_and_changes_nothing(env: Env) -> None:
    bank_holiday = {"name": "May Day", "start": "2027-05-03", "end": "2027-05-03"}
    before = occurrence_starts(env, env.series[0])
    preview = env.api.post(f"/v1/calendars/{env.calendar}/closures?dry_run=true", bank_holiday)
    assert preview.status_code == 200 and preview.data["dry_run"] is True
    want = expected(datetime(2027, 5, 3))
    assert want and affected(env, preview.data) == want, "every Monday course, once, and nothing else"
    assert preview.data["counts"]["affected"] == len(want) and preview.data["schedules"] == COURSES
    assert occurrence_starts(env, env.series[0]) == before
    assert env.api.get(f"/v1/calendars/{env.calendar}").data["closures"] == []


def test_a_closure_skips_its_sessions_and_removing_it_restores_them(env: Env) -> None:
    applied = env.api.post(
        f"/v1/calendars/{env.calendar}/closures",
        {"name": "May Day", "start": "2027-05-03", "end": "2027-05-03"},
    )
    assert applied.status_code == 201, applied.data
    closure = applied.data["closure"]["id"]
    want = expected(datetime(2027, 5, 3))
    assert affected(env, applied.data) == want
    monday = env.series[0]  # Course 0000: Room 0 (London), Mondays 09:00
    assert "2027-05-03T08:00:00Z" not in occurrence_starts(env, monday)
    exceptions = env.api.get(f"/v1/schedules/{monday}").data["exceptions"]
    assert exceptions == [
        {
            "occurrence_start": "2027-05-03T08:00:00Z",
            "skipped": True,
            "modified": False,
            "event_id": None,
            "closure_id": closure,
        }
    ]
    removed = env.api.delete(f"/v1/calendars/{env.calendar}/closures/{closure}")
    assert removed.status_code == 200, removed.data
    assert {(item["schedule_id"], item["occurrence_start"]) for item in removed.data["restored"]} == {
        (env.series[c], at) for c, at in want
    }
    assert removed.data["not_restored"] == []
    assert "2027-05-03T08:00:00Z" in occurrence_starts(env, monday)
    assert env.api.get(f"/v1/schedules/{monday}").data["exceptions"] == []


def test_a_closure_of_some_rooms_leaves_the_others(env: Env) -> None:
    rooms = {0, 1}
    body = {"name": "Rooms 0 and 1 closed", "start": "2027-04-12", "end": "2027-04-18",
            "channel_ids": [env.rooms["Room 0"], env.rooms["Room 1"]]}  # fmt: skip
    preview = env.api.post(f"/v1/calendars/{env.calendar}/closures?dry_run=true", body)
    want = set().union(*(expected(datetime(2027, 4, d), rooms) for d in range(12, 17)))
    assert affected(env, preview.data) == want and len(want) == 6, "courses 0, 1, 20, 21, 40, 41"


def test_an_occurrence_booked_over_while_closed_is_not_restored(env: Env) -> None:
    closure = env.api.post(
        f"/v1/calendars/{env.calendar}/closures",
        {"name": "Closed", "start": "2027-05-17", "end": "2027-05-17"},
    ).data["closure"]["id"]
    exam = env.api.post(
        "/v1/events",
        {
            "title": "Exam",
            "channel_id": env.rooms["Room 0"],
            "start": "2027-05-17T08:00:00Z",
            "duration": 7200,
        },
    )
    assert exam.status_code == 201, "the slot is free while the room is closed"
    removed = env.api.delete(f"/v1/calendars/{env.calendar}/closures/{closure}").data
    (kept,) = removed["not_restored"]
    assert (kept["schedule_id"], kept["occurrence_start"]) == (env.series[0], "2027-05-17T08:00:00Z")
    assert kept["conflicts"][0]["event_id"] == exam.data["id"]
    assert removed["counts"]["restored"] == len(expected(datetime(2027, 5, 17))) - 1
    assert "2027-05-17T08:00:00Z" not in occurrence_starts(env, env.series[0]), "it stays skipped"
    skip = next(e for e in env.api.get(f"/v1/schedules/{env.series[0]}").data["exceptions"])
    assert skip["skipped"] is True and skip["closure_id"] is None, "now a plain skip, for a person to decide"


def test_closed_occurrences_that_are_events_are_soft_deleted_and_come_back(env: Env) -> None:
    spring = env.api.post(
        "/v1/calendars",
        {
            "name": "Short course",
            "timezone": "Europe/London",
            "terms": [{"name": "March", "start": "2027-03-08", "weeks": 2}],
        },
    ).data["id"]
    body = {"title": "Daily stand-up", "channel_id": env.rooms["Room 19"], "start": "2027-03-08T07:00:00"}
    body |= {"duration": 900, "recurrence": {"frequency": "daily"}, "calendar_id": spring}
    daily = env.api.post("/v1/schedules", body)
    assert daily.status_code == 201, daily.data
    schedule = daily.data["id"]
    items = env.api.get(f"/v1/schedules/{schedule}/occurrences?from=2027-03-01T00:00:00Z").data["items"]
    assert len(items) == 14 and all(i["event_id"] for i in items), "two weeks, within the horizon: events"
    closed = env.api.post(
        f"/v1/calendars/{spring}/closures", {"name": "Off", "start": "2027-03-10", "end": "2027-03-11"}
    )
    (first, second) = closed.data["affected"]
    assert first["event_id"] and env.api.get(f"/v1/events/{first['event_id']}").data["deleted_at"] is not None
    reopened = env.api.delete(f"/v1/calendars/{spring}/closures/{closed.data['closure']['id']}").data
    assert {i["event_id"] for i in reopened["restored"]} == {first["event_id"], second["event_id"]}
    assert env.api.get(f"/v1/events/{second['event_id']}").data["deleted_at"] is None
    # Each change is audited once, as the key that made it: the calendar, the series, each event.
    key = {"type": "key", "id": "key_operator", "name": "operator"}

    def trail(resource_id: str) -> list[str]:  # the clock stands still: the order within a second is open
        items = env.api.get(f"/v1/audit?resource_id={resource_id}").data["items"]
        assert all(i["actor"] == key for i in items), items
        return sorted(i["action"] for i in items)

    assert trail(spring) == ["created", "updated", "updated"], "made, closed, reopened"
    assert trail(first["event_id"]) == ["created", "deleted", "restored"]
    assert trail(schedule).count("updated") == 2, "closed, then reopened"


def test_new_terms_move_the_series_weeks_and_a_dry_run_says_how(env: Env) -> None:
    later = {"terms": [{"name": "Summer term", "start": "2027-04-12", "weeks": 12}]}  # a week later
    preview = env.api.patch(f"/v1/calendars/{env.calendar}?dry_run=true", later)
    assert preview.status_code == 200, preview.data
    impact = preview.data["impact"]
    assert impact["dry_run"] is True and impact["schedules"] == COURSES

    def of(kind: str) -> set[str]:  # Course 0005: Room 5 (New York), Mondays 09:00 EDT
        return {i["occurrence_start"] for i in impact[kind] if i["schedule_id"] == env.series[5]}

    # Week 1 (5 April) is no longer taught and the reading week moves from 10 to 17 May.
    assert of("removed") == {"2027-04-05T13:00:00Z", "2027-05-17T13:00:00Z"}
    assert of("added") == {"2027-05-10T13:00:00Z", "2027-06-28T13:00:00Z"}
    assert env.api.get(f"/v1/calendars/{env.calendar}").data["terms"][0]["start"] == TERM_START.isoformat()


@pytest.mark.parametrize(
    "body, pointer",
    [
        ({"name": "x", "terms": [{"name": "t", "start": "2027-04-05", "weeks": 0}]}, "/terms/0/weeks"),
        ({"name": "x", "timezone": "Nowhere/Town"}, "/timezone"),
        (
            {"name": "x", "closures": [{"name": "c", "start": "2027-04-05", "end": "2027-04-01"}]},
            "/closures/0/end",
        ),
        ({"name": "x", "holidays": []}, "/holidays"),
    ],
)
def test_a_calendar_that_cannot_be_is_a_422(env: Env, body: dict[str, Any], pointer: str) -> None:
    response = env.api.post("/v1/calendars", body)
    assert response.status_code == 422 and pointer in [e["pointer"] for e in response.data["errors"]], (
        response.data
    )


def test_schedules_name_real_calendars_and_weeks_they_have(env: Env) -> None:
    base = {"title": "x", "channel_id": env.rooms["Room 5"], "start": "2027-04-05T18:00:00", "duration": 600,
            "recurrence": {"frequency": "weekly"}}  # fmt: skip
    unknown = env.api.post("/v1/schedules", {**base, "calendar_id": "cal_nope"})
    assert unknown.status_code == 422 and unknown.data["errors"][0]["pointer"] == "/calendar_id"
    too_far = env.api.post("/v1/schedules", {**base, "calendar_id": env.calendar, "weeks": "10-14"})
    assert too_far.status_code == 422 and too_far.data["errors"] == [
        {"pointer": "/weeks", "detail": "the calendar has teaching weeks 1-12; 10-14 is not"}
    ]
    shorter = env.api.patch(
        f"/v1/calendars/{env.calendar}", {"terms": [{"name": "t", "start": "2027-04-05", "weeks": 4}]}
    )
    assert shorter.status_code == 422, "schedules use weeks 7-12"
    assert "/terms" in [e["pointer"] for e in shorter.data["errors"]]


def test_a_calendar_that_schedules_follow_cannot_be_deleted(env: Env) -> None:
    refused = env.api.delete(f"/v1/calendars/{env.calendar}")
    assert refused.status_code == 409 and len(refused.data["schedule_ids"]) == COURSES
    spare = env.api.post("/v1/calendars", {"name": "Spare"}).data["id"]
    assert env.api.delete(f"/v1/calendars/{spare}").status_code == 204
    assert env.api.get(f"/v1/calendars/{spare}").status_code == 404
    assert env.api.delete(f"/v1/calendars/{env.calendar}/closures/clo_nope").status_code == 404
