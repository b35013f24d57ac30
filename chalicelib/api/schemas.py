"""What the API returns and accepts in query strings; converted explicitly from domain records."""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import ConfigDict, Field, field_validator, model_validator

from chalicelib.domain.errors import ValidationFailed
from chalicelib.domain.inputs import RecurrenceObject
from chalicelib.domain.lifecycle import ACTIONS
from chalicelib.domain.models import (
    ApiKey,
    Channel,
    Documented,
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

PATCH_OF = "x-onair-patch-of"
"""Marks a field that takes a merge patch of a model (the OpenAPI document points it at `<model>Patch`)."""

# An instant the API formats itself (a string already): described as the API's instants are.
InstantText = Annotated[
    str, Field(json_schema_extra={"format": "date-time", "examples": ["2030-01-07T09:00:00Z"]})
]


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
    """An occurrence that departs from its series: skipped, or moved or changed on its own."""

    occurrence_start: InstantText = Field(description="the occurrence's original start: its name")
    skipped: bool
    modified: bool
    event_id: str | None
    closure_id: str | None = Field(default=None, description="the calendar closure that skipped it")


class ScheduleFailure(Model):
    """Why the materialiser cannot make a series' events."""

    reason: str
    at: InstantText


_DAY_NAMES = {
    name: full[:3]
    for full in ("MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY")
    for name in (full[:2], full[:3], full)
}


def canonical_recurrence(raw: dict[str, Any]) -> dict[str, Any]:
    """A stored recurrence as the API shows it: the simple form's `frequency` in lower case and its day
    names as MON..SUN (the forms accept any case and MO/MONDAY); the rule itself is unchanged."""
    shown = dict(raw)
    if isinstance(shown.get("frequency"), str):
        shown["frequency"] = shown["frequency"].lower()
    if isinstance(shown.get("days"), list):
        shown["days"] = [
            _DAY_NAMES.get(day.strip().upper(), day) if isinstance(day, str) else day for day in shown["days"]
        ]
    return shown


class ScheduleOut(Out):
    title: str
    channel_id: str
    start: str = Field(
        description="first occurrence, local date-time in `timezone`", examples=["2030-01-08T09:00:00"]
    )
    timezone: str
    duration: int
    recurrence: RecurrenceObject
    active: bool
    source_ids: list[str]
    start_mode: Literal["auto", "manual"]
    end_mode: Literal["auto", "manual"]
    record: bool
    publish: Literal["none", "private", "public"]
    tags: list[str]
    category: str | None
    metadata: dict[str, str | int | float | bool]
    settings: Annotated[list[dict[str, Any]], Documented(list[Setting])]
    share: Annotated[dict[str, Any], Documented(Share)]
    status: Literal["active", "paused", "ended", "failing"] = Field(
        description="`failing`: the materialiser cannot make its events; `failure` says why"
    )
    failure: Annotated[dict[str, str] | None, Documented(ScheduleFailure | None)] = Field(
        default=None, description="why materialising failed; null when it works"
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
                "recurrence": canonical_recurrence(schedule.recurrence),
                "status": schedule.status(next_occurrence),
                "next_occurrence": next_occurrence,
                "exceptions": exceptions,
            }
        )


class ScheduleList(Model):
    items: list[ScheduleOut]
    next_cursor: str | None


class OccurrenceOut(Model):
    """One occurrence of a series: its name (original start), where it is now, and its event if made."""

    occurrence_start: InstantText = Field(description="the original start: the occurrence's name")
    start: InstantText
    end: InstantText
    event_id: str | None = Field(description="null until the occurrence is an event (within the horizon)")
    state: EventState | None
    modified: bool = Field(description="changed on its own (PATCH of this occurrence)")


class OccurrenceList(Model):
    items: list[OccurrenceOut]
    truncated: bool


class OccurrenceQuery(Query):
    from_: Instant | None = Field(default=None, alias="from", description="occurrences starting at or after")
    to: Instant | None = Field(default=None, description="occurrences starting before")
    limit: int = Field(default=100, ge=1, le=1000)


class SplitIn(Model):
    model_config = ConfigDict(extra="forbid")

    at: str | int = Field(
        description="the occurrence_start from which the new series takes over (an instant, or a local "
        "date-time in the series' zone)",
        examples=["2030-02-05T09:00:00"],
    )
    changes: Annotated[dict[str, Any], Documented({"type": "object", PATCH_OF: "ScheduleIn"})] = Field(
        default_factory=dict, description="fields of the new series (merge patch)"
    )
    allow_conflict: bool = Field(
        default=False, strict=True, description="take over even if the new series adds overlaps"
    )


