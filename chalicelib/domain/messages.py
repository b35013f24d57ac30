"""What happened, as the services record it, and who did it.

A service records one message per change it made (`EventBooked`, `EventStateChanged`, ...); after the
write, the message bus (`chalicelib.services.messagebus`) hands it to the listeners `bootstrap` registered:
notifications on EventBridge, lifecycle runs, series summaries, the audit trail. A few messages are
commands (`StopForRemoval`, `CancelEvent`): one handler acts on them and answers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from chalicelib.domain.conflicts import ConflictRef
from chalicelib.domain.models import Channel, Event, Principal, Record

ActorType = Literal["key", "system", "agent", "import"]


@dataclass(frozen=True)
class Actor:
    """Who made a change: an API key, the system itself (the scheduler), a room recorder, an import."""

    type: ActorType
    id: str
    name: str

    def to_json(self) -> dict[str, str]:
        return {"type": self.type, "id": self.id, "name": self.name}

    @classmethod
    def of(cls, principal: Principal) -> Actor:
        """The actor a request's principal stands for (a key, or an import acting as one)."""
        return cls(principal.actor_type, principal.key_id, principal.name)  # type: ignore[arg-type]

    @classmethod
    def agent(cls, name: str) -> Actor:
        return cls("agent", name, name)

    @classmethod
    def from_json(cls, data: Any) -> Actor:
        """An actor as stored; a plain string (history written before actors were objects) is read as
        the system when it says `scheduler`, else as a key known only by its name."""
        if isinstance(data, dict):
            return cls(data.get("type", "key"), str(data.get("id", "")), str(data.get("name", "")))
        text = str(data)
        if text == SYSTEM.name:
            return SYSTEM
        if text.startswith("agent:"):
            return cls.agent(text.removeprefix("agent:"))
        return cls("key", "", text)


SYSTEM = Actor("system", "scheduler", "scheduler")
"""The system itself: the materialiser, the lifecycle's runs and deadlines."""


class Message:
    """Something that happened (an event in cosmicpython's sense)."""

    tenant_id: str
    actor: Actor


class Command(Message):
    """Something to do; exactly one handler answers it."""


# -- events ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EventBooked(Message):
    """A new event was written. `deferred`: its run's marker went in with it (the tick starts the run);
    `channel` is the channel the writer had just read (saves its listeners a read)."""

    event: Event
    actor: Actor
    channel: Channel | None = None
    deferred: bool = False

    @property
    def tenant_id(self) -> str:  # type: ignore[override]
        return self.event.tenant_id


@dataclass(frozen=True)
class EventChanged(Message):
    """Fields of an event changed (not its state): `changes` names exactly those, with their new values."""

    event: Event
    previous: Event
    actor: Actor
    changes: dict[str, Any]
    channel: Channel | None = None

    @property
    def tenant_id(self) -> str:  # type: ignore[override]
        return self.event.tenant_id


@dataclass(frozen=True)
class EventRemoved(Message):
    """An event was soft-deleted (restorable) or, with `hard`, removed for good. `event` is what it was."""

    event: Event
    actor: Actor
    hard: bool
    deleted: Event | None = None  # the soft-deleted record as written

    @property
    def tenant_id(self) -> str:  # type: ignore[override]
        return self.event.tenant_id


@dataclass(frozen=True)
class EventRestored(Message):
    """A soft-deleted event was brought back."""

    event: Event
    previous: Event
    actor: Actor
    channel: Channel | None = None

    @property
    def tenant_id(self) -> str:  # type: ignore[override]
        return self.event.tenant_id


@dataclass(frozen=True)
class EventStateChanged(Message):
    """An event moved along its lifecycle: `previous.state` → `event.state`, at `at`, because `reason`."""

    event: Event
    previous: Event
    at: datetime
    actor: Actor
    reason: str | None = None

    @property
    def tenant_id(self) -> str:  # type: ignore[override]
        return self.event.tenant_id


@dataclass(frozen=True)
class SlotReleased(Message):
    """An event stopped holding the slot it had (cancelled, deleted, failed, moved): overlaps may be gone."""

    event: Event
    at: datetime
    actor: Actor

    @property
    def tenant_id(self) -> str:  # type: ignore[override]
        return self.event.tenant_id


@dataclass(frozen=True)
class OverlapAccepted(Message):
    """A booking was written with overlaps someone accepted (`allow_conflict`), or the tick found two
    endless series meeting beyond the conflict horizon. `event` is None for a series-level overlap."""

    tenant_id: str
    channel_id: str
    schedule_id: str | None
    conflicts: list[ConflictRef]
    actor: Actor
    event: Event | None = None


@dataclass(frozen=True)
class ScheduleChanged(Message):
    """A series was created, updated, split, deleted, or one of its occurrences skipped or modified.

    `after` is None when deleted; `before` None when created. `detail` holds what the action adds
    (the split's successor and `at`, the occurrence concerned)."""

    tenant_id: str
    schedule_id: str
    action: Literal["created", "updated", "deleted", "split", "occurrence_skipped", "occurrence_modified"]
    actor: Actor
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ScheduleFailed(Message):
    """The materialiser cannot make a series' events (said once per distinct reason)."""

    tenant_id: str
    schedule_id: str
    reason: str
    at: datetime
    actor: Actor


@dataclass(frozen=True)
class RecordChanged(Message):
    """A simple record (channel, source, key, tenant, feed, calendar) was created, updated or deleted.

    `before`/`after` are the record as JSON (None when created / deleted); secrets never appear."""

    tenant_id: str
    kind: str
    record_id: str
    action: Literal["created", "updated", "deleted"]
    actor: Actor
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None


@dataclass(frozen=True)
class CaptureAtRisk(Message):
    """A room recorder has been silent too long before one of its bookings."""

    event: Event
    agent: str
    last_seen: datetime | None
    actor: Actor

    @property
    def tenant_id(self) -> str:  # type: ignore[override]
        return self.event.tenant_id


@dataclass(frozen=True)
class RecordingIngested(Message):
    """A room recorder finished uploading a booking's recording."""

    event: Event
    agent: str
    files: int
    size: int
    actor: Actor

    @property
    def tenant_id(self) -> str:  # type: ignore[override]
        return self.event.tenant_id


# -- commands --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StopForRemoval(Command):
    """An event that is on air (or being prepared) is being deleted: stop it through the lifecycle first
    (driver stop or teardown, history by the deleting actor, lock released). Answers the event as left."""

    event: Event
    actor: Actor

    @property
    def tenant_id(self) -> str:  # type: ignore[override]
        return self.event.tenant_id


@dataclass(frozen=True)
class CancelEvent(Command):
    """Cancel an event that has not started, as the lifecycle does (history, run stopped). Answers the
    cancelled event."""

    event: Event
    actor: Actor
    reason: str

    @property
    def tenant_id(self) -> str:  # type: ignore[override]
        return self.event.tenant_id


def record_json(record: Record, hidden: frozenset[str] = frozenset()) -> dict[str, Any]:
    """A record as the audit trail and notifications see it (JSON, secrets and bookkeeping left out)."""
    return record.model_dump(
        mode="json", exclude={"tenant_id", "version", "booking_version", "series_count", *hidden}
    )


def schedule_json(schedule: Any) -> dict[str, Any]:
    """A series as the audit trail and notifications see it (the materialiser's bookkeeping left out)."""
    return record_json(schedule, frozenset({"materialised_until", "failure"}))
