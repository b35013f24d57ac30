"""The event lifecycle as one pure transition table (PRODUCT.md, Lifecycle).

```
scheduled ─provision─▶ provisioning ─provisioned─▶ ready ─start─▶ live ─stop─▶ stopped ─teardown─▶ completed
scheduled | provisioning | ready ──cancel──▶ cancelled
provisioning | ready | live | stopped ──force_stop──▶ stopped
any non-terminal state ──fail──▶ failed
```

Two kinds of names share the table:

- *actions* are what `POST /v1/events/{id}/actions` accepts (`ACTIONS`);
- *steps* are what the lifecycle state machine drives (`STEPS`): `provision`, `provisioned`, `start`,
  `stop`, `teardown` and `fail`. `provisioned`, `teardown` and `fail` are internal: the API refuses
  them as unknown actions.

Rules the table encodes, with the reasons that are not obvious:

- `start` needs `ready`: an event is provisioned first (by its run at `start - provision_lead_seconds`,
  or by the `provision` action), so a driver never goes live on an unprepared channel.
- `force_stop` is the override for a stuck channel: besides `live` it is allowed in `provisioning` and
  `ready` (the driver or lock may be out of step with the state) and in `stopped`, where it changes
  nothing but lets the service stop the driver again and clear the channel lock.
- `publish`/`unpublish` toggle `published` while `ready` or `live` (viewers can only see a stream that
  exists); every move to `stopped`, `cancelled` or `failed` clears `published`.
- `set_vod` sets the recording's visibility and is allowed once a recording can exist: `stopped` and
  `completed`. Before that the intended visibility is the event's `publish` field (PATCH it), which the
  service copies into `vod` on stop.
- `extend` moves the end while the event can still end on time: `scheduled` to `live`.
- `completed`, `cancelled` and `failed` are terminal; only `set_vod` still applies, to `completed`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from chalicelib.domain.errors import Conflict, ValidationFailed
from chalicelib.domain.models import EventState

S = EventState

ACTIONS: tuple[str, ...] = (
    "provision",
    "start",
    "stop",
    "force_stop",
    "publish",
    "unpublish",
    "cancel",
    "extend",
    "set_vod",
)
"""Actions the API accepts, in the order the API documents them."""

STEPS: tuple[str, ...] = ("provision", "provisioned", "start", "stop", "teardown", "fail")
"""Steps the lifecycle state machine drives (`infra/lifecycle.asl.json`)."""

TERMINAL: frozenset[EventState] = frozenset({S.COMPLETED, S.CANCELLED, S.FAILED})
"""States no step leaves; the run is over."""


@dataclass(frozen=True)
class Transition:
    """One allowed move: `action` takes an event from `source` to `target` and may set `published`."""

    action: str
    source: EventState
    target: EventState
    published: bool | None = None  # None: leave `published` as it is

    @property
    def changes_state(self) -> bool:
        """Whether the move is a state change (history and a notification) rather than an in-place edit."""
        return self.source != self.target


_NON_TERMINAL = tuple(state for state in S if state not in TERMINAL)

# (name, source states, target state or None for "stays", effect on `published`)
_RULES: tuple[tuple[str, tuple[EventState, ...], EventState | None, bool | None], ...] = (
    ("provision", (S.SCHEDULED,), S.PROVISIONING, None),
    ("provisioned", (S.PROVISIONING,), S.READY, None),
    ("start", (S.READY,), S.LIVE, None),
    ("stop", (S.LIVE,), S.STOPPED, False),
    ("force_stop", (S.PROVISIONING, S.READY, S.LIVE, S.STOPPED), S.STOPPED, False),
    ("teardown", (S.STOPPED,), S.COMPLETED, None),
    ("cancel", (S.SCHEDULED, S.PROVISIONING, S.READY), S.CANCELLED, False),
    ("fail", _NON_TERMINAL, S.FAILED, False),
    ("publish", (S.READY, S.LIVE), None, True),
    ("unpublish", (S.READY, S.LIVE), None, False),
    ("extend", (S.SCHEDULED, S.PROVISIONING, S.READY, S.LIVE), None, None),
    ("set_vod", (S.STOPPED, S.COMPLETED), None, None),
)

TRANSITIONS: Mapping[tuple[EventState, str], Transition] = {
    (source, name): Transition(name, source, target or source, published)
    for name, sources, target, published in _RULES
    for source in sources
}
"""Every allowed (state, action or step) pair; anything absent is refused. The single source of truth."""

NAMES: tuple[str, ...] = tuple(dict.fromkeys(ACTIONS + STEPS))
"""Every action and step name the table knows."""


def can(state: EventState, action: str) -> bool:
    """Whether `action` (or step) is allowed in `state`."""
    return (state, action) in TRANSITIONS


def allowed(state: EventState) -> list[str]:
    """The API actions allowed in `state`, in documented order."""
    return [action for action in ACTIONS if can(state, action)]


def apply(state: EventState, action: str) -> Transition:
    """The transition an API action makes from `state`; unknown → ValidationFailed, not allowed → Conflict."""
    if action not in ACTIONS:
        raise ValidationFailed.one("/action", f"must be one of: {', '.join(ACTIONS)}")
    return _lookup(state, action)


def advance(state: EventState, step: str) -> Transition:
    """The transition a state-machine step makes from `state`; Conflict when it does not apply."""
    if step not in STEPS:
        raise ValueError(f"unknown lifecycle step {step!r}")  # a wiring bug, not user input
    return _lookup(state, step)


def _lookup(state: EventState, name: str) -> Transition:
    try:
        return TRANSITIONS[(state, name)]
    except KeyError:
        raise Conflict(
            f"Action '{name}' is not allowed while the event is {state.value}.",
            {"state": state.value, "action": name, "allowed_actions": allowed(state)},
        ) from None
