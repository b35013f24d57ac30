"""Schedules end to end through the API on moto: materialisation, edits, exceptions, split, preview."""

from __future__ import annotations

import threading
from urllib.parse import quote

import pytest

from tests.conftest import Api

OPERATOR = {"type": "key", "id": "key_operator", "name": "operator"}


def channel(api: Api, **extra) -> str:
    return api.post("/v1/channels", {"name": "Room", "timezone": "Europe/London", **extra}).data["id"]


def events_of(api: Api, schedule_id: str, **filters) -> list[dict]:
    query = "&".join(f"{k}={v}" for k, v in {"schedule_id": schedule_id, "limit": 500, **filters}.items())
    return api.get(f"/v1/events?{query}").data["items"]


def weekly(api: Api, ch: str, **extra) -> dict:
    body = {
        "title": "Lecture",
        "channel_id": ch,
        "start": "2027-03-03T09:00:00",
        "duration": 3000,
        "recurrence": {"frequency": "weekly", "days": ["MON", "WED"]},
        **extra,
    }
    response = api.post("/v1/schedules", body)
    assert response.status_code == 201, response.data
    return response.data


# The clock fixture says 2027-03-01T08:00Z; the horizon is 30 days (until 2027-03-31T08:00Z).
# London moves to BST on 2027-03-28: 09:00 local is 09:00Z before and 08:00Z after.
FIRST_HORIZON = [
    "2027-03-03T09:00:00Z",
    "2027-03-08T09:00:00Z",
    "2027-03-10T09:00:00Z",
    "2027-03-15T09:00:00Z",
    "2027-03-17T09:00:00Z",
    "2027-03-22T09:00:00Z",
    "2027-03-24T09:00:00Z",
    "2027-03-29T08:00:00Z",
]


def test_creating_a_schedule_materialises_its_horizon_in_local_time(api):
    ch = channel(api)
    schedule = weekly(api, ch)
    assert schedule["status"] == "active"
    assert schedule["next_occurrence"] == "2027-03-03T09:00:00Z"
    assert schedule["timezone"] == "Europe/London", "defaults to the channel's zone"
    events = events_of(api, schedule["id"])
    assert [e["start"] for e in events] == FIRST_HORIZON
    assert all(e["schedule_id"] == schedule["id"] and e["occurrence_start"] == e["start"] for e in events)
    assert all(e["title"] == "Lecture" and e["duration"] == 3000 for e in events)


def test_materialiser_rolls_forward_and_never_duplicates(api, services, clock):
    schedule = weekly(api, channel(api))
    clock.advance(days=7)
    first = services.materialiser.tick(clock())
    second = services.materialiser.tick(clock())
    assert first["due"] >= 1 and first["created"] == 2, "Mar 31 and Apr 5 entered the horizon"
    assert second["created"] == 0, "nothing is due again until the next occurrence enters the horizon"
    starts = [e["start"] for e in events_of(api, schedule["id"])]
    assert starts == [*FIRST_HORIZON, "2027-03-31T08:00:00Z", "2027-04-05T08:00:00Z"]
    assert len(set(starts)) == len(starts)


