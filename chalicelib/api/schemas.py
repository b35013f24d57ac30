"""What the API returns and accepts in query strings; converted explicitly from domain records."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import ConfigDict, Field, field_validator, model_validator

from chalicelib.domain.errors import ValidationFailed
from chalicelib.domain.models import (
    ApiKey,
    Channel,
    Event,
    EventState,
    MediaLiveDriver,
    Model,
    NoopDriver,
    OpencastAgentDriver,
    Scope,
    Setting,
    Share,
    Source,
    Tenant,
    WebhookDriver,
)
from chalicelib.domain.time import Instant

if TYPE_CHECKING:  # not at runtime: domain.schedules pulls in the recurrence engine (cold start)
    from chalicelib.domain.schedules import Schedule


class Out(Model):
    id: str
    created_at: Instant
    updated_at: Instant


class Health(Model):
    status: Literal["ok"] = "ok"


class TenantOut(Out):
    name: str

    @classmethod
    def of(cls, tenant: Tenant) -> TenantOut:
        return cls.model_validate(tenant.model_dump())


class TenantCreated(TenantOut):
    admin_key: str | None = Field(
        description="The tenant's first admin key; shown once, stored only as a hash (null on a replay)"
    )


class KeyOut(Out):
    name: str
    scopes: list[Scope]
    prefix: str = Field(description="The key's first characters, to recognise it")

    @classmethod
    def of(cls, key: ApiKey) -> KeyOut:
        return cls.model_validate(key.model_dump())


class KeyCreated(KeyOut):
    key: str | None = Field(description="The API key; shown once, stored only as a hash (null on a replay)")


class WebhookDriverOut(Model):
    type: Literal["webhook"]
    url: str
    secret_set: bool = Field(description="Whether a signing secret is stored (it is never returned)")


class OpencastAgentDriverOut(Model):
    type: Literal["opencast_agent"]
    agent: str
    password_set: bool = Field(description="Whether a digest password is stored (it is never returned)")


DriverOut = Annotated[
    NoopDriver | WebhookDriverOut | MediaLiveDriver | OpencastAgentDriverOut, Field(discriminator="type")
]


class AgentStatusOut(Model):
    """What the channel's recorder last said: its Opencast agent state and when it was last heard from."""

    state: str | None = Field(description="idle, capturing, uploading, offline, ... or null if never seen")
    last_seen: Instant | None


class ChannelOut(Out):
    name: str
    description: str | None
    location: str | None
    timezone: str
    changeover_seconds: int
    provision_lead_seconds: int
    teardown_delay_seconds: int
    driver: DriverOut
    agent: AgentStatusOut | None = Field(
        default=None, description="GET of a channel with an `opencast_agent` driver: its recorder's status"
    )

    @classmethod
    def of(cls, channel: Channel, agent: AgentStatusOut | None = None) -> ChannelOut:
        data = channel.model_dump()
        if isinstance(channel.driver, WebhookDriver):
            data["driver"] = WebhookDriverOut(
                type="webhook", url=channel.driver.url, secret_set=bool(channel.driver.secret)
            )
        if isinstance(channel.driver, OpencastAgentDriver):
            data["driver"] = OpencastAgentDriverOut(
                type="opencast_agent", agent=channel.driver.agent, password_set=bool(channel.driver.digest)
            )
        data["agent"] = agent
        return cls.model_validate(data)


class SourceOut(Out):
    name: str
    description: str | None
    type: str | None
    host: str | None
    port: int | None
    url: str | None

    @classmethod
    def of(cls, source: Source) -> SourceOut:
        return cls.model_validate(source.model_dump())


class EventOut(Out):
    title: str
    channel_id: str
    start: Instant
    end: Instant
    duration: int
    source_ids: list[str]
    start_mode: Literal["auto", "manual"]
    end_mode: Literal["auto", "manual"]
    record: bool
    publish: Literal["none", "private", "public"]
    ref_id: str | None
    external_id: str | None
    tags: list[str]
    category: str | None
    metadata: dict[str, str | int | float | bool]
    settings: list[Setting]
    share: Share
    state: EventState
    published: bool
    vod: Literal["none", "private", "public"]
    schedule_id: str | None
    occurrence_start: Instant | None
    deleted_at: Instant | None
    overlaps: list[str] = Field(
        description="ids of the events this one overlaps by an accepted overlap (`allow_conflict`), kept on "
        "both sides"
    )

    @classmethod
    def of(cls, event: Event) -> EventOut:
        return cls.model_validate({**event.model_dump(), "duration": event.duration})


class TenantList(Model):
    items: list[TenantOut]
    next_cursor: str | None


class KeyList(Model):
    items: list[KeyOut]
    next_cursor: str | None


