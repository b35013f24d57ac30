"""The automated lifecycle, by job (docs/lifecycle.md has the whole story):

- `runs`: one Step Functions run per event, started, restarted and stopped as its booking changes;
- `steps`: what the state machine's task Lambda does at each step;
- `actions`: the API's actions, the commands other services send, a recorder's reports, the reads;
- `transitions`: the one way a state changes (event, history line and lock in one transaction);
- `deadlines`: the tick's job that settles anything a run did not, so nothing is ever stuck.

`Lifecycle` holds the parts that `bootstrap` wires; callers use the part they need.
"""

from __future__ import annotations

from dataclasses import dataclass

from chalicelib.services.lifecycle.actions import ActionRequest, Actions
from chalicelib.services.lifecycle.deadlines import Watchdog
from chalicelib.services.lifecycle.runs import RunKeeper, RunPolicy, provision_at, run_id, run_input, run_name
from chalicelib.services.lifecycle.steps import RunSuperseded, Steps, failure_reason
from chalicelib.services.lifecycle.transitions import Transitioner

__all__ = [
    "ActionRequest",
    "Actions",
    "Lifecycle",
    "RunKeeper",
    "RunPolicy",
    "RunSuperseded",
    "Steps",
    "Transitioner",
    "Watchdog",
    "failure_reason",
    "provision_at",
    "run_id",
    "run_input",
    "run_name",
]


@dataclass
class Lifecycle:
    """The lifecycle's parts, as `bootstrap` wired them."""

    runs: RunKeeper
    transitions: Transitioner
    steps: Steps
    actions: Actions
    watchdog: Watchdog