class PreviewIn(Model):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    start: str | int = Field(
        description="DTSTART: local date-time (naive = in `timezone`) or instant; may be past",
        examples=["2030-01-08T09:00:00"],
    )
    timezone: str | None = Field(
        default=None, description="IANA zone; default the channel's, else UTC", examples=["Europe/London"]
    )
    duration: int = Field(gt=0, le=31 * 24 * 3600)
    recurrence: RecurrenceObject
    channel_id: str | None = Field(default=None, description="check each occurrence against this channel")
    from_: Instant | None = Field(default=None, alias="from", description="occurrences starting at or after")
    to: Instant | None = Field(default=None, description="occurrences starting before")
    limit: int = Field(default=100, ge=1, le=10_000)


class ConflictRef(Model):
    """Another booking a requested one overlaps (with the channel's changeover on both sides)."""

    event_id: str | None = Field(description="null for a series occurrence that is not an event yet")
    schedule_id: str | None = Field(description="the series the booking belongs to, if any")
    title: str
    start: InstantText
    end: InstantText
    kind: Literal["partial", "blocked"] = Field(
        description="`blocked`: the requested interval lies wholly inside the other booking"
    )
    occurrence_start: InstantText | None = Field(
        default=None,
        description="which occurrence: of the series being checked, or of the other series when its "
        "booking is not an event yet (absent otherwise)",
    )


class PreviewOccurrence(Model):
    start: Instant
    end: Instant
    conflicts: Annotated[list[dict[str, Any]] | None, Documented(list[ConflictRef])] = Field(
        default=None,
        description="present when `channel_id` was given: what the occurrence would overlap",
        json_schema_extra=lambda schema: schema.pop("default", None),  # absent, never null
    )


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


Action = StrEnum("Action", {name.upper(): name for name in ACTIONS})  # type: ignore[misc]
Action.__doc__ = "What `POST /v1/events/{id}/actions` accepts (docs/lifecycle.md, Actions)."


class ActionIn(Model):
    """`POST /v1/events/{id}/actions`: the action and its arguments."""

    model_config = ConfigDict(extra="forbid")

    # A plain string to the validator (an unknown action is the domain's 422 at /action), an enum to clients.
    action: Annotated[str, Documented(Action)] = Field(
        description="what to do: see docs/lifecycle.md (Actions)"
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


class FieldChange(Model):
    """One field's value before and after a change (null: absent)."""

    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)

    from_: Any = Field(alias="from")
    to: Any


class AuditItem(Model):
    """One change: who made it, in which request, to what, and the fields before and after."""

    id: str
    at: Instant
    actor: ActorOut
    request_id: str | None
    resource_type: str
    resource_id: str
    action: str
    changes: Annotated[dict[str, dict[str, Any]], Documented(dict[str, FieldChange])] = Field(
        description="each changed field, before and after"
    )
    reason: str | None = None


class AuditList(Model):
    items: list[AuditItem]
    next_cursor: str | None


# -- errors ---------------------------------------------------------------------------------------------


class FieldProblem(Model):
    pointer: str = Field(
        description="JSON Pointer into the body (`/duration`), or `/query/<name>`, `/path/<name>`, "
        "`/header/<name>`",
        examples=["/duration"],
    )
    detail: str


class Suggestion(Model):
    """The earliest free slot of the same length on the channel (within the conflict horizon)."""

    start: InstantText
    end: InstantText


class Problem(Model):
    """An RFC 9457 problem (`application/problem+json`); the members after `detail` appear where they apply.

    Described for clients only: `chalicelib.api.errors` writes every problem body.
    """

    type: str = Field(
        description="`urn:onair:problem:<slug>` (docs/errors.md)", examples=["urn:onair:problem:validation"]
    )
    title: str
    status: int
    detail: str
    errors: list[FieldProblem] | None = Field(default=None, description="422 (and some 409s): each bad field")
    conflicts: list[ConflictRef] | None = Field(
        default=None, description="409 booking-conflict: what it overlaps"
    )
    suggestion: Suggestion | None = Field(
        default=None, description="409 booking-conflict: the earliest free slot of the same length"
    )
    event_ids: list[str] | None = Field(
        default=None, description="409 on deleting a channel or source: events still to come that hold it"
    )
    schedule_ids: list[str] | None = Field(
        default=None, description="409 on deleting a channel or source: series with occurrences ahead"
    )
    state: EventState | None = Field(default=None, description="409 on an action: the event's state")
    action: str | None = Field(default=None, description="409 on an action: the action refused")
    allowed_actions: list[str] | None = Field(
        default=None, description="409 on an action: what the state allows"
    )
    live_event_id: str | None = Field(
        default=None, description="409 on `start`: the event live on the channel"
    )
    driver_error: str | None = Field(default=None, description="409 on an action: why the driver failed")
    key_id: str | None = Field(default=None, description="409 on revoking a key that must stay")
