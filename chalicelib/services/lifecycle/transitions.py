"""The one way an event's state changes: the event, its history line and the channel lock in one
transaction, then one `EventStateChanged` (and a `SlotReleased` when the event gives its slot up)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from chalicelib.adapters.history import Entry
from chalicelib.adapters.lock import ChannelLocks
from chalicelib.domain import lifecycle
from chalicelib.domain.lifecycle import Transition
from chalicelib.domain.messages import Actor, EventChanged, EventStateChanged, SlotReleased
from chalicelib.domain.models import Event, EventState
from chalicelib.services.booking import Booker
from chalicelib.services.messagebus import MessageBus

S = EventState
FREEING = (S.CANCELLED, S.FAILED)


class Transitioner:
    """Writes transitions from the pure table (`chalicelib.domain.lifecycle`)."""

    def __init__(
        self, locks: ChannelLocks, booker: Booker, clock: Callable[[], datetime], bus: MessageBus
    ) -> None:
        self.locks = locks
        self.booker = booker
        self.clock = clock
        self.bus = bus

    def move(
        self,
        event: Event,
        name: str,
        actor: Actor,
        reason: str | None,
        lock: str | None = None,
        vod: str | None = None,
        always_record: bool = False,
        transition: Transition | None = None,
    ) -> Event:
        """Write the table's transition `name` (or the given one) with its history line and lock change
        (`"take"` or `"release"`), atomically; announce it. Raises `StaleWrite` if the event changed."""
        if transition is None:
            step = lifecycle.advance(event.state, name) if name in lifecycle.STEPS else None
            transition = step or lifecycle.apply(event.state, name)
        now = self.clock()
        fields: dict[str, Any] = {"state": transition.target, "updated_at": now, "version": event.version + 1}
        frees = event.occupies() and transition.target in FREEING
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
        self.locks.write(updated, event, lock, entry if record else None)
        if frees:
            self.booker.drop_marks(event)
            self.bus.publish(SlotReleased(event, now, actor))
        if transition.changes_state:
            self.bus.publish(EventStateChanged(updated, event, now, actor, reason))
        return updated

    def edit(self, event: Event, fields: dict[str, Any], actor: Actor) -> Event:
        """An in-place change that is not a state transition (`published`, `vod`); announced as one."""
        if all(getattr(event, name) == value for name, value in fields.items()):
            return event
        updated = event.model_copy(
            update={**fields, "updated_at": self.clock(), "version": event.version + 1}
        )
        self.locks.write(updated, event, None)
        self.bus.publish(EventChanged(updated, event, actor, dict(fields)))
        return updated
