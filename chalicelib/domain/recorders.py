"""Room recorders (Opencast capture agents) in onair's terms: who they are and how their reports move events.

A recorder reports its recording's state; `move(state, report)` is the lifecycle transition that report
makes, or None when it changes nothing (a repeated report, one that arrives late, or a state that says
nothing about the lifecycle such as `manifest` or `compressing`):

| report                              | event goes to | from                                     |
|-------------------------------------|---------------|------------------------------------------|
| capturing                           | live          | scheduled, provisioning, ready           |
| capture_finished, uploading         | stopped       | scheduled, provisioning, ready, live     |
| upload_finished                     | completed     | scheduled, provisioning, ready, live, stopped |
| capture_error, upload_error         | failed        | any state that is not terminal           |
| not_started (onair's own deadline)  | failed        | scheduled, provisioning, ready           |

A report may skip states (a `capturing` lost on the network): the event then moves straight on, and the
history shows the jump as it happened. Terminal states (completed, cancelled, failed) never move again.
"""

from __future__ import annotations

from dataclasses import dataclass

from chalicelib.domain.lifecycle import Transition
from chalicelib.domain.models import EventState

S = EventState

NOT_STARTED = "not_started"
"""onair's own report for an agent that never said `capturing` within the grace period after the start."""

_BEFORE_LIVE = (S.SCHEDULED, S.PROVISIONING, S.READY)

# report -> (target, the states it moves from)
_MOVES: dict[str, tuple[EventState, tuple[EventState, ...]]] = {
    "capturing": (S.LIVE, _BEFORE_LIVE),
    "capture_finished": (S.STOPPED, (*_BEFORE_LIVE, S.LIVE)),
    "uploading": (S.STOPPED, (*_BEFORE_LIVE, S.LIVE)),
    "upload_finished": (S.COMPLETED, (*_BEFORE_LIVE, S.LIVE, S.STOPPED)),
    "capture_error": (S.FAILED, (*_BEFORE_LIVE, S.LIVE, S.STOPPED)),
    "upload_error": (S.FAILED, (*_BEFORE_LIVE, S.LIVE, S.STOPPED)),
    NOT_STARTED: (S.FAILED, _BEFORE_LIVE),
}


@dataclass(frozen=True)
class Agent:
    """An authenticated recorder: its name and the one channel (in one tenant) it records for."""

    name: str
    tenant_id: str
    channel_id: str


def move(state: EventState, report: str) -> Transition | None:
    """The transition `report` makes from `state`, or None when it makes none."""
    target, sources = _MOVES.get(report, (None, ()))
    if target is None or state not in sources:
        return None
    published = False if target in (S.STOPPED, S.COMPLETED, S.FAILED) else None
    return Transition(f"agent_{report}", state, target, published)


def reason(agent: str, report: str) -> str:
    """The history reason for a report (pyCA sends a state only, so the state is the reason)."""
    if report == NOT_STARTED:
        return f"agent did not start: {agent} never reported capturing"
    return f"{agent} reported {report}"
