"""Every change announced exactly once, and audited: a scripted day with a queue subscribed to the bus.

One-off events, a series, edits, a skip, a split, an automated run and the deletion of a live event; then
every notification is checked (one per change, with the right detail and actor), and so is the audit
trail of the same day. A second test walks every write route and finds its audit item.
"""

from __future__ import annotations

from collections import Counter
from typing import Any
from urllib.parse import quote

import pytest

from chalicelib.services.lifecycle import run_id
from tests.conftest import Api

OPERATOR = {"type": "key", "id": "key_operator", "name": "operator"}
SYSTEM = {"type": "system", "id": "scheduler", "name": "scheduler"}


def step(services: Any, event_id: str, name: str) -> None:
    """What the state machine's task Lambda does for one step of the event's current run."""
    event = services.events.store.get("default", event_id)
    channel = services.events.channels.get("default", event.channel_id)
    payload = {"tenant_id": "default", "event_id": event_id, "version": run_id(event, channel)}
    services.lifecycle.steps.handle({**payload, "step": name})


def test_a_day_of_changes_is_announced_once_each_and_audited(api: Api, services: Any, bus: Any) -> None:
    room = api.post("/v1/channels", {"name": "Room 101", "timezone": "UTC"}).data
    talk = api.post(
        "/v1/events",
        {"title": "Talk", "channel_id": room["id"], "start": "2027-03-01T12:00:00Z", "duration": 1800},
    ).data
    show = api.post(
        "/v1/events",
        {
            "title": "Show",
            "channel_id": room["id"],
            "start": "2027-03-01T08:30:00Z",
            "duration": 1800,
            "end_mode": "manual",
        },
    ).data
    series = api.post(
        "/v1/schedules",
        {
            "title": "Lecture",
            "channel_id": room["id"],
            "start": "2027-03-02T09:00:00",
            "duration": 3000,
            "recurrence": {"frequency": "daily", "count": 3},
        },
    ).data
    lectures = {
        e["occurrence_start"]: e for e in api.get(f"/v1/events?schedule_id={series['id']}").data["items"]
    }
    assert sorted(lectures) == ["2027-03-02T09:00:00Z", "2027-03-03T09:00:00Z", "2027-03-04T09:00:00Z"]

    assert api.patch(f"/v1/events/{talk['id']}", {"title": "Keynote"}).status_code == 200
    assert api.patch(f"/v1/schedules/{series['id']}", {"title": "Algorithms"}).status_code == 200
    skipped = quote("2027-03-03T09:00:00Z", safe="")
    assert api.delete(f"/v1/schedules/{series['id']}/occurrences/{skipped}").status_code == 204
    split = api.post(
        f"/v1/schedules/{series['id']}/split",
        {"at": "2027-03-04T09:00:00Z", "changes": {"start": "2027-03-04T10:00:00"}},
    ).data
    for name in ("provision", "provisioned", "start"):  # the show's run takes it live
        step(services, show["id"], name)
    assert api.delete(f"/v1/events/{show['id']}").status_code == 204  # deleted while live

    notes = bus()
    seen = Counter((n["detail-type"], n["id"]) for n in notes)
    successor = api.get(f"/v1/events?schedule_id={split['id']}").data["items"]
    assert [e["start"] for e in successor] == ["2027-03-04T10:00:00Z"]
    first, second, third = (lectures[k]["id"] for k in sorted(lectures))
    expected = Counter(
        {
            ("Channel Created", room["id"]): 1,
            ("Event Created", talk["id"]): 1,
            ("Event Created", show["id"]): 1,
            ("Schedule Created", series["id"]): 1,
            ("Event Created", first): 1,
            ("Event Created", second): 1,
            ("Event Created", third): 1,
            ("Event Updated", talk["id"]): 1,
            ("Schedule Updated", series["id"]): 2,  # the title, then the skip
            ("Event Updated", first): 1,
            ("Event Updated", second): 1,
            ("Event Updated", third): 1,
            ("Event State Changed", second): 1,  # skipped: cancelled
            ("Schedule Split", series["id"]): 1,
            ("Schedule Created", split["id"]): 1,
            ("Event State Changed", third): 1,  # taken over by the successor: cancelled
            ("Event Created", successor[0]["id"]): 1,
            ("Event State Changed", show["id"]): 5,  # provisioning, ready, live; stopped, completed
            ("Event Deleted", show["id"]): 1,
        }
    )
    assert seen == expected, sorted((seen - expected) + (expected - seen))

    by = {(n["detail-type"], n["id"]): n for n in notes}
    assert by[("Event Updated", talk["id"])]["changes"] == {"title": "Keynote"}, "only what changed"
    created = by[("Event Created", first)]
    assert created["schedule_id"] == series["id"] and created["occurrence_start"] == "2027-03-02T09:00:00Z"
    states = [(n["from"], n["to"], n["actor"]) for n in notes if n["id"] == show["id"] and "from" in n]
    assert states == [
        ("scheduled", "provisioning", SYSTEM),
        ("provisioning", "ready", SYSTEM),
        ("ready", "live", SYSTEM),
        ("live", "stopped", OPERATOR),
        ("stopped", "completed", OPERATOR),
    ]
    assert all(n["at"].endswith("Z") for n in notes if "at" in n), "one instant format"
    assert api.get(f"/v1/channels/{room['id']}/live").status_code == 204, "the lock went with it"

    trail = api.get("/v1/audit?limit=500").data["items"]
    assert [i["at"] for i in trail] == sorted((i["at"] for i in trail), reverse=True), "newest first"
    audited = Counter((i["resource_type"], i["resource_id"], i["action"]) for i in trail)
    assert audited[("event", show["id"], "state_changed")] == 5
    assert audited[("event", show["id"], "deleted")] == 1
    assert audited[("schedule", series["id"], "occurrence_skipped")] == 1
    assert audited[("schedule", series["id"], "split")] == 1
    keynote = next(i for i in trail if i["resource_id"] == talk["id"] and i["action"] == "updated")
    assert keynote["changes"] == {"title": {"from": "Talk", "to": "Keynote"}}
    assert keynote["actor"] == OPERATOR and keynote["request_id"]
    live = next(
        i
        for i in trail
        if i["resource_id"] == show["id"] and i["changes"].get("state", {}).get("to") == "live"
    )
    assert live["actor"] == SYSTEM, "the run is the system, never a key"
    mine = api.get(f"/v1/audit?resource_id={show['id']}").data["items"]
    assert {i["resource_id"] for i in mine} == {show["id"]} and len(mine) == 7


