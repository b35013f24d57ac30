"""The event, series and lifecycle rules, on in-memory repositories: each test runs in milliseconds.

The same rules run on DynamoDB (moto) in tests/integration; the repositories' shared contract is in
tests/contract/test_repositories.py.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from chalicelib.domain.errors import BookingConflict, Conflict
from chalicelib.domain.models import EventState
from tests.unit.memory_stack import KEY, T0, MemoryStack

S = EventState
AT = T0 + timedelta(days=2)


@pytest.fixture
def stack() -> MemoryStack:
    return MemoryStack()


def types(stack: MemoryStack) -> list[str]:
    return [detail_type for detail_type, _ in stack.notes]


# -- bookings ------------------------------------------------------------------------------------------


def test_a_booking_is_announced_once_with_its_actor(stack):
    room = stack.channel()
    stack.notes.clear()
    event = stack.event(room, AT)
    assert types(stack) == ["Event Created"]
    detail = stack.notes[0][1]
    assert detail["id"] == event.id and detail["actor"] == {"type": "key", "id": "key_1", "name": "timetable"}


def test_an_overlap_is_refused_unless_accepted_and_then_marked_on_both_sides(stack):
    room = stack.channel()
    first = stack.event(room, AT)
    with pytest.raises(BookingConflict):
        stack.event(room, AT + timedelta(minutes=30))
    second = stack.event(room, AT + timedelta(minutes=30), allow_conflict=True)
    assert second.overlaps == [first.id]
    assert stack.get(first).overlaps == [second.id]
    assert "Conflict Detected" in types(stack)


def test_a_change_that_adds_no_overlap_passes_one_that_adds_one_does_not(stack):
    room = stack.channel()
    stack.event(room, AT)
    second = stack.event(room, AT + timedelta(minutes=30), allow_conflict=True)
    moved = stack.core.events.patch(
        KEY, second.id, {"start": "2027-03-03T08:40:00Z"}, "merge", None, stack.clock()
    )
    assert moved.start == AT + timedelta(minutes=40)
    stack.event(room, AT + timedelta(hours=2))
    with pytest.raises(BookingConflict):
        stack.core.events.patch(KEY, second.id, {"duration": 7200}, "merge", None, stack.clock())


def test_event_updated_names_only_what_changed(stack):
    room = stack.channel()
    event = stack.event(room, AT, title="Talk")
    stack.notes.clear()
    stack.core.events.patch(KEY, event.id, {"title": "Talk", "tags": ["a"]}, "merge", None, stack.clock())
    assert stack.notes == [
        ("Event Updated", {**stack.notes[0][1], "changes": {"tags": ["a"]}}),
    ]


def test_an_event_that_has_already_ended_is_refused(stack):
    room = stack.channel()
    with pytest.raises(Exception) as caught:
        stack.event(room, T0 - timedelta(hours=2))
    assert "already have ended" in str(caught.value.errors[0].detail)  # type: ignore[attr-defined]


# -- series --------------------------------------------------------------------------------------------


def test_materialised_occurrences_are_announced_as_events_of_their_series(stack):
    room = stack.channel(timezone="Europe/London")
    stack.notes.clear()
    schedule = stack.series(room, "2027-03-02T09:00:00", {"frequency": "weekly", "count": 3})
    created = [d for t, d in stack.notes if t == "Event Created"]
    assert [d["schedule_id"] for d in created] == [schedule.id] * 3
    assert [d["occurrence_start"] for d in created] == [
        "2027-03-02T09:00:00Z",
        "2027-03-09T09:00:00Z",
        "2027-03-16T09:00:00Z",
    ]
    assert types(stack).count("Schedule Created") == 1


def test_an_occurrence_far_ahead_is_a_booking(stack):
    room = stack.channel()
    stack.series(room, "2027-03-02T09:00:00", {"frequency": "weekly"})
    with pytest.raises(BookingConflict) as caught:
        stack.event(room, T0.replace(year=2029, month=3, day=6, hour=9, minute=30))
    assert caught.value.conflicts[0]["event_id"] is None


def test_skipping_an_occurrence_cancels_its_event_by_the_skipping_key(stack):
    room = stack.channel()
    schedule = stack.series(room, "2027-03-02T09:00:00", {"frequency": "weekly", "count": 3})
    stack.core.schedules.skip_occurrence(KEY, schedule.id, "2027-03-09T09:00:00Z", stack.clock())
    history = stack.core.lifecycle.actions.history(
        KEY, next(e for e in stack.db.events.values() if e.start.day == 9).id
    )
    assert [(h.target, h.actor.name, h.reason) for h in history] == [
        (S.CANCELLED, "timetable", "the occurrence was skipped")
    ]
    again = len(stack.notes)
    stack.core.schedules.skip_occurrence(KEY, schedule.id, "2027-03-09T09:00:00Z", stack.clock())
    assert len(stack.notes) == again, "skipping again changes nothing and says nothing"


# -- the lifecycle -------------------------------------------------------------------------------------


def test_an_automatic_event_runs_to_completed(stack):
    room = stack.channel()
    event = stack.event(room, T0 + timedelta(hours=1))
    stack.advance(hours=3)
    assert stack.get(event).state == S.COMPLETED
    states = [d["to"] for t, d in stack.notes if t == "Event State Changed"]
    assert states == ["provisioning", "ready", "live", "stopped", "completed"]


def test_a_manual_start_nobody_makes_is_cancelled_after_its_end_and_torn_down(stack):
    room = stack.channel()
    event = stack.event(room, T0 + timedelta(hours=1), start_mode="manual")
    stack.advance(hours=1, minutes=30)
    assert stack.get(event).state == S.READY
    with pytest.raises(Conflict):
        stack.advance(hours=1)  # past its end now
        stack.core.lifecycle.actions.act(KEY, event.id, _request("start"), None)
    stack.advance(minutes=30)
    settled = stack.get(event)
    assert settled.state == S.CANCELLED
    assert ("teardown", event.id) in stack.driver.calls, "what provision took is given back"


def test_a_manual_end_that_never_comes_is_stopped_after_the_overrun(stack):
    room = stack.channel()
    event = stack.event(room, T0 + timedelta(hours=1), end_mode="manual")
    stack.advance(hours=2, minutes=30)
    assert stack.get(event).state == S.LIVE, "within the overrun it may still run"
    stack.advance(hours=1)
    assert stack.get(event).state in (S.STOPPED, S.COMPLETED)
    stack.advance(minutes=30)
    assert stack.get(event).state == S.COMPLETED
    assert stack.core.lifecycle.actions.live(KEY, room.id) is None


def test_deleting_a_live_event_stops_it_through_the_lifecycle(stack):
    room = stack.channel()
    event = stack.event(room, T0 + timedelta(hours=1), end_mode="manual")
    stack.advance(hours=1, minutes=5)
    assert stack.get(event).state == S.LIVE
    stack.notes.clear()
    stack.core.events.delete(KEY, event.id, False, None, stack.clock())
    deleted = stack.get(event)
    assert deleted.state == S.COMPLETED and deleted.deleted_at is not None
    assert ("stop", event.id) in stack.driver.calls
    assert stack.core.lifecycle.actions.live(KEY, room.id) is None, "the lock is free"
    history = stack.core.lifecycle.actions.history(KEY, event.id)
    assert [(h.source, h.target, h.actor.name) for h in history][-2:] == [
        (S.LIVE, S.STOPPED, "timetable"),
        (S.STOPPED, S.COMPLETED, "timetable"),
    ]
    assert types(stack) == ["Event State Changed", "Event State Changed", "Event Deleted"]
    restored = stack.core.events.restore(KEY, event.id, None, stack.clock())
    assert restored.state == S.COMPLETED, "a restore never resurrects live"


def test_an_event_restored_after_its_end_is_settled_not_left_scheduled(stack):
    room = stack.channel()
    event = stack.event(room, T0 + timedelta(hours=1))
    stack.core.events.delete(KEY, event.id, False, None, stack.clock())
    stack.advance(hours=3)
    stack.core.events.restore(KEY, event.id, None, stack.clock())
    stack.advance(minutes=15)
    assert stack.get(event).state == S.CANCELLED


def _request(action: str):
    from chalicelib.services.lifecycle import ActionRequest

    return ActionRequest(action)
