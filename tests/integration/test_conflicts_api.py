"""Booking integrity through the API: overlaps, changeover, kinds, suggestions, series, availability."""

from __future__ import annotations

import pytest

from tests.conftest import Api


def make_channel(api: Api, **extra) -> str:
    response = api.post("/v1/channels", {"name": "Studio", "timezone": "Europe/London", **extra})
    assert response.status_code == 201, response.data
    return response.data["id"]


def book(api: Api, ch: str, start: str, end: str, **extra):
    return api.post(
        "/v1/events",
        {"title": extra.pop("title", "Booking"), "channel_id": ch, "start": start, "end": end, **extra},
    )


DAY = "2027-03-02T"


@pytest.mark.parametrize(
    ("changeover", "start", "end", "expect", "kind"),
    [
        pytest.param(0, "11:00", "12:00", 201, None, id="back to back after: half-open intervals"),
        pytest.param(0, "09:00", "10:00", 201, None, id="back to back before"),
        pytest.param(0, "10:59:59", "12:00", 409, "partial", id="one second of overlap"),
        pytest.param(0, "10:00", "11:00", 409, "blocked", id="the same interval is wholly covered"),
        pytest.param(0, "10:15", "10:45", 409, "blocked", id="inside the other booking"),
        pytest.param(0, "09:00", "12:00", 409, "partial", id="around the other booking"),
        pytest.param(600, "11:05", "12:00", 409, "partial", id="inside the changeover after"),
        pytest.param(600, "09:00", "09:55", 409, "partial", id="inside the changeover before"),
        pytest.param(600, "11:10", "12:00", 201, None, id="exactly the changeover after"),
        pytest.param(600, "08:00", "09:50", 201, None, id="exactly the changeover before"),
    ],
)
def test_overlap_rules(api, changeover, start, end, expect, kind):
    ch = make_channel(api, changeover_seconds=changeover)
    existing = book(api, ch, f"{DAY}10:00:00Z", f"{DAY}11:00:00Z", title="Morning show").data
    start = start if start.count(":") == 2 else f"{start}:00"
    end = end if end.count(":") == 2 else f"{end}:00"
    response = book(api, ch, f"{DAY}{start}Z", f"{DAY}{end}Z")
    assert response.status_code == expect, response.data
    if kind:
        assert response.headers["Content-Type"] == "application/problem+json"
        assert response.data["conflicts"] == [
            {
                "event_id": existing["id"],
                "schedule_id": None,
                "title": "Morning show",
                "start": f"{DAY}10:00:00Z",
                "end": f"{DAY}11:00:00Z",
                "kind": kind,
            }
        ]
        assert len(api.get(f"/v1/events?channel_id={ch}").data["items"]) == 1, "nothing was booked"


def test_every_conflict_is_listed_and_the_suggestion_is_the_next_free_slot(api):
    ch = make_channel(api, changeover_seconds=300)
    for start, end in [("09:00", "10:00"), ("10:05", "11:00"), ("11:30", "12:00")]:
        assert book(api, ch, f"{DAY}{start}:00Z", f"{DAY}{end}:00Z").status_code == 201
    response = book(api, ch, f"{DAY}09:30:00Z", f"{DAY}10:30:00Z")
    assert response.status_code == 409
    assert [c["start"] for c in response.data["conflicts"]] == [f"{DAY}09:00:00Z", f"{DAY}10:05:00Z"]
    # An hour fits after 12:00 + 5 min changeover (11:05-11:25 is too short).
    assert response.data["suggestion"] == {"start": f"{DAY}12:05:00Z", "end": f"{DAY}13:05:00Z"}
    assert (
        book(
            api,
            ch,
            **{"start": response.data["suggestion"]["start"], "end": response.data["suggestion"]["end"]},
        ).status_code
        == 201
    )


def test_allow_conflict_books_anyway(api):
    ch = make_channel(api)
    book(api, ch, f"{DAY}10:00:00Z", f"{DAY}11:00:00Z")
    assert book(api, ch, f"{DAY}10:30:00Z", f"{DAY}11:30:00Z", allow_conflict=True).status_code == 201


@pytest.mark.parametrize("how", ["cancel by soft delete", "hard delete"])
def test_removed_bookings_free_their_slot(api, how):
    ch = make_channel(api)
    first = book(api, ch, f"{DAY}10:00:00Z", f"{DAY}11:00:00Z").data
    api.delete(f"/v1/events/{first['id']}" + ("?hard=true" if how == "hard delete" else ""))
    assert book(api, ch, f"{DAY}10:00:00Z", f"{DAY}11:00:00Z").status_code == 201


