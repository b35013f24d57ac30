"""Records as the domain sees them: tenants, keys, channels, sources and events."""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from chalicelib.domain.time import Instant


class Scope(StrEnum):
    """What a key may do: read (GET), write (changes, actions), admin (keys), operator (tenants)."""

    READ = "read"
    WRITE = "write"
    ADMIN = "admin"
    OPERATOR = "operator"


class EventState(StrEnum):
    """Lifecycle states of an event (PRODUCT.md, Lifecycle)."""

    SCHEDULED = "scheduled"
    PROVISIONING = "provisioning"
    READY = "ready"
    LIVE = "live"
    STOPPED = "stopped"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    FAILED = "failed"


class Model(BaseModel):
    """The base of every onair model: validators and serializers are built on first use, not at import.

    Building all ~65 at import costs every Lambda cold start ~40 ms; a request uses a few of them.
    """

    model_config = ConfigDict(defer_build=True)


class Record(Model):
    """Fields every stored record has; `version` drives ETags and optimistic writes."""

    model_config = ConfigDict(extra="ignore")

    id: str
    tenant_id: str
    created_at: Instant
    updated_at: Instant
    version: int = 1


class Tenant(Record):
    name: str


class ApiKey(Record):
    """A key's public record; the secret itself is never stored, only its SHA-256."""

    name: str
    scopes: list[Scope]
    prefix: str
    key_hash: str


class Principal(Model):
    """Who is calling: the tenant, the key and its scopes (an import acts with its own identity)."""

    tenant_id: str
    key_id: str
    name: str
    scopes: frozenset[Scope]
    actor_type: Literal["key", "import", "agent", "system"] = "key"


class NoopDriver(Model):
    type: Literal["noop"] = "noop"


class WebhookDriver(Model):
    type: Literal["webhook"]
    url: str
    secret: str | None = None


class MediaLiveDriver(Model):
    type: Literal["medialive"]
    channel_id: str


class OpencastAgentDriver(Model):
    """A room recorder that pulls its schedule (Opencast capture-agent protocol, docs/recorders.md).

    `digest` maps each digest algorithm to HA1 = H(agent:realm:password); the password is never stored.
    """

    type: Literal["opencast_agent"]
    agent: str
    digest: dict[str, str] = Field(default_factory=dict)


Driver = Annotated[
    NoopDriver | WebhookDriver | MediaLiveDriver | OpencastAgentDriver, Field(discriminator="type")
]


class Channel(Record):
    name: str
    description: str | None = None
    location: str | None = None
    timezone: str = "UTC"
    changeover_seconds: int = 0
    provision_lead_seconds: int = 0
    teardown_delay_seconds: int = 0
    driver: Driver = Field(default_factory=NoopDriver)
    # Longest booking ever made on the channel: bounds window queries (see docs/dynamodb.md).
    max_event_seconds: int = 0
    # Bumped by every booking write on the channel: a condition on it makes deletes and checks race-free.
    booking_version: int = 0
    # How many series the channel has (paused and ended ones too): none means no series to read.
    series_count: int = 0

    @property
    def changeover(self) -> timedelta:
        return timedelta(seconds=self.changeover_seconds)


class Source(Record):
    name: str
    description: str | None = None
    type: str | None = None
    host: str | None = None
    port: int | None = None
    url: str | None = None


class Setting(Model):
    key: str
    values: dict[str, str] = Field(default_factory=dict)


class Share(Model):
    users: list[str] = Field(default_factory=list)
    groups: list[str] = Field(default_factory=list)


class Event(Record):
    title: str
    channel_id: str
    start: Instant
    end: Instant
    source_ids: list[str] = Field(default_factory=list)
    start_mode: Literal["auto", "manual"] = "auto"
    end_mode: Literal["auto", "manual"] = "auto"
    record: bool = True
    publish: Literal["none", "private", "public"] = "none"
    ref_id: str | None = None
    external_id: str | None = None
    tags: list[str] = Field(default_factory=list)
    category: str | None = None
    metadata: dict[str, str | int | float | bool] = Field(default_factory=dict)
    settings: list[Setting] = Field(default_factory=list)
    share: Share = Field(default_factory=Share)
    state: EventState = EventState.SCHEDULED
    published: bool = False
    vod: Literal["none", "private", "public"] = "none"
    schedule_id: str | None = None
    occurrence_start: Instant | None = None
    deleted_at: Instant | None = None
    # Events this one overlaps by an accepted overlap (allow_conflict), kept on both sides.
    overlaps: list[str] = Field(default_factory=list)

    @property
    def duration(self) -> int:
        return int((self.end - self.start).total_seconds())

    def occupies(self) -> bool:
        """Whether the event holds its slot on the channel (cancelled, failed and deleted ones do not)."""
        return self.deleted_at is None and self.state not in (EventState.CANCELLED, EventState.FAILED)


def is_future(event: Event, now: datetime) -> bool:
    """Whether an event that still holds its slot has not ended yet."""
    return event.occupies() and event.end > now and event.state != EventState.COMPLETED
