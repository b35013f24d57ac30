"""The local emulator forgets finished Step Functions runs, a whole event at a time (local/sfn_patch.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from local.sfn_patch import RETAIN, forget_finished

NOW = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
LONG_AGO = NOW - RETAIN - timedelta(seconds=1)
RECENTLY = NOW - RETAIN + timedelta(seconds=1)


@dataclass
class Execution:
    name: str
    status: str
    stop_date: datetime | None


@pytest.mark.parametrize(
    ("executions", "kept", "why"),
    [
        ([("evt_a-r1", "SUCCEEDED", LONG_AGO)], [], "a run that ended long ago goes"),
        ([("evt_a-r1", "ABORTED", RECENTLY)], ["evt_a-r1"], "a recent one stays, for the AWS CLI"),
        ([("evt_a-r1", "RUNNING", None)], ["evt_a-r1"], "a running one stays"),
        (
            [("evt_a-r1", "ABORTED", LONG_AGO), ("evt_a-r1-2", "RUNNING", None)],
            ["evt_a-r1", "evt_a-r1-2"],
            "an old run stays while its event has one running: the -2, -3 walk must not meet a gap",
        ),
        (
            [("evt_a-r1", "ABORTED", LONG_AGO), ("evt_a-r2", "SUCCEEDED", RECENTLY)],
            ["evt_a-r1", "evt_a-r2"],
            "an event goes only when its last run ended long ago",
        ),
        (
            [
                ("evt_a-r1", "SUCCEEDED", LONG_AGO),
                ("evt_a-r1-td", "SUCCEEDED", LONG_AGO),
                ("evt_b-r1", "RUNNING", None),
            ],
            ["evt_b-r1"],
            "events are judged apart",
        ),
    ],
)
def test_finished_runs_are_forgotten_a_whole_event_at_a_time(executions, kept, why) -> None:
    listed = [Execution(*e) for e in executions]
    forget_finished(listed, NOW)
    assert [e.name for e in listed] == kept, why
