"""The state machine's steps (`infra/lifecycle.asl.json`): what its task Lambda runs for each one.

A step re-reads the event; a run whose identity is no longer the event's raises `RunSuperseded` (the
state machine ends quietly); a step the event is already past does nothing; otherwise the driver acts
first and the transition is recorded after, so a driver failure leaves the state as it was and the state
machine's retry runs the driver again.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from chalicelib.adapters.drivers import DriverError, DriverNotReady, LifecycleDriver
from chalicelib.adapters.events import EventStore
from chalicelib.adapters.lock import ChannelBusy, ChannelLocks
from chalicelib.adapters.records import RecordStore
from chalicelib.domain.errors import StaleWrite
from chalicelib.domain.messages import SYSTEM
from chalicelib.domain.models import Channel, Driver, Event, EventState, OpencastAgentDriver
from chalicelib.services.lifecycle.runs import RunKeeper, provision_at, run_id, runnable
from chalicelib.services.lifecycle.transitions import Transitioner

S = EventState
MAX_EARLY_SECONDS = 2.0  # moto's Waits wake up to ~1 s early; a step sleeps that remainder, never more
WRITE_ATTEMPTS = 3


class RunSuperseded(Exception):
    """The run no longer matches its event (edited, cancelled, deleted): the state machine ends quietly.

    The state machine catches it by this class name (`infra/lifecycle.asl.json`).
    """


def failure_reason(error: str | None, cause: str | None) -> str:
    """A readable reason from the state machine's error and cause (the Lambda error document)."""
    message = None
    if cause:
        try:
            document = json.loads(cause)
            message = document.get("errorMessage") if isinstance(document, dict) else None
        except ValueError:
            message = cause
    return message or error or "a lifecycle step failed"


class Steps:
    """Runs one state-machine step for one event."""

    def __init__(
        self,
        events: EventStore,
        channels: RecordStore[Channel],
        locks: ChannelLocks,
        transitions: Transitioner,
        runs: RunKeeper,
        drivers: Callable[[Driver], LifecycleDriver],
        sleep: Callable[[float], None] = time.sleep,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.events = events
        self.channels = channels
        self.locks = locks
        self.transitions = transitions
        self.runs = runs
        self.drivers = drivers
        self.sleep = sleep
        self.wall = wall

    def handle(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Run one step: `{step, tenant_id, event_id, version}` (+ `error`, `cause` for `fail`)."""
        step = payload["step"]
        for _ in range(WRITE_ATTEMPTS):
            try:
                return self._step(step, payload)
            except StaleWrite:
                continue  # an action or edit wrote the event meanwhile: read it again and decide again
        raise DriverError(f"{step}: the event kept changing while the step ran")

    def _step(self, step: str, payload: dict[str, Any]) -> dict[str, Any]:
        event = self.events.get(payload["tenant_id"], payload["event_id"])
        channel = self.channels.get(event.tenant_id, event.channel_id) if event else None
        current = run_id(event, channel) if event is not None and channel is not None else None
        if step == "fail":
            return self._record_failure(event, current, payload)
        if event is None or channel is None or not runnable(event):
            raise RunSuperseded(f"event {payload['event_id']} is gone, deleted or over")
        if payload.get("version") != current:
            self.runs.ensure(event, channel)  # a channel edit changes the identity too: heal, then bow out
            raise RunSuperseded(f"event {event.id} now runs as {current}")
        if isinstance(channel.driver, OpencastAgentDriver):
            # The recorder pulls its schedule, and its own reports move the event (agent_reported).
            return {"step": step, "skipped": "the recorder drives this event"}
        driver = self.drivers(channel.driver)
        move = self.transitions.move
        if step == "provision" and event.state == S.SCHEDULED:
            self._wait_until(provision_at(event, channel))
            move(event, "provision", SYSTEM, driver.provision(event, channel).detail)
        elif step == "provisioned" and event.state == S.PROVISIONING:
            if not driver.is_ready(event, channel):
                raise DriverNotReady(f"{channel.driver.type} is not ready yet")
            move(event, "provisioned", SYSTEM, "driver ready")
        elif step == "start" and event.state == S.READY:
            self._wait_until(event.start)
            self._check_lock(event)
            detail = driver.start(event, channel).detail
            try:
                move(event, "start", SYSTEM, detail, lock="take")
            except ChannelBusy as busy:
                raise DriverError(f"channel busy: event {busy.holder} is live") from busy
        elif step == "stop" and event.state == S.LIVE:
            self._wait_until(event.end)
            move(event, "stop", SYSTEM, driver.stop(event, channel).detail, lock="release", vod=event.publish)
        elif step == "teardown" and event.state == S.STOPPED:
            move(event, "teardown", SYSTEM, driver.teardown(event, channel).detail)
        else:
            return {"step": step, "skipped": event.state.value}  # already past this step (or not there yet)
        return {"step": step, "done": True}

    def _record_failure(
        self, event: Event | None, current: str | None, payload: dict[str, Any]
    ) -> dict[str, Any]:
        if not runnable(event) or payload.get("version") != current:
            return {"step": "fail", "skipped": "superseded"}  # a newer run (or none) owns the event now
        assert event is not None
        reason = failure_reason(payload.get("error"), payload.get("cause"))
        self.transitions.move(event, "fail", SYSTEM, reason, lock="release")
        return {"step": "fail", "done": True}

    def _wait_until(self, instant: datetime) -> None:
        """Sleep the little that an early Wait wake-up left (moto truncates); never refuse a step."""
        remaining = instant.timestamp() - self.wall()
        if 0 < remaining <= MAX_EARLY_SECONDS:
            self.sleep(remaining)

    def _check_lock(self, event: Event) -> None:
        holder = self.locks.holder(event.tenant_id, event.channel_id)
        if holder not in (None, event.id):
            raise DriverError(f"channel busy: event {holder} is live")
