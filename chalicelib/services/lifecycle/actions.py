"""What people and recorders do to an event's lifecycle: the API's actions, a recorder's reports, the
commands other services send (stop an event being deleted, cancel one a series no longer has), and the
lifecycle's reads (history, what is live)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from chalicelib.adapters.drivers import DriverError, LifecycleDriver
from chalicelib.adapters.events import EventStore
from chalicelib.adapters.history import Entry, HistoryStore
from chalicelib.adapters.lock import ChannelBusy, ChannelLocks
from chalicelib.adapters.records import RecordStore
from chalicelib.domain import lifecycle, recorders
from chalicelib.domain.errors import Conflict, NotFound, ValidationFailed
from chalicelib.domain.inputs import MAX_EVENT_SECONDS
from chalicelib.domain.lifecycle import Transition
from chalicelib.domain.messages import SYSTEM, Actor, CancelEvent, EventChanged, StopForRemoval
from chalicelib.domain.models import Channel, Driver, Event, EventState, Principal
from chalicelib.services.booking import Booker
from chalicelib.services.common import check_if_match, optimistic
from chalicelib.services.lifecycle.runs import RunKeeper
from chalicelib.services.lifecycle.transitions import Transitioner
from chalicelib.services.messagebus import MessageBus

S = EventState
VISIBILITIES = ("none", "private", "public")


@dataclass(frozen=True)
class ActionRequest:
    """An API action with its optional arguments."""

    action: str
    seconds: int | None = None
    visibility: str | None = None
    reason: str | None = None
    allow_conflict: bool = False


def _drive(call: Callable[[], Any]) -> None:
    """Run a driver step for an action; a failure is a 409 that says why, and the state stays."""
    try:
        call()
    except DriverError as error:
        detail = f"The channel's driver failed: {error.reason}"
        raise Conflict(detail, {"driver_error": error.reason}) from error


def _noted(reason: str | None, step: Callable[[], Any]) -> str | None:
    """Run a best-effort driver step; a failure becomes a note on the reason instead of an error."""
    try:
        step()
    except DriverError as error:
        return "; ".join(filter(None, [reason, f"driver: {error.reason}"]))
    return reason


class Actions:
    """The API's lifecycle actions and the commands and reports that move events."""

    def __init__(
        self,
        events: EventStore,
        channels: RecordStore[Channel],
        locks: ChannelLocks,
        history: HistoryStore,
        booker: Booker,
        transitions: Transitioner,
        runs: RunKeeper,
        drivers: Callable[[Driver], LifecycleDriver],
        clock: Callable[[], datetime],
        bus: MessageBus,
    ) -> None:
        self.events = events
        self.channels = channels
        self.locks = locks
        self.history_store = history
        self.booker = booker
        self.transitions = transitions
        self.runs = runs
        self.drivers = drivers
        self.clock = clock
        self.bus = bus

    def listen(self, bus: MessageBus) -> None:
        bus.answer(StopForRemoval, self.stop_for_removal)
        bus.answer(CancelEvent, self.cancel)

    # -- the API's actions ----------------------------------------------------------------------------

    def act(self, principal: Principal, event_id: str, request: ActionRequest, if_match: str | None) -> Event:
        """Run an API action; 422 for an unknown one, 409 naming the state when it is not allowed.

        An action that loses a race with the event's own run or another client's change is decided
        again on a fresh read (the client sees 412 only for its own stale `If-Match`).
        """
        actor = Actor.of(principal)

        def attempt() -> Event:
            current = self._get(principal.tenant_id, event_id)
            check_if_match(if_match, current)
            transition = lifecycle.apply(current.state, request.action)
            if current.deleted_at is not None and request.action != "force_stop":
                raise Conflict("The event is deleted; restore it first.", {"state": current.state.value})
            channel = self.booker.channel(current.tenant_id, current.channel_id)
            return self._act(current, channel, transition, request, actor)

        return optimistic(if_match, attempt, "event")

    def _act(
        self, event: Event, channel: Channel, transition: Transition, request: ActionRequest, actor: Actor
    ) -> Event:
        action, reason = request.action, request.reason
        driver = self.drivers(channel.driver)
        move = self.transitions.move
        if action == "provision":
            _drive(lambda: driver.provision(event, channel))
            event = move(event, "provision", actor, reason)
            if driver.is_ready(event, channel):
                event = move(event, "provisioned", actor, reason)
            return event
        if action == "start":
            if self.clock() >= event.end:
                raise Conflict("The event has ended; it can no longer start.", {"state": event.state.value})
            holder = self.locks.holder(event.tenant_id, event.channel_id)
            if holder not in (None, event.id):
                raise ChannelBusy(holder)
            _drive(lambda: driver.start(event, channel))
            return move(event, "start", actor, reason, lock="take")
        if action in ("stop", "force_stop"):
            if action == "stop":
                _drive(lambda: driver.stop(event, channel))
                note = reason
            else:  # the override: a driver that cannot stop must not keep the channel locked
                note = _noted(reason, lambda: driver.stop(event, channel))
            stopped = move(event, action, actor, note, lock="release", vod=event.publish, always_record=True)
            if action == "force_stop":
                self.locks.release(event.tenant_id, event.channel_id, event.id)
            self.runs.stop(event)
            if stopped.deleted_at is None:
                self.runs.teardown(stopped, channel)
            return stopped
        if action == "cancel":
            if event.state in (S.PROVISIONING, S.READY):  # give back what provision took
                reason = _noted(reason, lambda: driver.teardown(event, channel))
            cancelled = move(event, "cancel", actor, reason)
            self.runs.stop(event)
            return cancelled
        if action in ("publish", "unpublish"):
            return self.transitions.edit(event, {"published": transition.published}, actor)
        if action == "set_vod":
            if request.visibility not in VISIBILITIES:
                raise ValidationFailed.one("/visibility", f"must be one of: {', '.join(VISIBILITIES)}")
            return self.transitions.edit(event, {"vod": request.visibility}, actor)
        if action == "extend":
            return self._extend(event, channel, request.seconds, request.allow_conflict, actor)
        raise AssertionError(f"action {action} has no handler")  # the table and this method disagree

    def _extend(
        self, event: Event, channel: Channel, seconds: int | None, allow_conflict: bool, actor: Actor
    ) -> Event:
        if seconds is None or seconds <= 0:
            raise ValidationFailed.one("/seconds", "is required for extend and must be greater than 0")
        if event.duration + seconds > MAX_EVENT_SECONDS:
            raise ValidationFailed.one(
                "/seconds", f"would make the event longer than {MAX_EVENT_SECONDS} seconds (31 days)"
            )
        updated = event.model_copy(
            update={
                "end": event.end + timedelta(seconds=seconds),
                "updated_at": self.clock(),
                "version": event.version + 1,
            }
        )
        # A booking change: overlaps are checked again, and the run's automatic stop moves with it.
        written = self.booker.book(updated, event, channel, allow_conflict, actor)
        self.bus.publish(
            EventChanged(
                written.event, event, actor, {"end": written.event.model_dump(mode="json")["end"]}, channel
            )
        )
        return written.event

    # -- commands -------------------------------------------------------------------------------------

    def stop_for_removal(self, command: StopForRemoval) -> Event:
        """An event being deleted leaves its equipment as it found it: a live one is stopped (its driver
        stopped, the lock released) and torn down, one being prepared is torn down and cancelled, one
        waiting for its teardown is torn down; each step in the history by the deleting actor."""
        event, actor = command.event, command.actor
        channel = self.channels.get(event.tenant_id, event.channel_id)
        driver = self.drivers(channel.driver) if channel is not None else None
        reason = "the event was deleted"
        if event.state == S.LIVE:
            note = _noted(reason, lambda: driver.stop(event, channel)) if driver else reason
            event = self.transitions.move(event, "stop", actor, note, lock="release", vod=event.publish)
        if event.state == S.STOPPED:
            note = _noted(reason, lambda: driver.teardown(event, channel)) if driver else reason
            event = self.transitions.move(event, "teardown", actor, note)
        elif event.state in (S.PROVISIONING, S.READY):
            note = _noted(reason, lambda: driver.teardown(event, channel)) if driver else reason
            event = self.transitions.move(event, "cancel", actor, note)
        self.runs.stop(event)
        self.locks.release(event.tenant_id, event.channel_id, event.id)
        return event

    def cancel(self, command: CancelEvent) -> Event:
        """Cancel an event that has not started (a series no longer has it): history, run stopped."""
        cancelled = self.transitions.move(command.event, "cancel", command.actor, command.reason)
        self.runs.stop(command.event)
        return cancelled

    # -- room recorders -------------------------------------------------------------------------------

    def agent_reported(self, event: Event, agent: str, report: str) -> Event:
        """A recorder's report moves its event (`domain/recorders.py` has the table); None of it → unchanged.

        A recorder capturing this booking while another is still marked live on its channel has moved on:
        that one is stopped first, so a lost `capture_finished` never blocks the room.
        """
        transition = recorders.move(event.state, report)
        if transition is None:
            return event
        actor = SYSTEM if report == recorders.NOT_STARTED else Actor.agent(agent)
        reason = recorders.reason(agent, report)
        lock = "take" if transition.target == S.LIVE else ("release" if event.state == S.LIVE else None)
        move = self.transitions.move
        try:
            return move(event, "", actor, reason, lock, event.publish, transition=transition)
        except ChannelBusy as busy:
            holder = self.events.get(event.tenant_id, busy.holder) if busy.holder else None
            if holder is not None and holder.state == S.LIVE:
                move(holder, "stop", actor, f"{agent} started {event.id}", lock="release", vod=holder.publish)
            elif busy.holder:
                self.locks.release(event.tenant_id, event.channel_id, busy.holder)
            return move(event, "", actor, reason, lock, event.publish, transition=transition)

    # -- reads ----------------------------------------------------------------------------------------

    def history(self, principal: Principal, event_id: str) -> list[Entry]:
        """The event's transitions, oldest first (404 for another tenant's event)."""
        self._get(principal.tenant_id, event_id)
        return self.history_store.list(principal.tenant_id, event_id)

    def live(self, principal: Principal, channel_id: str) -> Event | None:
        """The event live on the channel now, or None."""
        if self.channels.get(principal.tenant_id, channel_id) is None:
            raise NotFound(f"No channel {channel_id}.")
        holder = self.locks.holder(principal.tenant_id, channel_id)
        event = self.events.get(principal.tenant_id, holder) if holder else None
        return event if event is not None and event.state == S.LIVE else None

    def _get(self, tenant_id: str, event_id: str) -> Event:
        event = self.events.get(tenant_id, event_id)
        if event is None:
            raise NotFound(f"No event {event_id}.")
        return event
