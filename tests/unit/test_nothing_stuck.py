"""Nothing is ever stuck, as a property: random events, actions, deletes, restores and failing drivers,
then time passes; every event ends terminal (or deleted and out of the lifecycle), every lock is free,
and no run is left waiting on an event that no longer needs it. On in-memory repositories (fast)."""

from __future__ import annotations

import contextlib
from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chalicelib.domain.errors import DomainError
from chalicelib.domain.lifecycle import TERMINAL
from chalicelib.services.lifecycle import ActionRequest
from tests.unit.memory_stack import KEY, T0, MemoryStack

EVENT = st.fixed_dictionaries(
    {
        "offset": st.integers(1, 40),  # minutes from now, in steps of 30
        "minutes": st.sampled_from([15, 45, 90]),
        "start_mode": st.sampled_from(["auto", "manual"]),
        "end_mode": st.sampled_from(["auto", "manual"]),
        "room": st.integers(0, 2),
    }
)
ACTION = st.tuples(
    st.sampled_from(
        [
            "provision",
            "start",
            "stop",
            "force_stop",
            "cancel",
            "extend",
            "delete",
            "hard_delete",
            "restore",
            "fail_driver",
            "heal_driver",
            "wait",
        ]
    ),
    st.integers(0, 30),  # which event (modulo how many)
    st.sampled_from(["provision", "start", "stop", "teardown", "ready"]),  # which driver step to break
)


@given(events=st.lists(EVENT, min_size=1, max_size=8), actions=st.lists(ACTION, max_size=40))
@settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
def test_every_event_settles_and_every_lock_is_freed(events, actions):
    stack = MemoryStack()
    rooms = [stack.channel(name=f"Room {i}") for i in range(3)]
    made = []
    for spec in events:
        start = T0 + timedelta(minutes=30 * spec["offset"])
        with contextlib.suppress(DomainError):
            made.append(
                stack.event(
                    rooms[spec["room"]],
                    start,
                    spec["minutes"],
                    start_mode=spec["start_mode"],
                    end_mode=spec["end_mode"],
                    allow_conflict=True,
                )
            )
    for name, which, step in actions:
        if not made:
            break
        event = made[which % len(made)]
        try:
            if name == "fail_driver":
                stack.driver.failing.add(step)
            elif name == "heal_driver":
                stack.driver.failing.discard(step)
            elif name == "wait":
                stack.advance(minutes=20)
            elif name == "delete":
                stack.core.events.delete(KEY, event.id, False, None, stack.clock())
            elif name == "hard_delete":
                stack.core.events.delete(KEY, event.id, True, None, stack.clock())
                made.remove(event)
            elif name == "restore":
                stack.core.events.restore(KEY, event.id, None, stack.clock(), allow_conflict=True)
            else:
                request = ActionRequest(name, seconds=600 if name == "extend" else None, allow_conflict=True)
                stack.core.lifecycle.actions.act(KEY, event.id, request, None)
        except DomainError:
            pass  # refused (409/422): the rules said no, which is fine
    stack.driver.failing.clear() if len(actions) % 2 else None  # half the runs end with drivers still broken
    for _ in range(24):  # two days pass in steps: runs play out, then the deadlines job settles the rest
        stack.advance(hours=2)
    for event in made:
        settled = stack.get(event)
        assert settled.state in TERMINAL or settled.deleted_at is not None, (settled.id, settled.state)
    assert stack.db.live == {}, "every channel lock is free"