def test_moving_extending_and_restoring_are_checked(api):
    ch = make_channel(api)
    a = book(api, ch, f"{DAY}10:00:00Z", f"{DAY}11:00:00Z").data
    b = book(api, ch, f"{DAY}12:00:00Z", f"{DAY}13:00:00Z").data
    moved = api.patch(f"/v1/events/{b['id']}", {"start": f"{DAY}10:30:00Z"})
    assert moved.status_code == 409 and moved.data["conflicts"][0]["event_id"] == a["id"]
    extended = api.patch(f"/v1/events/{a['id']}", {"end": f"{DAY}12:30:00Z"})
    assert extended.status_code == 409
    assert api.patch(f"/v1/events/{a['id']}", {"end": f"{DAY}12:00:00Z"}).status_code == 200, (
        "touching is fine"
    )
    assert api.delete(f"/v1/events/{b['id']}").status_code == 204
    assert book(api, ch, f"{DAY}12:00:00Z", f"{DAY}13:00:00Z").status_code == 201
    restored = api.post(f"/v1/events/{b['id']}/restore")
    assert restored.status_code == 409, "its slot was taken while it was deleted"


def test_a_series_is_checked_per_occurrence_across_dst(api):
    ch = make_channel(api)
    # 09:00 London is 08:00Z after the clocks change on 2027-03-28.
    blocker = book(api, ch, "2027-03-29T07:30:00Z", "2027-03-29T08:30:00Z", title="Exam").data
    response = api.post(
        "/v1/schedules",
        {
            "title": "Lecture",
            "channel_id": ch,
            "start": "2027-03-22T09:00:00",
            "duration": 3600,
            "recurrence": {"frequency": "weekly", "days": ["MON"], "count": 4},
        },
    )
    assert response.status_code == 409, response.data
    assert response.data["conflicts"] == [
        {
            "event_id": blocker["id"],
            "schedule_id": None,
            "title": "Exam",
            "start": "2027-03-29T07:30:00Z",
            "end": "2027-03-29T08:30:00Z",
            "kind": "partial",
            "occurrence_start": "2027-03-29T08:00:00Z",
        }
    ]
    assert response.data["suggestion"] == {"start": "2027-03-29T08:30:00Z", "end": "2027-03-29T09:30:00Z"}
    assert api.get("/v1/schedules").data["items"] == []


def test_series_beyond_the_horizon_still_conflict_and_summaries_are_kept(api):
    ch = make_channel(api)
    weekly = {"frequency": "weekly", "days": ["TUE"]}
    first = api.post(
        "/v1/schedules",
        {
            "title": "A",
            "channel_id": ch,
            "start": "2027-09-07T10:00:00",
            "duration": 3600,
            "recurrence": weekly,
        },
    ).data
    clash = {
        "title": "B",
        "channel_id": ch,
        "start": "2027-09-07T10:30:00",
        "duration": 3600,
        "recurrence": weekly,
    }
    refused = api.post("/v1/schedules", clash)
    assert refused.status_code == 409, "A has no events yet (beyond the horizon) but its occurrences count"
    assert refused.data["conflicts"][0]["schedule_id"] == first["id"]
    allowed = api.post("/v1/schedules", {**clash, "allow_conflict": True})
    assert allowed.status_code == 201
    assert allowed.data["conflicting_schedule_ids"] == [first["id"]]
    assert allowed.data["blocked_schedule_ids"] == []
    assert api.get(f"/v1/schedules/{first['id']}").data["conflicting_schedule_ids"] == [allowed.data["id"]]
    inside = api.post(
        "/v1/schedules",
        {
            "title": "C",
            "channel_id": ch,
            "start": "2027-09-07T10:15:00",
            "duration": 600,
            "recurrence": weekly,
            "allow_conflict": True,
        },
    )
    assert first["id"] in inside.data["blocked_schedule_ids"], "A wholly contains every occurrence of C"


def test_a_far_occurrence_is_a_booking_and_materialising_keeps_the_accepted_overlap(api, services, clock):
    ch = make_channel(api)
    weekly = {"frequency": "weekly", "days": ["TUE"]}
    a = api.post(
        "/v1/schedules",
        {
            "title": "A",
            "channel_id": ch,
            "start": "2027-03-02T10:00:00",
            "duration": 3600,
            "recurrence": weekly,
        },
    ).data
    # A one-off booking far ahead, where A has no event yet: A's occurrence there is a booking all the same.
    refused = book(api, ch, "2027-05-04T09:00:00Z", "2027-05-04T12:00:00Z", title="Conference")
    assert refused.status_code == 409, refused.data
    assert refused.data["conflicts"] == [
        {
            "event_id": None,
            "schedule_id": a["id"],
            "title": "A",
            "start": "2027-05-04T09:00:00Z",
            "end": "2027-05-04T10:00:00Z",
            "kind": "partial",
            "occurrence_start": "2027-05-04T09:00:00Z",
        }
    ]
    far = book(
        api, ch, "2027-05-04T09:00:00Z", "2027-05-04T12:00:00Z", title="Conference", allow_conflict=True
    )
    assert far.status_code == 201
    clock.advance(days=40)
    services.materialiser.tick(clock())
    # The occurrence on 4 May became the event it already was; the overlap stays, marked on both sides.
    occurrence = [
        e
        for e in api.get(f"/v1/events?schedule_id={a['id']}&limit=500").data["items"]
        if e["start"].startswith("2027-05-04")
    ]
    assert [e["state"] for e in occurrence] == ["scheduled"]
    assert occurrence[0]["overlaps"] == [far.data["id"]]
    assert api.get(f"/v1/events/{far.data['id']}").data["overlaps"] == [occurrence[0]["id"]]


