"""The automated lifecycle: runs (Step Functions), the task steps they invoke, the API's actions, the lock.

How it fits together (docs/lifecycle.md has the whole story):

- `LifecycleService` is the `Automation` the `EventService` tells about every booking write: it starts a
  run for an event that can run, restarts it when what the run depends on changes (the *run identity*),
  and stops it when the event is cancelled or deleted.
- `handle(payload)` is what the state machine's task Lambda runs for each step. It re-reads the event;
  a run whose identity is no longer the event's raises `RunSuperseded` (the state machine ends quietly);
  a step the event is already past does nothing; otherwise the driver acts first and the transition is
  recorded after, so a driver failure leaves the state as it was and the state machine's retry runs the
  driver again.
- `act(...)` runs an API action with the same transition table and drivers.
- Every state change is one transaction: the event, its history line and, for `live`, the channel lock.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from chalicelib.adapters.drivers import DriverError, DriverNotReady, LifecycleDriver, driver_for
from chalicelib.adapters.history import Entry, HistoryStore
from chalicelib.adapters.lock import ChannelBusy, ChannelLocks
from chalicelib.adapters.runs import DueRuns
from chalicelib.adapters.stepfunctions import Runs
from chalicelib.domain import lifecycle
from chalicelib.domain.errors import Conflict, NotFound, PreconditionFailed, StaleWrite, ValidationFailed
from chalicelib.domain.inputs import MAX_EVENT_SECONDS
from chalicelib.domain.lifecycle import TERMINAL, Transition
from chalicelib.domain.models import Channel, Driver, Event, EventState, Principal
from chalicelib.domain.time import format_instant
from chalicelib.services.common import check_if_match
from chalicelib.services.events import EventService

log = logging.getLogger("onair.lifecycle")

S = EventState
SCHEDULER = "scheduler"
MAX_EARLY_SECONDS = 2.0  # moto's Waits wake up to ~1 s early; a step sleeps that remainder, never more
WRITE_ATTEMPTS = 3
VISIBILITIES = ("none", "private", "public")

Publish = Callable[[str, dict[str, Any]], None]


class RunSuperseded(Exception):
    """The run no longer matches its event (edited, cancelled, deleted): the state machine ends quietly.

    The state machine catches it by this class name (`infra/lifecycle.asl.json`).
    """


@dataclass(frozen=True)
class ActionRequest:
    """An API action with its optional arguments."""

    action: str
    seconds: int | None = None
    visibility: str | None = None
    reason: str | None = None
    allow_conflict: bool = False


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
    payload: dict[str, Any] = {
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
    return payload


def runnable(event: Event | None) -> bool:
    """Whether an event should have a run: it exists, is not deleted and has not reached a terminal state."""
    return event is not None and event.deleted_at is None and event.state not in TERMINAL


class LifecycleService:
    """Runs, steps, actions, history and the channel lock for events."""

    def __init__(
        self,
        events: EventService,
        locks: ChannelLocks,
        history: HistoryStore,
        runs: Runs,
        due: DueRuns,
        publish: Publish,
        clock: Callable[[], datetime],
        run_window: timedelta,
        drivers: Callable[[Driver], LifecycleDriver] = driver_for,
        sleep: Callable[[float], None] = time.sleep,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.events = events
        self.locks = locks
        self.history_store = history
        self.runs = runs
        self.due = due
        self.publish = publish
        self.clock = clock
        self.run_window = run_window
        self.drivers = drivers
        self.sleep = sleep
        self.wall = wall

    # -- the Automation protocol: runs follow bookings ------------------------------------------------

    def deferred_until(self, event: Event, channel: Channel) -> datetime | None:
        """A new event's provision time when it is beyond the run window (the scheduled job starts it)."""
        if not self.runs.enabled or not runnable(event):
            return None
        at = provision_at(event, channel)
        return at if at > self.clock() + self.run_window else None

    def booked(
        self, event: Event, previous: Event | None, channel: Channel | None = None, deferred: bool = False
    ) -> None:
        """Start, restart or stop the event's run after a write; never fails the write itself.

        `deferred`: the write already put the marker that has the scheduled job start the run.
        """
        if deferred:
            return
        try:
            self._follow(event, previous, channel)
        except Exception:
            log.exception("could not update the lifecycle run", extra={"event_id": event.id})

    def removed(self, event: Event) -> None:
        """A hard delete: stop the run and let go of the channel."""
        try:
            self._stop_runs(event)
            self._let_go(event)
        except Exception:
            log.exception("could not stop the lifecycle run", extra={"event_id": event.id})

    def _follow(self, event: Event, previous: Event | None, channel: Channel | None) -> None:
        if not self.runs.enabled:
            return
        if channel is None or channel.id != event.channel_id:
            channel = self.events.channels.get(event.tenant_id, event.channel_id)
        before = run_id(previous, channel) if channel and previous and runnable(previous) else None
        after = run_id(event, channel) if channel and runnable(event) else None
        if before == after:
            return
        if previous is not None and before is not None:
            self._stop_runs(previous, before)
        if after is not None and channel is not None:
            self.ensure_run(event, channel)
        if previous is not None and event.deleted_at is not None and previous.deleted_at is None:
            self._let_go(previous)

    def ensure_run(self, event: Event, channel: Channel) -> str | None:
        """Make sure the event's current run exists (idempotent); returns its execution name if started."""
        now = self.clock()
        if not self.runs.enabled or not runnable(event):
            return None
        if event.state == S.SCHEDULED and event.end <= now:
            return None  # booked after it ended: nothing left to automate
        at = provision_at(event, channel)
        if at > now + self.run_window:
            self.due.put(event.tenant_id, event.id, at)  # the scheduled job starts it when it is near
            return None
        try:
            return self.runs.start(run_name(event, run_id(event, channel)), run_input(event, channel))
        except Exception:
            log.exception("could not start a run; the scheduled job retries", extra={"event_id": event.id})
            self.due.put(event.tenant_id, event.id, at)
            return None

    def _stop_runs(self, event: Event, run: str | None = None) -> None:
        channel = self.events.channels.get(event.tenant_id, event.channel_id)
        if run is None and channel is not None:
            run = run_id(event, channel)
        if run is not None:
            self.runs.stop(run_name(event, run))
            self.runs.stop(run_name(event, run, teardown=True))
        self.due.delete(event.tenant_id, event.id)

    def _let_go(self, event: Event) -> None:
        """A deleted event that was on air: stop the driver (best effort) and free the channel."""
        if event.state not in (S.PROVISIONING, S.READY, S.LIVE):
            return
        channel = self.events.channels.get(event.tenant_id, event.channel_id)
        if channel is not None:
            try:
                driver = self.drivers(channel.driver)
                driver.stop(event, channel) if event.state == S.LIVE else driver.teardown(event, channel)
            except DriverError as error:
                log.warning("driver did not stop a deleted event: %s", error.reason)
        self.locks.release(event.tenant_id, event.channel_id, event.id)

    def start_due_runs(self, now: datetime) -> dict[str, Any]:
        """The scheduled job: start the runs of events whose provision time entered the run window."""
        started = 0
        for _ in range(10):  # at most 1,000 a tick; the rest wait for the next tick
            batch = self.due.due(now + self.run_window, limit=100)
            for marker in batch:
                # Delete first: ensure_run puts the marker back if it cannot start the run.
                self.due.delete(marker.tenant_id, marker.event_id, marker.sort_key)
                event = self.events.store.get(marker.tenant_id, marker.event_id)
                channel = self.events.channels.get(marker.tenant_id, event.channel_id) if event else None
                if event is not None and channel is not None and self.ensure_run(event, channel):
                    started += 1
            if len(batch) < 100:
                break
        return {"started": started}

    # -- the state machine's steps ---------------------------------------------------------------------

    def handle(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Run one state-machine step: `{step, tenant_id, event_id, version}` (+ `error`, `cause`)."""
        step = payload["step"]
        for _ in range(WRITE_ATTEMPTS):
            try:
                return self._step(step, payload)
            except StaleWrite:
                continue  # an action or edit wrote the event meanwhile: read it again and decide again
        raise DriverError(f"{step}: the event kept changing while the step ran")

    def _step(self, step: str, payload: dict[str, Any]) -> dict[str, Any]:
        event = self.events.store.get(payload["tenant_id"], payload["event_id"])
        channel = self.events.channels.get(event.tenant_id, event.channel_id) if event else None
        current = run_id(event, channel) if event is not None and channel is not None else None
        if step == "fail":
            return self._record_failure(event, channel, current, payload)
        if event is None or channel is None or not runnable(event):
            raise RunSuperseded(f"event {payload['event_id']} is gone, deleted or over")
        if payload.get("version") != current:
            self.ensure_run(event, channel)  # a channel edit changes the identity too: heal, then bow out
            raise RunSuperseded(f"event {event.id} now runs as {current}")
        driver = self.drivers(channel.driver)
        if step == "provision" and event.state == S.SCHEDULED:
            self._wait_until(provision_at(event, channel))
            detail = driver.provision(event, channel).detail
            self._transition(event, "provision", SCHEDULER, detail)
        elif step == "provisioned" and event.state == S.PROVISIONING:
            if not driver.is_ready(event, channel):
                raise DriverNotReady(f"{channel.driver.type} is not ready yet")
            self._transition(event, "provisioned", SCHEDULER, "driver ready")
        elif step == "start" and event.state == S.READY:
            self._wait_until(event.start)
            self._check_lock(event)
            detail = driver.start(event, channel).detail
            try:
                self._transition(event, "start", SCHEDULER, detail, lock="take")
            except ChannelBusy as busy:
                raise DriverError(f"channel busy: event {busy.holder} is live") from busy
        elif step == "stop" and event.state == S.LIVE:
            self._wait_until(event.end)
            detail = driver.stop(event, channel).detail
            self._transition(event, "stop", SCHEDULER, detail, lock="release", vod=event.publish)
        elif step == "teardown" and event.state == S.STOPPED:
            detail = driver.teardown(event, channel).detail
            self._transition(event, "teardown", SCHEDULER, detail)
        else:
            return {"step": step, "skipped": event.state.value}  # already past this step (or not there yet)
        return {"step": step, "done": True}

    def _record_failure(
        self, event: Event | None, channel: Channel | None, current: str | None, payload: dict[str, Any]
    ) -> dict[str, Any]:
        if not runnable(event) or payload.get("version") != current:
            return {"step": "fail", "skipped": "superseded"}  # a newer run (or none) owns the event now
        assert event is not None
        reason = failure_reason(payload.get("error"), payload.get("cause"))
        self._transition(event, "fail", SCHEDULER, reason, lock="release")
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

    # -- actions ---------------------------------------------------------------------------------------

    def cancel(self, event: Event, actor: str, reason: str) -> Event | None:
        """Cancel on behalf of the system (a series edit): history line, notification, run stopped."""
        cancelled = self._transition(event, "cancel", actor, reason)
        self._stop_runs(event)
        return cancelled

    def act(self, principal: Principal, event_id: str, request: ActionRequest, if_match: str | None) -> Event:
        """Run an API action; 422 for an unknown one, 409 naming the state when it is not allowed."""
        current = self.events.get(principal, event_id)
        check_if_match(if_match, current)
        transition = lifecycle.apply(current.state, request.action)
        if current.deleted_at is not None and request.action != "force_stop":
            raise Conflict("The event is deleted; restore it first.", {"state": current.state.value})
        channel = self.events.channel(current.tenant_id, current.channel_id)
        actor, reason = principal.name, request.reason
        try:
            return self._act(current, channel, transition, request, actor, reason)
        except StaleWrite:
            raise PreconditionFailed("The event changed while the action ran; read it and retry.") from None

    def _act(
        self,
        event: Event,
        channel: Channel,
        transition: Transition,
        request: ActionRequest,
        actor: str,
        reason: str | None,
    ) -> Event:
        action = request.action
        driver = self.drivers(channel.driver)
        if action == "provision":
            _drive(lambda: driver.provision(event, channel))
            event = self._transition(event, "provision", actor, reason)
            if driver.is_ready(event, channel):
                event = self._transition(event, "provisioned", actor, reason)
            return event
        if action == "start":
            self._check_lock_action(event)
            _drive(lambda: driver.start(event, channel))
            return self._transition(event, "start", actor, reason, lock="take")
        if action in ("stop", "force_stop"):
            note = reason
            if action == "stop":
                _drive(lambda: driver.stop(event, channel))
            else:
                try:  # the override: a driver that cannot stop must not keep the channel locked
                    driver.stop(event, channel)
                except DriverError as error:
                    note = "; ".join(filter(None, [reason, f"driver: {error.reason}"]))
            stopped = self._transition(
                event, action, actor, note, lock="release", vod=event.publish, always_record=True
            )
            if action == "force_stop":
                self.locks.release(event.tenant_id, event.channel_id, event.id)
            self._stop_runs(event)
            if stopped.deleted_at is None:
                self._start_teardown(stopped, channel)
            return stopped
        if action == "cancel":
            if event.state in (S.PROVISIONING, S.READY):
                try:
                    driver.teardown(event, channel)  # give back what provision took
                except DriverError as error:
                    reason = "; ".join(filter(None, [reason, f"driver: {error.reason}"]))
            cancelled = self._transition(event, "cancel", actor, reason)
            self._stop_runs(event)
            self.events.released(event, cancelled.updated_at)  # its slot is free: overlaps may be gone
            return cancelled
        if action in ("publish", "unpublish"):
            return self._edit(event, {"published": transition.published})
        if action == "set_vod":
            if request.visibility not in VISIBILITIES:
                raise ValidationFailed.one("/visibility", f"must be one of: {', '.join(VISIBILITIES)}")
            return self._edit(event, {"vod": request.visibility})
        if action == "extend":
            return self._extend(event, channel, request.seconds, request.allow_conflict)
        raise AssertionError(f"action {action} has no handler")  # the table and this method disagree

    def _start_teardown(self, event: Event, channel: Channel) -> None:
        """After a manual stop: a run that waits `teardown_delay_seconds` and tears down."""
        name = run_name(event, run_id(event, channel), teardown=True)
        try:
            self.runs.start(name, run_input(event, channel, teardown=True))
        except Exception:
            log.exception("could not start the teardown run", extra={"event_id": event.id})

    def _check_lock_action(self, event: Event) -> None:
        holder = self.locks.holder(event.tenant_id, event.channel_id)
        if holder not in (None, event.id):
            raise ChannelBusy(holder)

    def _extend(self, event: Event, channel: Channel, seconds: int | None, allow_conflict: bool) -> Event:
        if seconds is None or seconds <= 0:
            raise ValidationFailed.one("/seconds", "is required for extend and must be greater than 0")
        if event.duration + seconds > MAX_EVENT_SECONDS:
            raise ValidationFailed.one(
                "/seconds", f"would make the event longer than {MAX_EVENT_SECONDS} seconds (31 days)"
            )
        now = self.clock()
        updated = event.model_copy(
            update={
                "end": event.end + timedelta(seconds=seconds),
                "updated_at": now,
                "version": event.version + 1,
            }
        )
        # A booking change: overlaps are checked again, and booked() moves the run's automatic stop.
        updated = self.events.book(updated, event, channel, allow_conflict)
        self.publish(
            "Event Updated",
            {"tenant_id": event.tenant_id, "id": event.id, "changes": {"end": format_instant(updated.end)}},
        )
        return updated

    def _edit(self, event: Event, fields: dict[str, Any]) -> Event:
        """An in-place change that is not a state transition (published, vod)."""
        if all(getattr(event, name) == value for name, value in fields.items()):
            return event
        updated = event.model_copy(
            update={**fields, "updated_at": self.clock(), "version": event.version + 1}
        )
        self.locks.write(updated, event, None)
        self.publish("Event Updated", {"tenant_id": event.tenant_id, "id": event.id, "changes": fields})
        return updated

    # -- reads -----------------------------------------------------------------------------------------

    def history(self, principal: Principal, event_id: str) -> list[Entry]:
        """The event's transitions, oldest first (404 for another tenant's event)."""
        self.events.get(principal, event_id)
        return self.history_store.list(principal.tenant_id, event_id)

    def live(self, principal: Principal, channel_id: str) -> Event | None:
        """The event live on the channel now, or None."""
        if self.events.channels.get(principal.tenant_id, channel_id) is None:
            raise NotFound(f"No channel {channel_id}.")
        holder = self.locks.holder(principal.tenant_id, channel_id)
        event = self.events.store.get(principal.tenant_id, holder) if holder else None
        return event if event is not None and event.state == S.LIVE else None

    # -- the one way states change ---------------------------------------------------------------------

    def _transition(
        self,
        event: Event,
        name: str,
        actor: str,
        reason: str | None,
        lock: str | None = None,
        vod: str | None = None,
        always_record: bool = False,
    ) -> Event:
        """Write the table's transition with its history line (and lock change) in one transaction."""
        step = lifecycle.advance(event.state, name) if name in lifecycle.STEPS else None
        transition = step or lifecycle.apply(event.state, name)
        now = self.clock()
        fields: dict[str, Any] = {"state": transition.target, "updated_at": now, "version": event.version + 1}
        frees = event.occupies() and transition.target in (S.CANCELLED, S.FAILED)
        if frees:
            fields["overlaps"] = []
        if transition.published is not None:
            fields["published"] = transition.published
        if vod is not None and transition.target == S.STOPPED:
            fields["vod"] = vod
        updated = event.model_copy(update=fields)
        record = transition.changes_state or always_record
        entry = Entry(
            event.tenant_id, event.id, event.state, transition.target, now, actor, reason, updated.version
        )
        self.locks.write(updated, event, lock, [self.history_store.put_op(entry)] if record else None)
        if frees:
            self.events.drop_marks(event)
        if transition.changes_state:
            self.publish(
                "Event State Changed",
                {
                    "tenant_id": event.tenant_id,
                    "id": event.id,
                    "channel_id": event.channel_id,
                    "from": event.state.value,
                    "to": transition.target.value,
                    "at": format_instant(now),
                    "actor": actor,
                    "reason": reason,
                },
            )
        return updated


def _drive(call: Callable[[], Any]) -> None:
    """Run a driver step for an action; a failure is a 409 that says why, and the state stays."""
    try:
        call()
    except DriverError as error:
        detail = f"The channel's driver failed: {error.reason}"
        raise Conflict(detail, {"driver_error": error.reason}) from error


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