class ChannelList(Model):
    items: list[ChannelOut]
    next_cursor: str | None


class SourceList(Model):
    items: list[SourceOut]
    next_cursor: str | None


class EventList(Model):
    items: list[EventOut]
    next_cursor: str | None


# -- query strings --------------------------------------------------------------------------------------


Filter = Annotated[str, Field(min_length=1, max_length=200)]


class Query(Model):
    """Unknown query parameters are refused, so a misspelt filter is a 422 rather than ignored."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class PageQuery(Query):
    limit: int = Field(default=50, ge=1, le=500)
    cursor: str | None = Field(default=None, max_length=2000)


class EventListQuery(PageQuery):
    from_: Instant | None = Field(default=None, alias="from", description="events ending after this")
    to: Instant | None = Field(default=None, description="events starting before this")
    channel_id: Filter | None = None
    state: str | None = Field(default=None, description="comma-separated states")
    tag: Filter | None = None
    schedule_id: Filter | None = None
    ref_id: Filter | None = None
    external_id: Filter | None = None
    q: Filter | None = Field(default=None, description="title contains, case-insensitive")
    deleted: bool = Field(default=False, description="true: soft-deleted events only")
    order: Literal["asc", "desc"] = "asc"

    @field_validator("state")
    @classmethod
    def _states(cls, value: str | None) -> str | None:
        if value is not None:
            for part in value.split(","):
                if part.strip() not in EventState.__members__.values():
                    raise ValueError(
                        f"{part.strip()!r} is not a state; use {', '.join(s.value for s in EventState)}"
                    )
        return value

    @model_validator(mode="after")
    def _window(self) -> EventListQuery:
        if self.from_ is not None and self.to is not None and self.to <= self.from_:
            raise ValidationFailed.one("/query/to", "must be after `from`")
        return self

    def states(self) -> tuple[EventState, ...]:
        return tuple(EventState(p.strip()) for p in self.state.split(",")) if self.state else ()


class DeleteQuery(Query):
    hard: bool = False


class RestoreIn(Model):
    """`POST /v1/events/{id}/restore`: an optional body."""

    model_config = ConfigDict(extra="forbid")

    allow_conflict: bool = Field(
        default=False, strict=True, description="book the slot again even if it now overlaps others"
    )


class ScheduleListQuery(PageQuery):
    channel_id: Filter | None = Field(default=None, description="only this channel's schedules")


# -- schedules ------------------------------------------------------------------------------------------


class ExceptionOut(Model):
    occurrence_start: str
    skipped: bool
    modified: bool
    event_id: str | None
    closure_id: str | None = Field(default=None, description="the calendar closure that skipped it")


class ScheduleOut(Out):
    title: str
    channel_id: str
    start: str = Field(description="first occurrence, local date-time in `timezone`")
    timezone: str
    duration: int
    recurrence: dict[str, Any]
    active: bool
    source_ids: list[str]
    start_mode: Literal["auto", "manual"]
    end_mode: Literal["auto", "manual"]
    record: bool
    publish: Literal["none", "private", "public"]
    tags: list[str]
    category: str | None
    metadata: dict[str, str | int | float | bool]
    settings: list[dict[str, Any]]
    share: dict[str, Any]
    status: Literal["active", "paused", "ended", "failing"] = Field(
        description="`failing`: the materialiser cannot make its events; `failure` says why"
    )
    failure: dict[str, str] | None = Field(
        default=None, description='why materialising failed: {"reason", "at"}; null when it works'
    )
    next_occurrence: Instant | None
    series_end: Instant | None = Field(
        description="set when a split handed later occurrences to another schedule"
    )
    exceptions: list[ExceptionOut]
    conflicting_schedule_ids: list[str]
    blocked_schedule_ids: list[str]
    calendar_id: str | None = Field(default=None, description="its term calendar (docs/calendars.md)")
    weeks: str | None = Field(default=None, description="the calendar's teaching weeks it runs in")

    @classmethod
    def of(cls, schedule: Schedule, next_occurrence: datetime | None) -> ScheduleOut:
        exceptions = [
            ExceptionOut(
                occurrence_start=key,
                skipped=exc.skipped,
                modified=bool(exc.overrides),
                event_id=exc.event_id,
                closure_id=exc.closure_id,
            )
            for key, exc in sorted(schedule.exceptions.items())
        ]
        return cls.model_validate(
            {
                **schedule.model_dump(),
                "status": schedule.status(next_occurrence),
                "next_occurrence": next_occurrence,
                "exceptions": exceptions,
            }
        )


class ScheduleList(Model):
    items: list[ScheduleOut]
    next_cursor: str | None


class OccurrenceOut(Model):
    occurrence_start: str
    start: str
    end: str
    event_id: str | None
    state: EventState | None
    modified: bool


class OccurrenceList(Model):
    items: list[OccurrenceOut]
    truncated: bool


class OccurrenceQuery(Query):
    from_: Instant | None = Field(default=None, alias="from", description="occurrences starting at or after")
    to: Instant | None = Field(default=None, description="occurrences starting before")
    limit: int = Field(default=100, ge=1, le=1000)


class SplitIn(Model):
    model_config = ConfigDict(extra="forbid")

    at: str | int = Field(description="the occurrence_start from which the new series takes over")
    changes: dict[str, Any] = Field(
        default_factory=dict, description="fields of the new series (merge patch)"
    )
    allow_conflict: bool = Field(
        default=False, strict=True, description="take over even if the new series adds overlaps"
    )


class PreviewIn(Model):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    start: str | int = Field(
        description="DTSTART: local date-time (naive = in `timezone`) or instant; may be past"
    )
    timezone: str | None = Field(default=None, description="IANA zone; default the channel's, else UTC")
    duration: int = Field(gt=0, le=31 * 24 * 3600)
    recurrence: dict[str, Any]
    channel_id: str | None = None
    from_: Instant | None = Field(default=None, alias="from")
    to: Instant | None = None
    limit: int = Field(default=100, ge=1, le=10_000)


class PreviewOccurrence(Model):
    start: Instant
    end: Instant
    conflicts: list[dict[str, Any]] | None = None


class PreviewOut(Model):
    occurrences: list[PreviewOccurrence]
    truncated: bool


# -- availability ---------------------------------------------------------------------------------------


class AvailabilityQuery(Query):
    from_: Instant = Field(alias="from")
    to: Instant

    @model_validator(mode="after")
    def _window(self) -> AvailabilityQuery:
        if self.to <= self.from_:
            raise ValidationFailed.one("/query/to", "must be after `from`")
        if self.to - self.from_ > timedelta(days=366):
            raise ValidationFailed.one("/query/to", "the window may span at most 366 days")
        return self


class BusyInterval(Model):
    start: Instant
    end: Instant
    event_id: str | None = Field(description="null for a series occurrence that is not an event yet")
    schedule_id: str | None = None
    occurrence_start: Instant | None = None


class FreeInterval(Model):
    start: Instant
    end: Instant


class Availability(Model):
    busy: list[BusyInterval] = Field(description="bookings widened by the changeover on both sides")
    free: list[FreeInterval] = Field(description="where a new booking fits")


class ActionIn(Model):
    """`POST /v1/events/{id}/actions`: the action and its arguments."""

    model_config = ConfigDict(extra="forbid")

    action: str = Field(
        description="provision, start, stop, force_stop, publish, unpublish, cancel, extend, set_vod"
    )
    seconds: int | None = Field(default=None, gt=0, le=31 * 24 * 3600, description="extend: seconds to add")
    visibility: Literal["none", "private", "public"] | None = Field(
        default=None, description="set_vod: the recording's visibility"
    )
    reason: str | None = Field(default=None, max_length=1000, description="kept in the history")
    allow_conflict: bool = Field(
        default=False, strict=True, description="extend: keep the longer booking even if it adds overlaps"
    )


class ActorOut(Model):
    """Who made a change: an API key, the system itself, a room recorder or a timetable import."""

    type: Literal["key", "system", "agent", "import"]
    id: str
    name: str


class HistoryItem(Model):
    """One lifecycle transition: `from` → `to` at `at`, by `actor`, because `reason`."""

    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)

    from_: EventState = Field(alias="from")
    to: EventState
    at: Instant
    actor: ActorOut
    reason: str | None


class HistoryList(Model):
    items: list[HistoryItem]


class RecordingOut(Model):
    """One uploaded file of an event's recording."""

    key: str = Field(description="S3 key: <tenant>/<event>/<element>/<file name>")
    size: int
    content_type: str
    flavor: str = Field(description="Opencast flavor the recorder gave it, e.g. presenter/source")
    url: str = Field(description="pre-signed GET URL")


class RecordingList(Model):
    items: list[RecordingOut]


class AuditQuery(PageQuery):
    resource_id: Filter | None = Field(default=None, description="only this record's changes")
    from_: Instant | None = Field(default=None, alias="from", description="changes at or after this")
    to: Instant | None = Field(default=None, description="changes before this")


class AuditItem(Model):
    """One change: who made it, in which request, to what, and the fields before and after."""

    id: str
    at: Instant
    actor: ActorOut
    request_id: str | None
    resource_type: str
    resource_id: str
    action: str
    changes: dict[str, dict[str, Any]] = Field(description='`{field: {"from", "to"}}` for each changed field')
    reason: str | None = None


class AuditList(Model):
    items: list[AuditItem]
    next_cursor: str | None