# Each row: a write route, and the audit item it must leave: (resource type, action).
WRITES: list[Any] = [
    pytest.param("POST", "/v1/channels", {"name": "B"}, ("channel", "created"), id="create channel"),
    pytest.param(
        "PATCH", "/v1/channels/{channel}", {"name": "B2"}, ("channel", "updated"), id="patch channel"
    ),
    pytest.param("POST", "/v1/sources", {"name": "Cam"}, ("source", "created"), id="create source"),
    pytest.param(
        "PATCH", "/v1/sources/{source}", {"name": "Cam 2"}, ("source", "updated"), id="patch source"
    ),
    pytest.param("DELETE", "/v1/sources/{source}", None, ("source", "deleted"), id="delete source"),
    pytest.param("POST", "/v1/events", "event", ("event", "created"), id="create event"),
    pytest.param("PATCH", "/v1/events/{event}", {"title": "T2"}, ("event", "updated"), id="patch event"),
    pytest.param(
        "POST",
        "/v1/events/{event}/clone",
        {"start": "2027-03-09T10:00:00Z"},
        ("event", "created"),
        id="clone event",
    ),
    pytest.param("PUT", "/v1/events/external/x-1", "event", ("event", "created"), id="put external"),
    pytest.param(
        "POST",
        "/v1/events/{event}/actions",
        {"action": "provision"},
        ("event", "state_changed"),
        id="an action",
    ),
    pytest.param(
        "POST",
        "/v1/events/{event}/actions",
        {"action": "extend", "seconds": 60},
        ("event", "updated"),
        id="extend",
    ),
    pytest.param("DELETE", "/v1/events/{event}", None, ("event", "deleted"), id="delete event"),
    pytest.param("DELETE", "/v1/events/{event}?hard=true", None, ("event", "hard_deleted"), id="hard delete"),
    pytest.param("POST", "/v1/schedules", "schedule", ("schedule", "created"), id="create schedule"),
    pytest.param(
        "PATCH", "/v1/schedules/{schedule}", {"title": "S2"}, ("schedule", "updated"), id="patch schedule"
    ),
    pytest.param(
        "DELETE",
        "/v1/schedules/{schedule}/occurrences/2027-03-09T09%3A00%3A00Z",
        None,
        ("schedule", "occurrence_skipped"),
        id="skip an occurrence",
    ),
    pytest.param(
        "PATCH",
        "/v1/schedules/{schedule}/occurrences/2027-03-09T09%3A00%3A00Z",
        {"title": "Guest"},
        ("schedule", "occurrence_modified"),
        id="modify an occurrence",
    ),
    pytest.param(
        "POST",
        "/v1/schedules/{schedule}/split",
        {"at": "2027-03-16T09:00:00Z"},
        ("schedule", "split"),
        id="split",
    ),
    pytest.param("DELETE", "/v1/schedules/{schedule}", None, ("schedule", "deleted"), id="delete schedule"),
    pytest.param("POST", "/v1/keys", {"name": "k", "scopes": ["read"]}, ("key", "created"), id="create key"),
    pytest.param("POST", "/v1/tenants", {"name": "Other"}, ("tenant", "created"), id="create tenant"),
]


@pytest.mark.parametrize(("method", "template", "body", "expected"), WRITES)
def test_every_write_path_leaves_its_audit_item(api: Api, method, template, body, expected) -> None:
    channel = api.post("/v1/channels", {"name": "A", "timezone": "UTC"}).data["id"]
    source = api.post("/v1/sources", {"name": "S"}).data["id"]
    event = api.post(
        "/v1/events", {"title": "E", "channel_id": channel, "start": "2027-03-02T10:00:00Z", "duration": 600}
    ).data["id"]
    schedule = api.post(
        "/v1/schedules",
        {
            "title": "S",
            "channel_id": channel,
            "start": "2027-03-02T09:00:00",
            "duration": 600,
            "recurrence": {"frequency": "weekly", "count": 4},
        },
    ).data["id"]
    payload = (
        {
            "event": {"title": "N", "channel_id": channel, "start": "2027-03-05T10:00:00Z", "duration": 600},
            "schedule": {
                "title": "N",
                "channel_id": channel,
                "start": "2027-03-05T12:00:00",
                "duration": 600,
                "recurrence": {"frequency": "weekly", "count": 2},
            },
        }.get(body, body)
        if isinstance(body, str)
        else body
    )
    before = {i["id"] for i in api.get("/v1/audit?limit=500").data["items"]}
    path = template.format(channel=channel, source=source, event=event, schedule=schedule)
    response = api.call(method, path, payload)
    assert response.status_code < 300, response.data
    new = [i for i in api.get("/v1/audit?limit=500").data["items"] if i["id"] not in before]
    assert expected in {(i["resource_type"], i["action"]) for i in new}, new
    assert all(i["actor"] == OPERATOR and i["request_id"] for i in new if i["resource_type"] == expected[0])