def test_availability_includes_the_changeover(api):
    ch = make_channel(api, changeover_seconds=600)
    booking = book(api, ch, f"{DAY}10:00:00Z", f"{DAY}11:00:00Z").data
    response = api.get(f"/v1/channels/{ch}/availability?from={DAY}08:00:00Z&to={DAY}12:00:00Z")
    assert response.status_code == 200, response.data
    assert response.data == {
        "busy": [
            {
                "start": f"{DAY}09:50:00Z",
                "end": f"{DAY}11:10:00Z",
                "event_id": booking["id"],
                "schedule_id": None,
                "occurrence_start": None,
            }
        ],
        "free": [
            {"start": f"{DAY}08:00:00Z", "end": f"{DAY}09:50:00Z"},
            {"start": f"{DAY}11:10:00Z", "end": f"{DAY}12:00:00Z"},
        ],
    }
    assert api.get(f"/v1/channels/{ch}/availability?from={DAY}12:00:00Z&to={DAY}08:00:00Z").status_code == 422


def test_preview_with_a_channel_shows_conflicts_per_occurrence(api):
    ch = make_channel(api)
    blocker = book(api, ch, "2027-03-09T09:00:00Z", "2027-03-09T10:00:00Z").data
    response = api.post(
        "/v1/recurrence/preview",
        {
            "start": "2027-03-02T09:00:00",
            "duration": 3600,
            "channel_id": ch,
            "recurrence": {"rrule": "FREQ=WEEKLY;COUNT=3"},
        },
    )
    assert response.status_code == 200, response.data
    conflicts = [[c["event_id"] for c in o["conflicts"]] for o in response.data["occurrences"]]
    assert conflicts == [[], [blocker["id"]], []]


def test_summaries_shrink_when_the_overlap_goes_away(api):
    ch = make_channel(api)
    weekly = {"frequency": "weekly", "days": ["TUE"]}
    a = api.post(
        "/v1/schedules",
        {
            "title": "A",
            "channel_id": ch,
            "start": "2027-03-02T10:00:00",
            "duration": 3600,
            "recurrence": weekly,
        },
    ).data
    b = api.post(
        "/v1/schedules",
        {
            "title": "B",
            "channel_id": ch,
            "start": "2027-03-02T10:30:00",
            "duration": 3600,
            "recurrence": weekly,
            "allow_conflict": True,
        },
    ).data
    assert b["conflicting_schedule_ids"] == [a["id"]]
    assert api.get(f"/v1/schedules/{a['id']}").data["conflicting_schedule_ids"] == [b["id"]]
    # B moves to the afternoon: no occurrence overlaps any more, on either side.
    moved = api.patch(f"/v1/schedules/{b['id']}", {"start": "2027-03-02T14:00:00"})
    assert moved.status_code == 200, moved.data
    assert moved.data["conflicting_schedule_ids"] == []
    assert api.get(f"/v1/schedules/{a['id']}").data["conflicting_schedule_ids"] == []


def test_cancelling_the_overlapping_events_clears_the_mark(api):
    ch = make_channel(api)
    a = api.post(
        "/v1/schedules",
        {
            "title": "A",
            "channel_id": ch,
            "start": "2027-03-02T10:00:00",
            "duration": 3600,
            "recurrence": {"frequency": "weekly", "count": 2},
        },
    ).data
    b = api.post(
        "/v1/schedules",
        {
            "title": "B",
            "channel_id": ch,
            "start": "2027-03-02T10:30:00",
            "duration": 600,
            "recurrence": {"frequency": "weekly", "count": 2},
            "allow_conflict": True,
        },
    ).data
    assert api.get(f"/v1/schedules/{a['id']}").data["conflicting_schedule_ids"] == [b["id"]]
    assert api.delete(f"/v1/schedules/{b['id']}").status_code == 204  # cancels B's future events
    assert api.get(f"/v1/schedules/{a['id']}").data["conflicting_schedule_ids"] == []
