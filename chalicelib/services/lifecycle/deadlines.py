"""Nothing is ever stuck: every state that is not terminal has a deadline, and the tick enforces it.

The runs normally move events on time; this job settles whatever a run did not (a manual start that never
came, a manual end that never came, a run that died, a driver that hung). It reads the open events whose
end passed more than `grace` ago (one Query per page of each open-events partition) and, as the system:

| state                          | deadline                      | what happens                         |
|--------------------------------|-------------------------------|--------------------------------------|
| scheduled, provisioning, ready | end + grace                   | torn down if provisioned; cancelled  |
| live, automatic end            | end + grace                   | stopped (the driver too); torn down  |
| live, manual end               | end + overrun                 | stopped (the driver too); torn down  |
| stopped                        | stop + teardown delay + grace | torn down: completed                 |

Driver failures are noted in the history and never keep an event from settling.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from chalicelib.adapters.drivers import DriverError, LifecycleDriver
from chalicelib.adapters.events import EventStore
from chalicelib.adapters.lock import ChannelLocks
from chalicelib.adapters.records import RecordStore
from chalicelib.domain.errors import StaleWrite
from chalicelib.domain.lifecycle import TERMINAL
from chalicelib.domain.messages import SYSTEM
from chalicelib.domain.models import Channel, Driver, Event, EventState
from chalicelib.services.lifecycle.runs import RunKeeper
from chalicelib.services.lifecycle.transitions import Transitioner

log = logging.getLogger("onair.deadlines")
WRITE_ATTEMPTS = 3
S = EventState


def _noted(reason: str, step: Callable[[], Any]) -> str:
    try:
        step()
    except DriverError as error:
        return f"{reason}; driver: {error.reason}"
    return reason


class Watchdog:
    """The tick's job that settles events past their deadline."""

    def __init__(
        self,
        events: EventStore,
        channels: RecordStore[Channel],
        locks: ChannelLocks,
        transitions: Transitioner,
        runs: RunKeeper,
        drivers: Callable[[Driver], LifecycleDriver],
        grace: timedelta,
        overrun: timedelta,
    ) -> None:
        self.events = events
        self.channels = channels
        self.locks = locks
        self.transitions = transitions
        self.runs = runs
        self.drivers = drivers
        self.grace = grace
        self.overrun = overrun

    def enforce(self, now: datetime) -> dict[str, int]:
        """Settle every open event past its deadline; returns how many of each outcome."""
        counts = {"cancelled": 0, "stopped": 0, "completed": 0, "waiting": 0, "failed": 0}
        for event in self.events.unsettled(now - self.grace):
            counts[self._settle_fresh(event, now)] += 1
        return counts

    def _settle_fresh(self, event: Event, now: datetime) -> str:
        """Settle an event, reading it again when it changed since the index listed it."""
        current: Event | None = event
        for _ in range(WRITE_ATTEMPTS):
            if current is None or current.state in TERMINAL or current.deleted_at is not None:
                return "waiting"  # gone or settled meanwhile
            try:
                return self.settle(current, now)
            except StaleWrite:
                current = self.events.get(event.tenant_id, event.id)
            except Exception:
                log.exception("could not settle an event", extra={"event_id": event.id})
                return "failed"
        return "waiting"  # still changing: seen again at the next tick if still open

    def settle(self, event: Event, now: datetime) -> str:
        """Move one open event on as its deadline says; returns what happened."""
        channel = self.channels.get(event.tenant_id, event.channel_id)
        driver = self.drivers(channel.driver) if channel is not None else None
        move = self.transitions.move
        if event.state in (S.SCHEDULED, S.PROVISIONING, S.READY):
            reason = "it was never started and its end has passed"
            if event.state != S.SCHEDULED and driver is not None:
                reason = _noted(reason, lambda: driver.teardown(event, channel))
            move(event, "cancel", SYSTEM, reason)
            self.runs.stop(event)
            return "cancelled"
        if event.state == S.LIVE:
            if event.end_mode == "manual" and now < event.end + self.overrun:
                return "waiting"
            reason = (
                f"still live {int(self.overrun.total_seconds() // 60)} minutes after its end"
                if event.end_mode == "manual"
                else "still live after its end: stopped by the deadline"
            )
            if driver is not None:
                reason = _noted(reason, lambda: driver.stop(event, channel))
            stopped = move(event, "stop", SYSTEM, reason, lock="release", vod=event.publish)
            self.locks.release(event.tenant_id, event.channel_id, event.id)
            self.runs.stop(event)
            if channel is not None:
                self.runs.teardown(stopped, channel)
            return "stopped"
        if event.state == S.STOPPED:
            delay = timedelta(seconds=channel.teardown_delay_seconds) if channel is not None else timedelta(0)
            if now < event.updated_at + delay + self.grace:
                return "waiting"
            reason = "torn down by the deadline"
            if driver is not None:
                reason = _noted(reason, lambda: driver.teardown(event, channel))
            move(event, "teardown", SYSTEM, reason)
            return "completed"
        return "waiting"
