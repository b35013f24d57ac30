"""The lifecycle table: every (state, action or step) pair, written out by hand as the spec reads."""

from __future__ import annotations

import pytest

from chalicelib.domain import lifecycle
from chalicelib.domain.errors import Conflict, ValidationFailed
from chalicelib.domain.models import EventState

S = EventState

# The whole matrix, independent of the module's rules: state → {name: target}. Absent = refused.
EXPECTED: dict[EventState, dict[str, EventState]] = {
    S.SCHEDULED: {
        "provision": S.PROVISIONING,
        "cancel": S.CANCELLED,
        "extend": S.SCHEDULED,
        "fail": S.FAILED,
    },
    S.PROVISIONING: {
        "provisioned": S.READY,
        "force_stop": S.STOPPED,
        "cancel": S.CANCELLED,
        "extend": S.PROVISIONING,
        "fail": S.FAILED,
    },
    S.READY: {
        "start": S.LIVE,
        "force_stop": S.STOPPED,
        "publish": S.READY,
        "unpublish": S.READY,
        "cancel": S.CANCELLED,
        "extend": S.READY,
        "fail": S.FAILED,
    },
    S.LIVE: {
        "stop": S.STOPPED,
        "force_stop": S.STOPPED,
        "publish": S.LIVE,
        "unpublish": S.LIVE,
        "extend": S.LIVE,
        "fail": S.FAILED,
    },
    S.STOPPED: {
        "force_stop": S.STOPPED,
        "teardown": S.COMPLETED,
        "set_vod": S.STOPPED,
        "fail": S.FAILED,
    },
    S.COMPLETED: {"set_vod": S.COMPLETED},
    S.CANCELLED: {},
    S.FAILED: {},
}

WHY = {
    (S.SCHEDULED, "start"): "an event is provisioned before it can go live",
    (S.PROVISIONING, "start"): "start waits for the driver to report ready",
    (S.LIVE, "cancel"): "a live event is stopped, not cancelled",
    (S.READY, "stop"): "stop needs a live event; force_stop is the override",
    (S.SCHEDULED, "force_stop"): "nothing to stop before provisioning",
    (S.STOPPED, "force_stop"): "force_stop re-stops the driver and clears the lock",
    (S.STOPPED, "publish"): "live viewers cannot see a stopped stream",
    (S.LIVE, "set_vod"): "the recording's visibility is set once it exists",
    (S.STOPPED, "extend"): "too late to move the end",
    (S.COMPLETED, "set_vod"): "visibility can change after completion",
    (S.FAILED, "set_vod"): "failed is terminal",
    (S.CANCELLED, "fail"): "terminal states never fail",
    (S.SCHEDULED, "provisioned"): "provisioned only confirms a provisioning in progress",
    (S.LIVE, "teardown"): "teardown follows a stop",
}


def _rows() -> list[object]:
    rows = []
    for state in S:
        for name in lifecycle.NAMES:
            target = EXPECTED[state].get(name)
            outcome = f"→ {target.value}" if target else "refused"
            why = WHY.get((state, name))
            rows.append(
                pytest.param(
                    state, name, target, id=f"{state.value} · {name} {outcome}" + (f" ({why})" if why else "")
                )
            )
    return rows


@pytest.mark.parametrize(("state", "name", "target"), _rows())
def test_every_state_and_name(state: EventState, name: str, target: EventState | None) -> None:
    assert lifecycle.can(state, name) is (target is not None)
    if target is None:
        assert (state, name) not in lifecycle.TRANSITIONS
        return
    transition = lifecycle.TRANSITIONS[(state, name)]
    assert (transition.source, transition.action, transition.target) == (state, name, target)


def test_the_matrix_covers_every_pair() -> None:
    assert set(EXPECTED) == set(S)
    assert {key for state, row in EXPECTED.items() for key in ((state, n) for n in row)} == set(
        lifecycle.TRANSITIONS
    )


@pytest.mark.parametrize(
    ("state", "action", "published"),
    [
        pytest.param(S.READY, "publish", True, id="publish sets published"),
        pytest.param(S.LIVE, "unpublish", False, id="unpublish clears published"),
        pytest.param(S.LIVE, "stop", False, id="stop clears published"),
        pytest.param(S.LIVE, "force_stop", False, id="force_stop clears published"),
        pytest.param(S.READY, "cancel", False, id="cancel clears published"),
        pytest.param(S.LIVE, "fail", False, id="fail clears published"),
        pytest.param(S.READY, "start", None, id="start keeps published as set while ready"),
        pytest.param(S.LIVE, "extend", None, id="extend leaves published alone"),
    ],
)
def test_published_effects(state: EventState, action: str, published: bool | None) -> None:
    assert lifecycle.TRANSITIONS[(state, action)].published is published


@pytest.mark.parametrize(
    ("state", "action", "changes"),
    [
        pytest.param(S.READY, "start", True, id="start is a state change"),
        pytest.param(S.LIVE, "publish", False, id="publish is an in-place edit"),
        pytest.param(S.STOPPED, "force_stop", False, id="force_stop while stopped keeps the state"),
    ],
)
def test_changes_state(state: EventState, action: str, changes: bool) -> None:
    assert lifecycle.TRANSITIONS[(state, action)].changes_state is changes


def test_terminal_states_allow_no_step() -> None:
    assert frozenset({S.COMPLETED, S.CANCELLED, S.FAILED}) == lifecycle.TERMINAL
    for state in lifecycle.TERMINAL:
        assert not any(lifecycle.can(state, step) for step in lifecycle.STEPS), state


def test_apply_returns_the_transition() -> None:
    assert lifecycle.apply(S.READY, "start") == lifecycle.Transition("start", S.READY, S.LIVE)


def test_apply_refuses_naming_the_state() -> None:
    with pytest.raises(Conflict) as caught:
        lifecycle.apply(S.SCHEDULED, "start")
    assert "scheduled" in caught.value.detail
    assert caught.value.extra == {
        "state": "scheduled",
        "action": "start",
        "allowed_actions": ["provision", "cancel", "extend"],
    }


@pytest.mark.parametrize(
    "action",
    [
        pytest.param("launch", id="unknown name"),
        pytest.param("", id="empty"),
        pytest.param("Start", id="names are case-sensitive"),
        pytest.param("teardown", id="internal step teardown is not an API action"),
        pytest.param("provisioned", id="internal step provisioned is not an API action"),
        pytest.param("fail", id="internal step fail is not an API action"),
    ],
)
def test_apply_unknown_action_is_a_validation_error(action: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        lifecycle.apply(S.READY, action)
    assert [error.pointer for error in caught.value.errors] == ["/action"]


def test_advance_drives_internal_steps() -> None:
    assert lifecycle.advance(S.STOPPED, "teardown").target == S.COMPLETED
    with pytest.raises(Conflict):
        lifecycle.advance(S.CANCELLED, "provision")
    with pytest.raises(ValueError):
        lifecycle.advance(S.READY, "publish")


def test_allowed_lists_api_actions_only() -> None:
    assert lifecycle.allowed(S.STOPPED) == ["force_stop", "set_vod"]
    assert lifecycle.allowed(S.FAILED) == []
