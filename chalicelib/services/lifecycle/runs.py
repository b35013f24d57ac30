"""Lifecycle runs follow bookings: one Step Functions execution per event run, started, restarted and
stopped as the event's booking changes.

The run identity is a hash of what the run's timing depends on (not the event's version), and names the
execution, so starting twice never runs twice. Runs start when an event's provision time is within the
run window; later ones are marked for the scheduled job (`start_due_runs`).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from chalicelib.adapters.events import EventStore
from chalicelib.adapters.lock import ChannelLocks
from chalicelib.adapters.records import RecordStore
from chalicelib.adapters.runs import DueRuns
from chalicelib.adapters.stepfunctions import Runs
from chalicelib.domain.lifecycle import TERMINAL
from chalicelib.domain.messages import EventBooked, EventChanged, EventRemoved, EventRestored
from chalicelib.domain.models import Channel, Event
from chalicelib.domain.time import format_instant
from chalicelib.services.messagebus import MessageBus

log = logging.getLogger("onair.lifecycle")


def provision_at(event: Event, channel: Channel) -> datetime:
    """When the run provisions the event: `provision_lead_seconds` before its start."""
    return event.start - timedelta(seconds=channel.provision_lead_seconds)


def run_id(event: Event, channel: Channel) -> str:
    """The run identity: a short hash of what the run's timing depends on, and nothing else.

    Not the event's `version`: that changes with every write (title edits, the run's own transitions),
    and a run must survive those.
    """
    basis = [
        format_instant(event.start),
        format_instant(event.end),
        event.start_mode,
        event.end_mode,
        event.channel_id,
        channel.provision_lead_seconds,
        channel.teardown_delay_seconds,
    ]
    return hashlib.sha256(json.dumps(basis).encode()).hexdigest()[:12]


def run_name(event: Event, run: str, teardown: bool = False) -> str:
    """The deterministic execution name: event id and run identity (`-td` for a teardown-only run)."""
    return f"{event.id}-{run}" + ("-td" if teardown else "")


def run_input(event: Event, channel: Channel, teardown: bool = False) -> dict[str, Any]:
    """The state machine's input (the ASL's `version` carries the run identity)."""
    return {
        "tenant_id": event.tenant_id,
        "event_id": event.id,
        "version": run_id(event, channel),
        "provision_at": format_instant(provision_at(event, channel)),
        "start_at": format_instant(event.start),
        "end_at": format_instant(event.end),
        "teardown_delay_seconds": channel.teardown_delay_seconds,
        "start_mode": event.start_mode,
        "end_mode": event.end_mode,
        # Always present: the ASL's IsPresent check on a missing path works but moto logs it as an error.
        "phase": "teardown" if teardown else "full",
    }


def runnable(event: Event | None) -> bool:
    """Whether an event should have a run: it exists, is not deleted and has not reached a terminal state."""
    return event is not None and event.deleted_at is None and event.state not in TERMINAL


class RunPolicy:
    """When a new event's run is left to the scheduled job (beyond the run window)."""

    def __init__(self, enabled: bool, clock: Callable[[], datetime], window: timedelta) -> None:
        self.enabled = enabled
        self.clock = clock
        self.window = window

    def deferred_until(self, event: Event, channel: Channel) -> datetime | None:
        """The provision time when it is beyond the run window (the booking writes the marker), else None."""
        if not self.enabled or not runnable(event):
            return None
        at = provision_at(event, channel)
        return at if at > self.clock() + self.window else None


class RunKeeper:
    """Starts, restarts and stops runs as bookings change; the scheduled job starts the deferred ones."""

    def __init__(
        self,
        runs: Runs,
        due: DueRuns,
        events: EventStore,
        channels: RecordStore[Channel],
        locks: ChannelLocks,
        clock: Callable[[], datetime],
        window: timedelta,
    ) -> None:
        self.runs = runs
        self.due = due
        self.events = events
        self.channels = channels
        self.locks = locks
        self.clock = clock
        self.window = window

    def listen(self, bus: MessageBus) -> None:
        bus.subscribe(EventBooked, self.booked)
        bus.subscribe(EventChanged, lambda m: self.follow(m.event, m.previous, m.channel))
        bus.subscribe(EventRestored, lambda m: self.follow(m.event, m.previous, m.channel))
        bus.subscribe(EventRemoved, self.removed)

    def booked(self, message: EventBooked) -> None:
        """A new event: start its run, unless its write carried the marker for the scheduled job."""
        if not message.deferred:
            self.follow(message.event, None, message.channel)

    def removed(self, message: EventRemoved) -> None:
        """A deleted event has no run; the lock it might still hold goes (it was stopped first)."""
        self.stop(message.event)
        self.locks.release(message.event.tenant_id, message.event.channel_id, message.event.id)

    def follow(self, event: Event, previous: Event | None, channel: Channel | None) -> None:
        """Start, restart or stop the event's run after a write."""
        if not self.runs.enabled:
            return
        if channel is None or channel.id != event.channel_id:
            channel = self.channels.get(event.tenant_id, event.channel_id)
        before = run_id(previous, channel) if channel and previous and runnable(previous) else None
        after = run_id(event, channel) if channel and runnable(event) else None
        if before == after:
            return
        if previous is not None and before is not None:
            self.stop(previous, before)
        if after is not None and channel is not None:
            self.ensure(event, channel)

    def ensure(self, event: Event, channel: Channel) -> str | None:
        """Make sure the event's current run exists (idempotent); returns its execution name if started."""
        now = self.clock()
        if not self.runs.enabled or not runnable(event):
            return None
        if event.end <= now:
            return None  # nothing left to automate: the deadlines job settles it
        at = provision_at(event, channel)
        if at > now + self.window:
            self.due.put(event.tenant_id, event.id, at)  # the scheduled job starts it when it is near
            return None
        try:
            return self.runs.start(run_name(event, run_id(event, channel)), run_input(event, channel))
        except Exception:
            log.exception("could not start a run; the scheduled job retries", extra={"event_id": event.id})
            self.due.put(event.tenant_id, event.id, at)
            return None

    def teardown(self, event: Event, channel: Channel) -> None:
        """After a stop outside the run: a run that waits `teardown_delay_seconds` and tears down."""
        name = run_name(event, run_id(event, channel), teardown=True)
        try:
            self.runs.start(name, run_input(event, channel, teardown=True))
        except Exception:
            log.exception("could not start the teardown run", extra={"event_id": event.id})

    def stop(self, event: Event, run: str | None = None) -> None:
        """Stop the event's runs (and forget its marker)."""
        if run is None:
            channel = self.channels.get(event.tenant_id, event.channel_id)
            run = run_id(event, channel) if channel is not None else None
        if run is not None:
            self.runs.stop(run_name(event, run))
            self.runs.stop(run_name(event, run, teardown=True))
        self.due.delete(event.tenant_id, event.id)

    def start_due_runs(self, now: datetime) -> dict[str, Any]:
        """The scheduled job: start the runs of events whose provision time entered the run window."""
        started = 0
        for _ in range(10):  # at most 1,000 a tick; the rest wait for the next tick
            batch = self.due.due(now + self.window, limit=100)
            for marker in batch:
                # Delete first: `ensure` puts the marker back if it cannot start the run.
                self.due.delete(marker.tenant_id, marker.event_id, marker.sort_key)
                event = self.events.get(marker.tenant_id, marker.event_id)
                channel = self.channels.get(marker.tenant_id, event.channel_id) if event else None
                if event is not None and channel is not None and self.ensure(event, channel):
                    started += 1
            if len(batch) < 100:
                break
        return {"started": started}
