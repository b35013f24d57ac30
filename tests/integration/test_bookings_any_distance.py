"""No double booking at any distance: series occurrences are bookings from tomorrow to years ahead.

One test per finding of the issue "No double booking at any distance", through the API on moto. The clock
fixture says 2027-03-01T08:00Z; the materialisation horizon is 30 days and the conflict horizon 365.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest

from tests.conftest import Api


def channel(api: Api, **extra: Any) -> str:
    response = api.post("/v1/channels", {"name": "Lecture theatre", "timezone": "Europe/London", **extra})
    assert response.status_code == 201, response.data
    return response.data["id"]


def series(api: Api, ch: str, start: str, recurrence: dict[str, Any], **extra: Any) -> Any:
    body = {"title": extra.pop("title", "Lecture"), "channel_id": ch, "start": start, "duration": 3600}
    return api.post("/v1/schedules", {**body, "recurrence": recurrence, **extra})


def event(api: Api, ch: str, start: str, end: str, **extra: Any) -> Any:
    body = {"title": extra.pop("title", "One-off"), "channel_id": ch, "start": start, "end": end}
    return api.post("/v1/events", {**body, **extra})


MONDAYS = {"frequency": "weekly", "days": ["MON"]}


# -- bookings in the window, at any distance ----------------------------------------------------------


def test_a_one_off_event_on_an_occurrence_ten_weeks_ahead_is_refused_and_availability_shows_it(api):
    ch = channel(api)
    lectures = series(api, ch, "2027-03-08T09:00:00", MONDAYS).data
    # Ten weeks on: 17 May, 09:00 BST = 08:00Z, far past the 30-day materialisation horizon.
    clash = event(api, ch, "2027-05-17T08:30:00Z", "2027-05-17T09:30:00Z")
    assert clash.status_code == 409, clash.data
    assert clash.data["conflicts"] == [
        {
            "event_id": None,
            "schedule_id": lectures["id"],
            "title": "Lecture",
            "start": "2027-05-17T08:00:00Z",
            "end": "2027-05-17T09:00:00Z",
            "kind": "partial",
            "occurrence_start": "2027-05-17T08:00:00Z",
        }
    ]
    assert clash.data["suggestion"]["start"] == "2027-05-17T09:00:00Z", "the suggestion skips the occurrence"
    day = api.get(f"/v1/channels/{ch}/availability?from=2027-05-17T00:00:00Z&to=2027-05-18T00:00:00Z").data
    assert day["busy"] == [
        {
            "start": "2027-05-17T08:00:00Z",
            "end": "2027-05-17T09:00:00Z",
            "event_id": None,
            "schedule_id": lectures["id"],
            "occurrence_start": "2027-05-17T08:00:00Z",
        }
    ]


def test_bookings_years_ahead_are_checked_and_the_same_schedule_twice_is_refused(api):
    ch = channel(api)
    body = {"frequency": "weekly", "days": ["MON", "WED"], "count": 20}
    first = series(api, ch, "2030-01-07T09:00:00", body)
    assert first.status_code == 201, first.data
    again = series(api, ch, "2030-01-07T09:00:00", body)
    assert again.status_code == 409, "the identical 2030 schedule overlaps every occurrence of the first"
    assert len(again.data["conflicts"]) == 20
    lecture = event(api, ch, "2030-01-07T09:00:00Z", "2030-01-07T09:50:00Z")
    assert lecture.status_code == 409, "a one-off three years ahead meets the series' occurrence"


def test_an_endless_series_is_checked_against_every_event_however_far_ahead(api):
    ch = channel(api)
    far = event(api, ch, "2032-03-01T09:30:00Z", "2032-03-01T10:30:00Z", title="Graduation").data
    refused = series(api, ch, "2027-03-08T09:00:00", MONDAYS)
    assert refused.status_code == 409, "five years ahead, the endless Monday series meets the event"
    assert [(c["event_id"], c["occurrence_start"]) for c in refused.data["conflicts"]] == [
        (far["id"], "2032-03-01T09:00:00Z")
    ]


def test_a_bounded_series_is_checked_over_all_its_occurrences_and_capped(api):
    ch = channel(api)
    # Occurrence 60 of a weekly series from 8 March 2027 is on 24 April 2028, beyond 365 days.
    blocker = event(api, ch, "2028-04-24T08:30:00Z", "2028-04-24T09:30:00Z").data
    refused = series(api, ch, "2027-03-08T09:00:00", {**MONDAYS, "count": 60})
    assert refused.status_code == 409, refused.data
    assert [c["event_id"] for c in refused.data["conflicts"]] == [blocker["id"]]
    too_many = series(api, ch, "2027-03-08T09:00:00", {"frequency": "daily", "count": 6000}, duration=600)
    assert too_many.status_code == 422
    assert too_many.data["errors"][0]["pointer"] == "/recurrence"


def test_an_endless_series_meets_a_bounded_one_beyond_the_conflict_horizon(api):
    ch = channel(api)
    # A bounded series that starts two years ahead: all of its occurrences are bookings.
    later = series(api, ch, "2029-03-05T09:00:00", {**MONDAYS, "count": 3}, title="Later").data
    refused = series(api, ch, "2027-03-08T09:00:00", MONDAYS)
    assert refused.status_code == 409
    assert {c["schedule_id"] for c in refused.data["conflicts"]} == {later["id"]}


def test_a_rule_whose_occurrences_overlap_each_other_is_refused(api):
    ch = channel(api)
    hourly = api.post(
        "/v1/schedules",
        {
            "title": "Marathon",
            "channel_id": ch,
            "start": "2027-03-08T09:00:00",
            "duration": 7200,
            "recurrence": {"rrule": "FREQ=HOURLY;COUNT=5"},
        },
    )
    assert hourly.status_code == 422, hourly.data
    (error,) = hourly.data["errors"]
    assert error["pointer"] == "/recurrence"
    assert "2027-03-08T09:00:00Z and 2027-03-08T10:00:00Z overlap" in error["detail"]
    # The channel's changeover counts: 50-minute lectures every hour need at most 10 minutes of it.
    tight = channel(api, changeover_seconds=900)
    body = {"rrule": "FREQ=HOURLY;COUNT=3"}
    assert series(api, tight, "2027-03-08T09:00:00", body, duration=3000).status_code == 422
    assert series(api, ch, "2027-03-08T09:00:00", body, duration=3000).status_code == 201


# -- accepted overlaps stay accepted -------------------------------------------------------------------


def test_an_accepted_overlap_never_blocks_a_change_that_adds_none(api):
    ch = channel(api)
    a = event(api, ch, "2027-03-10T10:00:00Z", "2027-03-10T11:00:00Z", title="A").data
    b = event(api, ch, "2027-03-10T10:30:00Z", "2027-03-10T11:30:00Z", title="B", allow_conflict=True).data
    assert b["overlaps"] == [a["id"]]
    assert api.get(f"/v1/events/{a['id']}").data["overlaps"] == [b["id"]], "marked on both sides"
    renamed = api.patch(f"/v1/events/{b['id']}", {"title": "B (renamed)"})
    assert renamed.status_code == 200, renamed.data
    longer = api.post(f"/v1/events/{b['id']}/actions", {"action": "extend", "seconds": 600})
    assert longer.status_code == 200, "still overlapping only A: no new overlap"
    moved = api.patch(f"/v1/events/{b['id']}", {"start": "2027-03-10T10:15:00Z"})
    assert moved.status_code == 200, moved.data
    c = event(api, ch, "2027-03-10T12:00:00Z", "2027-03-10T13:00:00Z", title="C").data
    reaching = api.post(f"/v1/events/{b['id']}/actions", {"action": "extend", "seconds": 3600})
    assert reaching.status_code == 409, "now it would reach C as well"
    assert [x["event_id"] for x in reaching.data["conflicts"]] == [c["id"]]
    # Moving away drops the overlap, and the mark on both sides.
    away = api.patch(f"/v1/events/{b['id']}", {"start": "2027-03-10T14:00:00Z"})
    assert away.status_code == 200 and away.data["overlaps"] == []
    assert api.get(f"/v1/events/{a['id']}").data["overlaps"] == []


def test_extend_keeps_the_31_day_limit(api):
    ch = channel(api)
    long = event(api, ch, "2027-03-10T00:00:00Z", "2027-04-09T00:00:00Z").data  # 30 days
    refused = api.post(f"/v1/events/{long['id']}/actions", {"action": "extend", "seconds": 2 * 86400})
    assert refused.status_code == 422
    assert refused.data["errors"][0]["pointer"] == "/seconds"


def occurrence_path(schedule_id: str, start: str) -> str:
    return f"/v1/schedules/{schedule_id}/occurrences/{quote(start, safe='')}"


# Each row: a change that adds an overlap with the 10:00-11:00 booking on 10 March, made through one of
# the routes that can change a booking. Without `allow_conflict` it is a 409 and changes nothing; with
# it, it is written.
WAYS: list[Any] = [
    pytest.param("create", id="create"),
    pytest.param("patch", id="PATCH"),
    pytest.param("put_external", id="PUT external"),
    pytest.param("clone", id="clone"),
    pytest.param("restore", id="restore"),
    pytest.param("occurrence", id="occurrence PATCH"),
    pytest.param("split", id="split"),
    pytest.param("extend", id="extend"),
]


def attempt(api: Api, ch: str, way: str, allow: bool) -> Any:
    flag = {"allow_conflict": True} if allow else {}
    if way == "create":
        return event(api, ch, "2027-03-10T10:30:00Z", "2027-03-10T11:30:00Z", **flag)
    if way == "patch":
        mine = event(api, ch, "2027-03-10T12:00:00Z", "2027-03-10T13:00:00Z").data
        return api.patch(f"/v1/events/{mine['id']}", {"start": "2027-03-10T10:30:00Z", **flag})
    if way == "put_external":
        body = {"title": "Sync", "channel_id": ch, "start": "2027-03-10T10:30:00Z", "duration": 1800}
        return api.put("/v1/events/external/tt-1", {**body, **flag})
    if way == "clone":
        mine = event(api, ch, "2027-03-10T12:00:00Z", "2027-03-10T13:00:00Z").data
        return api.post(f"/v1/events/{mine['id']}/clone", {"start": "2027-03-10T10:30:00Z", **flag})
    if way == "restore":
        # An overlap accepted once, then deleted: restoring books the slot afresh, so it is checked again.
        mine = event(api, ch, "2027-03-10T10:30:00Z", "2027-03-10T11:30:00Z", allow_conflict=True).data
        api.delete(f"/v1/events/{mine['id']}")
        return api.post(f"/v1/events/{mine['id']}/restore", flag or None)
    if way == "occurrence":
        sch = series(api, ch, "2027-03-09T10:00:00", {**MONDAYS, "days": ["TUE"], "count": 2}).data
        path = occurrence_path(sch["id"], "2027-03-09T10:00:00Z")
        return api.patch(path, {"start": "2027-03-10T10:30:00Z", **flag})
    if way == "split":
        weekly = {"frequency": "weekly", "days": ["WED"], "count": 3}
        sch = series(api, ch, "2027-03-03T12:00:00", weekly).data
        body = {"at": "2027-03-10T12:00:00Z", "changes": {"start": "2027-03-10T10:30:00"}, **flag}
        return api.post(f"/v1/schedules/{sch['id']}/split", body)
    mine = event(api, ch, "2027-03-10T09:00:00Z", "2027-03-10T10:00:00Z").data
    return api.post(f"/v1/events/{mine['id']}/actions", {"action": "extend", "seconds": 1800, **flag})


@pytest.mark.parametrize("way", WAYS)
def test_allow_conflict_is_accepted_wherever_a_booking_can_change(api, way):
    ch = channel(api)
    taken = event(api, ch, "2027-03-10T10:00:00Z", "2027-03-10T11:00:00Z", title="Taken").data
    refused = attempt(api, ch, way, allow=False)
    assert refused.status_code == 409, (way, refused.data)
    assert taken["id"] in [c["event_id"] for c in refused.data["conflicts"]]
    other = channel(api)
    event(api, other, "2027-03-10T10:00:00Z", "2027-03-10T11:00:00Z", title="Taken")
    allowed = attempt(api, other, way, allow=True)
    assert allowed.status_code in (200, 201), (way, allowed.data)


# -- the materialiser ----------------------------------------------------------------------------------


def test_extending_the_horizon_never_touches_what_exists(api, services, clock):
    """Occurrences an hour before and three minutes after the horizon's end, then ticks, some racing."""
    import threading
    from datetime import timedelta

    ch = channel(api, timezone="UTC")
    horizon_end = clock() + timedelta(days=30)  # 2027-03-31T08:00Z
    body = {
        "title": "Edge",
        "channel_id": ch,
        "start": "2027-03-31T07:00:00",
        "duration": 120,
        "recurrence": {"rrule": "FREQ=DAILY;BYHOUR=7,8;BYMINUTE=0,3;COUNT=40"},
    }
    created = api.post("/v1/schedules", body)
    assert created.status_code == 201, created.data
    sid = created.data["id"]
    before = {e["id"]: e for e in api.get(f"/v1/events?schedule_id={sid}&limit=500").data["items"]}
    assert [e["start"] for e in before.values()] == ["2027-03-31T07:00:00Z", "2027-03-31T07:03:00Z"]
    assert all(e["start"] < horizon_end.strftime("%Y-%m-%dT%H:%M:%SZ") for e in before.values())
    for step in range(1, 4):
        clock.advance(hours=step * 7)
        threads = [threading.Thread(target=services.materialiser.tick, args=(clock(),)) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    after = {e["id"]: e for e in api.get(f"/v1/events?schedule_id={sid}&limit=500").data["items"]}
    assert {e["state"] for e in after.values()} == {"scheduled"}, "nothing the series still has is cancelled"
    for event_id, old in before.items():
        assert after[event_id] == old, "existing events are not rewritten"
    starts = sorted(e["start"] for e in after.values())
    assert len(starts) == len(set(starts)), "each occurrence is one event"
    assert starts[:4] == [
        "2027-03-31T07:00:00Z",
        "2027-03-31T07:03:00Z",
        "2027-03-31T08:00:00Z",
        "2027-03-31T08:03:00Z",
    ]


def test_the_tick_finds_and_announces_endless_series_meeting_beyond_the_horizon(api, services, clock, bus):
    ch = channel(api, timezone="UTC")
    yearly = series(api, ch, "2028-06-01T10:00:00", {"rrule": "FREQ=YEARLY"}, title="Open day").data
    monthly = series(api, ch, "2027-04-01T10:00:00", {"rrule": "FREQ=MONTHLY"}, title="Monthly")
    assert monthly.status_code == 201, "within its first 365 days the monthly series meets nothing"
    monthly = monthly.data
    assert monthly["conflicting_schedule_ids"] == []
    bus()
    clock.advance(days=96)  # 2027-06-05: the conflict horizon now reaches 1 June 2028
    services.materialiser.tick(clock())
    assert api.get(f"/v1/schedules/{monthly['id']}").data["conflicting_schedule_ids"] == [yearly["id"]]
    assert api.get(f"/v1/schedules/{yearly['id']}").data["conflicting_schedule_ids"] == [monthly["id"]]
    detected = [n for n in bus() if n["detail-type"] == "Conflict Detected"]
    assert len(detected) == 1
    assert detected[0]["schedule_id"] == monthly["id"]
    assert [c["schedule_id"] for c in detected[0]["conflicts"]] == [yearly["id"]]
    services.materialiser.tick(clock())
    assert [n for n in bus() if n["detail-type"] == "Conflict Detected"] == [], "announced once"


def test_a_schedule_that_cannot_be_materialised_says_so(api, services, clock, bus):
    ch = channel(api)
    sch = series(api, ch, "2027-05-03T09:00:00", MONDAYS).data
    # The channel vanishes under the series (as a hand-edited table would have it).
    from chalicelib.adapters import keys as k

    services.schedules.store.table.delete(k.collection("default", "CHANNEL"), ch)
    clock.advance(days=40)
    bus()
    result = services.materialiser.tick(clock())
    assert result["failed"] == 1
    shown = api.get(f"/v1/schedules/{sch['id']}").data
    assert shown["status"] == "failing" and "channel" in shown["failure"]["reason"]
    failed = [n for n in bus() if n["detail-type"] == "Schedule Failed"]
    assert [n["id"] for n in failed] == [sch["id"]]
    services.materialiser.tick(clock())
    assert [n for n in bus() if n["detail-type"] == "Schedule Failed"] == [], "said once, not every tick"


def test_a_dense_series_is_materialised_in_batches_and_every_occurrence_stays_a_booking(api, services, clock):
    """Creating a series makes a few dozen events at once; the tick makes the rest, a batch at a time."""
    from chalicelib.services.materialiser import INLINE_BATCH, TICK_BATCH

    ch = channel(api, timezone="UTC")
    rule = {"rrule": "FREQ=DAILY;BYHOUR=8,10,12,14,16,18"}  # 6 a day
    created = series(api, ch, "2027-03-02T08:00:00", rule, duration=900)
    assert created.status_code == 201, created.data
    sid = created.data["id"]

    assert len(api.get(f"/v1/events?schedule_id={sid}&limit=500").data["items"]) == INLINE_BATCH
    # Far inside the horizon, not yet an event: still a booking.
    assert event(api, ch, "2027-03-28T12:05:00Z", "2027-03-28T12:10:00Z").status_code == 409
    ticks = 0
    while services.materialiser.tick(clock())["created"]:
        ticks += 1
    expected = 6 * 29  # 2 March 08:00 to 31 March 08:00 (the horizon's end, exclusive)
    assert len(api.get(f"/v1/events?schedule_id={sid}&limit=500").data["items"]) == expected
    assert ticks == -(-(expected - INLINE_BATCH) // TICK_BATCH), "each tick made one batch"
    assert event(api, ch, "2027-03-28T12:05:00Z", "2027-03-28T12:10:00Z").status_code == 409
