"""The core services on in-memory repositories, a hand-moved clock, drivers that fail on demand, and a
stand-in for the lifecycle state machine: enough to test the service rules in milliseconds."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from chalicelib import bootstrap
from chalicelib.adapters.drivers import DriverError, DriverNotReady, StepResult
from chalicelib.config import Settings
from chalicelib.domain.inputs import ChannelIn, EventIn, ScheduleIn
from chalicelib.domain.models import Channel, Event, Principal, Scope
from chalicelib.services.lifecycle import RunSuperseded
from tests.conftest import Clock

T0 = datetime(2027, 3, 1, 8, 0, tzinfo=UTC)
KEY = Principal(tenant_id="t1", key_id="key_1", name="timetable", scopes=frozenset({Scope.READ, Scope.WRITE}))


@dataclass
class FlakyDriver:
    """A driver whose steps fail while their name is in `failing` (shared by every channel)."""

    failing: set[str] = field(default_factory=set)
    calls: list[tuple[str, str]] = field(default_factory=list)

    def _do(self, step: str, event: Event) -> StepResult:
        self.calls.append((step, event.id))
        if step in self.failing:
            raise DriverError(f"{step} failed on purpose")
        return StepResult(step, "ok")

    def provision(self, event: Event, channel: Channel) -> StepResult:
        return self._do("provision", event)

    def is_ready(self, event: Event, channel: Channel) -> bool:
        return "ready" not in self.failing

    def start(self, event: Event, channel: Channel) -> StepResult:
        return self._do("start", event)

    def stop(self, event: Event, channel: Channel) -> StepResult:
        return self._do("stop", event)

    def teardown(self, event: Event, channel: Channel) -> StepResult:
        return self._do("teardown", event)


class MemoryStack:
    """Services, database, clock and driver; `run_machine` plays the state machine's part."""

    def __init__(self, **settings: str) -> None:
        self.clock = Clock(T0)
        self.driver = FlakyDriver()
        env = {"ONAIR_STAGE": "memory", **settings}
        self.core, self.db = bootstrap.in_memory(
            Settings.from_env(env), self.clock, drivers=lambda config: self.driver
        )
        self.finished: set[str] = set()

    @property
    def notes(self) -> list[tuple[str, dict[str, Any]]]:
        return self.db.notes  # type: ignore[no-any-return]

    # -- making things ----------------------------------------------------------------------------------

    def channel(self, **fields: Any) -> Channel:
        body = ChannelIn.model_validate({"name": "Room", **fields})
        return self.core.channels.create(KEY, body, self.clock())

    def event(self, channel: Channel, start: datetime, minutes: int = 60, **fields: Any) -> Event:
        body = EventIn.model_validate(
            {"title": "Talk", "channel_id": channel.id, "start": start, "duration": minutes * 60, **fields}
        )
        return self.core.events.create(KEY, body, self.clock())

    def series(self, channel: Channel, start: str, recurrence: dict[str, Any], **fields: Any) -> Any:
        body = ScheduleIn.model_validate(
            {
                "title": "Lecture",
                "channel_id": channel.id,
                "start": start,
                "duration": 3600,
                "recurrence": recurrence,
                **fields,
            }
        )
        return self.core.schedules.create(KEY, body, self.clock())

    def get(self, event: Event | str) -> Event:
        event_id = event if isinstance(event, str) else event.id
        found = self.db.events[("t1", event_id)]
        assert isinstance(found, Event)
        return found

    # -- time passes ------------------------------------------------------------------------------------

    def advance(self, **delta: float) -> None:
        """Move the clock on, play every due state-machine step, then the tick's jobs."""
        self.clock.advance(**delta)
        self.run_machine()
        self.core.materialiser.tick(self.clock())
        self.core.lifecycle.runs.start_due_runs(self.clock())
        self.core.lifecycle.watchdog.enforce(self.clock())

    def run_machine(self) -> None:
        """Play `infra/lifecycle.asl.json` for every run started and not stopped: each step at its time,
        a failing step retried twice more and then `fail`, a superseded run ended quietly."""
        runs = self.db.runs  # type: ignore[attr-defined]
        now = self.clock()
        for name in runs.running():
            if name in self.finished:
                continue
            payload = runs.started[name]
            if self._play(payload, now):
                self.finished.add(name)

    def _play(self, payload: dict[str, Any], now: datetime) -> bool:
        """Run the steps that are due; True when the run is over."""
        at = {
            "provision": payload["provision_at"],
            "provisioned": payload["provision_at"],
            "start": payload["start_at"],
            "stop": payload["end_at"],
            "teardown": payload["end_at"],
        }
        if payload["phase"] == "teardown":
            order = ["teardown"]
        else:
            order = ["provision", "provisioned"]
            order += ["start"] if payload["start_mode"] == "auto" else []
            order += ["stop"] if payload["end_mode"] == "auto" else []
            order += ["teardown"] if payload["end_mode"] == "auto" else []
        steps = self.core.lifecycle.steps
        for step in order:
            due = datetime.fromisoformat(at[step].replace("Z", "+00:00"))
            if step == "teardown":
                due += timedelta(seconds=payload["teardown_delay_seconds"])
            if due > now:
                return False
            for attempt in range(3):
                try:
                    steps.handle({**payload, "step": step})
                    break
                except RunSuperseded:
                    return True
                except (DriverError, DriverNotReady) as error:
                    if attempt == 2:
                        steps.handle(
                            {**payload, "step": "fail", "error": type(error).__name__, "cause": str(error)}
                        )
                        return True
        return True