def test_concurrent_materialiser_runs_create_each_event_once(api, services, clock):
    schedule = weekly(api, channel(api))
    clock.advance(days=21)
    threads = [threading.Thread(target=services.materialiser.tick, args=(clock(),)) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    starts = [e["start"] for e in events_of(api, schedule["id"])]
    assert len(starts) == len(set(starts)) == len(FIRST_HORIZON) + 6


def test_occurrences_show_events_and_states(api):
    schedule = weekly(api, channel(api))
    response = api.get(
        f"/v1/schedules/{schedule['id']}/occurrences?from=2027-03-01T00:00:00Z&to=2027-05-01T00:00:00Z"
    )
    items = response.data["items"]
    assert [i["occurrence_start"] for i in items[:8]] == FIRST_HORIZON
    assert all(i["event_id"] and i["state"] == "scheduled" for i in items[:8])
    assert items[8]["event_id"] is None and items[8]["state"] is None, "beyond the horizon: not materialised"
    assert not any(i["modified"] for i in items)


def test_this_occurrence_then_all_keeps_the_exception(api):
    schedule = weekly(api, channel(api))
    sid = schedule["id"]
    occ = quote("2027-03-08T09:00:00Z", safe="")
    moved = api.patch(
        f"/v1/schedules/{sid}/occurrences/{occ}", {"title": "Guest lecture", "start": "2027-03-08T13:00:00Z"}
    )
    assert moved.status_code == 200, moved.data
    assert moved.data["modified"] is True and moved.data["start"] == "2027-03-08T13:00:00Z"
    series = api.patch(f"/v1/schedules/{sid}", {"title": "Algorithms"})
    assert series.status_code == 200, series.data
    by_occurrence = {e["occurrence_start"]: e for e in events_of(api, sid)}
    assert by_occurrence["2027-03-08T09:00:00Z"]["title"] == "Guest lecture", "the exception is kept"
    assert by_occurrence["2027-03-08T09:00:00Z"]["start"] == "2027-03-08T13:00:00Z"
    others = [e for k, e in by_occurrence.items() if k != "2027-03-08T09:00:00Z"]
    assert others and all(e["title"] == "Algorithms" for e in others)


def test_skipping_an_occurrence_cancels_its_event_and_hides_it(api):
    schedule = weekly(api, channel(api))
    sid = schedule["id"]
    occ = quote("2027-03-10T09:00:00Z", safe="")
    assert api.delete(f"/v1/schedules/{sid}/occurrences/{occ}").status_code == 204
    items = api.get(f"/v1/schedules/{sid}/occurrences?to=2027-03-20T00:00:00Z").data["items"]
    assert "2027-03-10T09:00:00Z" not in [i["occurrence_start"] for i in items]
    skipped = [e for e in events_of(api, sid) if e["occurrence_start"] == "2027-03-10T09:00:00Z"]
    assert [e["state"] for e in skipped] == ["cancelled"]
    history = api.get(f"/v1/events/{skipped[0]['id']}/history").data["items"]
    assert [(h["from"], h["to"], h["actor"], h["reason"]) for h in history] == [
        ("scheduled", "cancelled", OPERATOR, "the occurrence was skipped")
    ], "the history names who skipped it, never the system"
    assert api.patch(f"/v1/schedules/{sid}", {"title": "Renamed"}).status_code == 200
    assert [e["state"] for e in events_of(api, sid) if e["occurrence_start"] == "2027-03-10T09:00:00Z"] == [
        "cancelled"
    ], "a series edit does not bring a skipped occurrence back"


def test_changing_the_rule_reconciles_events(api):
    schedule = weekly(api, channel(api))
    sid = schedule["id"]
    response = api.patch(f"/v1/schedules/{sid}", {"recurrence": {"frequency": "weekly", "days": ["WED"]}})
    assert response.status_code == 200, response.data
    live = [e["start"] for e in events_of(api, sid) if e["state"] == "scheduled"]
    cancelled = [e["start"] for e in events_of(api, sid) if e["state"] == "cancelled"]
    assert live == [
        "2027-03-03T09:00:00Z",
        "2027-03-10T09:00:00Z",
        "2027-03-17T09:00:00Z",
        "2027-03-24T09:00:00Z",
    ]
    assert cancelled == [
        "2027-03-08T09:00:00Z",
        "2027-03-15T09:00:00Z",
        "2027-03-22T09:00:00Z",
        "2027-03-29T08:00:00Z",
    ]


def test_split_this_and_following(api):
    schedule = weekly(
        api, channel(api), recurrence={"frequency": "weekly", "days": ["MON", "WED"], "count": 10}
    )
    sid = schedule["id"]
    response = api.post(
        f"/v1/schedules/{sid}/split", {"at": "2027-03-15T09:00:00Z", "changes": {"title": "Part two"}}
    )
    assert response.status_code == 201, response.data
    successor = response.data
    assert successor["title"] == "Part two" and successor["start"] == "2027-03-15T09:00:00"
    assert successor["recurrence"]["count"] == 7, "3 of 10 happened before the split"
    old = api.get(f"/v1/schedules/{sid}").data
    assert old["series_end"] == "2027-03-15T09:00:00Z"
    kept = [e["start"] for e in events_of(api, sid) if e["state"] == "scheduled"]
    assert kept == ["2027-03-03T09:00:00Z", "2027-03-08T09:00:00Z", "2027-03-10T09:00:00Z"]
    new = events_of(api, successor["id"])
    assert [e["start"] for e in new] == [
        "2027-03-15T09:00:00Z",
        "2027-03-17T09:00:00Z",
        "2027-03-22T09:00:00Z",
        "2027-03-24T09:00:00Z",
        "2027-03-29T08:00:00Z",
    ]
    assert all(e["title"] == "Part two" for e in new)
    all_occurrences = api.get(f"/v1/schedules/{successor['id']}/occurrences?limit=100").data["items"]
    assert len(all_occurrences) == 7


def test_deleting_a_schedule_cancels_future_events_and_keeps_past_ones(api, clock):
    schedule = weekly(api, channel(api))
    clock.advance(days=10)  # 2027-03-11T08:00Z: three occurrences are past
    assert api.delete(f"/v1/schedules/{schedule['id']}").status_code == 204
    assert api.get(f"/v1/schedules/{schedule['id']}").status_code == 404
    states = {e["start"]: e["state"] for e in events_of(api, schedule["id"])}
    assert [states[s] for s in FIRST_HORIZON[:3]] == ["scheduled"] * 3
    assert {states[s] for s in FIRST_HORIZON[3:]} == {"cancelled"}


def test_pausing_stops_materialising(api, services, clock):
    schedule = weekly(api, channel(api))
    assert api.patch(f"/v1/schedules/{schedule['id']}", {"active": False}).data["status"] == "paused"
    clock.advance(days=14)
    services.materialiser.tick(clock())
    assert len(events_of(api, schedule["id"])) == len(FIRST_HORIZON)


@pytest.mark.parametrize(
    ("change", "pointer"),
    [
        pytest.param({"start": "2027-02-01T09:00:00"}, "/start", id="a start in the past"),
        pytest.param({"timezone": "Mars/Olympus"}, "/timezone", id="a zone that does not exist"),
        pytest.param(
            {"recurrence": {"rrule": "FREQ=WEEKLY", "frequency": "weekly"}}, "/recurrence", id="both forms"
        ),
        pytest.param(
            {"recurrence": {"rrule": "FREQ=WEEKLY;COUNT=2;UNTIL=20270601"}},
            "/recurrence/rrule",
            id="COUNT with UNTIL",
        ),
        pytest.param(
            {"recurrence": {"frequency": "weekly", "days": ["MOONDAY"]}},
            "/recurrence/days/0",
            id="unknown day",
        ),
        pytest.param({"recurrence": {"rrule": "FREQ=SOMETIMES"}}, "/recurrence/rrule", id="bad RRULE"),
        pytest.param({"duration": 0}, "/duration", id="zero duration"),
        pytest.param({"channel_id": "ch_nope"}, "/channel_id", id="unknown channel"),
    ],
)
def test_invalid_schedules_are_422_with_a_pointer(api, change, pointer):
    ch = channel(api)
    body = {
        "title": "x",
        "channel_id": ch,
        "start": "2027-03-03T09:00:00",
        "duration": 60,
        "recurrence": {"frequency": "daily"},
        **change,
    }
    response = api.post("/v1/schedules", body)
    assert response.status_code == 422, response.data
    assert pointer in [e["pointer"] for e in response.data["errors"]]
    assert api.get("/v1/schedules").data["items"] == [], "nothing was created"


def test_preview_matches_rfc5545_in_new_york_and_truncates(api):
    # RFC 5545: every other week on Monday, Wednesday and Friday until 24 Dec 1997, from 1 Sep 1997.
    response = api.post(
        "/v1/recurrence/preview",
        {
            "start": "1997-09-01T09:00:00",
            "timezone": "America/New_York",
            "duration": 3600,
            "recurrence": {"rrule": "FREQ=WEEKLY;INTERVAL=2;UNTIL=19971224T000000Z;WKST=SU;BYDAY=MO,WE,FR"},
            "limit": 100,
        },
    )
    assert response.status_code == 200, response.data
    starts = [o["start"] for o in response.data["occurrences"]]
    assert len(starts) == 25 and response.data["truncated"] is False
    assert starts[:3] == ["1997-09-01T13:00:00Z", "1997-09-03T13:00:00Z", "1997-09-05T13:00:00Z"]
    assert starts[-1] == "1997-12-22T14:00:00Z", "EST after the October change"
    endless = api.post(
        "/v1/recurrence/preview",
        {
            "start": "2027-01-01T00:00:00Z",
            "duration": 60,
            "recurrence": {"rrule": "FREQ=MINUTELY"},
            "limit": 10000,
        },
    )
    assert len(endless.data["occurrences"]) == 10000 and endless.data["truncated"] is True
    assert api.get("/v1/schedules").data["items"] == [], "preview has no side effects"
