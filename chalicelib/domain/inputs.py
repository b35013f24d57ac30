"""Validated request bodies: what a client may write, with the API's limits and defaults."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)
from pydantic import Strict as Exact

from chalicelib.domain.digest import AGENT_NAME
from chalicelib.domain.errors import ValidationFailed
from chalicelib.domain.models import Documented, MediaLiveDriver, Model, NoopDriver, Setting, Share
from chalicelib.domain.time import LATEST, Instant

MAX_EVENT_SECONDS = 31 * 24 * 3600
"""The longest event accepted (31 days): bounds the window queries (docs/dynamodb.md)."""


def _zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ValueError(f"{name!r} is not an IANA time zone name") from None
    return name


_IPV4_LABEL = re.compile(r"[0-9]+|0[xX][0-9a-fA-F]*")
_DOTTED_DECIMAL = re.compile(
    r"(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])(\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])){3}"
)


def numeric_host_form(host: str) -> bool:
    """Whether `host` is an IPv4 address written other than as dotted-quad decimal.

    URL parsers read a host whose last label is a number as an IPv4 address, and accept decimal
    (`2130706433`), octal (`0177.0.0.1`), hex (`0x7f.1`) and short (`127.1`) forms; resolvers and address
    checks disagree about them, so a webhook host in any of these forms is refused. `127.0.0.1` is not
    such a form; neither is a name (`hooks.example.com`) or an IPv6 literal.
    """
    if ":" in host:
        return False  # an IPv6 literal (one with an IPv4 tail is judged as an address)
    labels = host.split(".")
    if len(labels) > 1 and labels[-1] == "":
        labels.pop()  # a trailing dot still ends in a number
    if not _IPV4_LABEL.fullmatch(labels[-1]):
        return False
    return not _DOTTED_DECIMAL.fullmatch(host)


def _http_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an absolute http or https URL")
    if numeric_host_form(parts.hostname):
        raise ValueError("writes its host as a number in a form other than dotted decimal (127.0.0.1)")
    try:
        parts.port  # noqa: B018  (reading it is the check)
    except ValueError:
        raise ValueError("has an invalid port") from None
    return url


Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Text = Annotated[str, StringConstraints(max_length=2000)]
Label = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
TimeZone = Annotated[str, AfterValidator(_zone)]
HttpUrl = Annotated[str, StringConstraints(max_length=2000), AfterValidator(_http_url)]
# JSON booleans are not integers and numbers are not booleans, whatever Python thinks.
Int = Annotated[int, Exact()]
Bool = Annotated[bool, Exact()]
Seconds = Annotated[int, Exact(), Field(ge=0, le=7 * 24 * 3600)]
Duration = Annotated[int, Exact(), Field(gt=0, le=MAX_EVENT_SECONDS)]


class Strict(Model):
    """Unknown fields are refused: a typo should be a 422, not silently ignored."""

    model_config = ConfigDict(extra="forbid", str_max_length=10_000)


class TenantIn(Strict):
    name: Name


class KeyIn(Strict):
    name: Name
    scopes: list[Literal["read", "write", "admin"]] = Field(min_length=1, max_length=3)

    @field_validator("scopes")
    @classmethod
    def _distinct_scopes(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("lists a scope more than once")
        return value


class WebhookDriverIn(Strict):
    type: Literal["webhook"]
    url: HttpUrl
    secret: Annotated[str, StringConstraints(min_length=16, max_length=512)] | None = Field(
        default=None, description="HMAC-SHA256 signing secret; write-only, never returned"
    )


class NoopDriverIn(NoopDriver, Strict):
    pass


class MediaLiveDriverIn(MediaLiveDriver, Strict):
    channel_id: Annotated[str, StringConstraints(min_length=1, max_length=100)]


class OpencastAgentDriverIn(Strict):
    type: Literal["opencast_agent"]
    agent: Annotated[str, StringConstraints(pattern=AGENT_NAME.pattern)] = Field(
        description="the recorder's agent name: its digest user name, unique in the deployment"
    )
    password: Annotated[str, StringConstraints(min_length=8, max_length=200)] | None = Field(
        default=None,
        description="digest password; write-only, never returned, stored only as HA1. Required when the "
        "driver or its agent name is new",
    )


DriverIn = Annotated[
    NoopDriverIn | WebhookDriverIn | MediaLiveDriverIn | OpencastAgentDriverIn, Field(discriminator="type")
]


class ChannelIn(Strict):
    name: Name
    description: Text | None = None
    location: Text | None = None
    timezone: TimeZone = "UTC"
    changeover_seconds: Seconds = 0
    provision_lead_seconds: Seconds = 0
    teardown_delay_seconds: Seconds = 0
    driver: DriverIn = Field(default_factory=NoopDriverIn)


class SourceIn(Strict):
    name: Name
    description: Text | None = None
    type: Literal["UDP", "RTP", "RTMP", "RTMPS", "SRT", "RTSP", "HLS", "NDI", "SDI", "HDMI"] | None = None
    host: Annotated[str, StringConstraints(max_length=255)] | None = None
    port: Annotated[int, Exact(), Field(ge=1, le=65535)] | None = None
    url: Annotated[str, StringConstraints(max_length=2000)] | None = None


Tag = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
MetaKey = Annotated[str, StringConstraints(min_length=1, max_length=100)]


class SettingIn(Setting, Strict):
    key: Annotated[str, StringConstraints(min_length=1, max_length=200)]


class ShareIn(Share, Strict):
    pass


class EventTemplate(Strict):
    """Fields an event has and a schedule copies to every event it materialises."""

    source_ids: list[Label] = Field(default_factory=list, max_length=20)
    start_mode: Literal["auto", "manual"] = "auto"
    end_mode: Literal["auto", "manual"] = "auto"
    record: Bool = True
    publish: Literal["none", "private", "public"] = "none"
    tags: list[Tag] = Field(default_factory=list, max_length=50)
    category: Label | None = None
    metadata: dict[MetaKey, str | int | float | bool] = Field(default_factory=dict, max_length=100)
    settings: list[SettingIn] = Field(default_factory=list, max_length=100)
    share: ShareIn = Field(default_factory=ShareIn)

    @field_validator("source_ids")
    @classmethod
    def _distinct_sources(cls, value: list[str]) -> list[str]:
        for index, source_id in enumerate(value):
            if source_id in value[:index]:
                # Raised directly so the pointer names the repeated entry, not the whole list.
                raise ValidationFailed.one(f"/source_ids/{index}", "lists this source a second time")
        return value


TEMPLATE_FIELDS = tuple(EventTemplate.model_fields)


class EventIn(EventTemplate):
    """An event as a client writes it; `end` or `duration` (or both, agreeing)."""

    title: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
    channel_id: Label
    start: Instant
    end: Instant | None = None
    duration: Duration | None = None
    ref_id: Label | None = None
    external_id: Label | None = None
    allow_conflict: Bool = Field(default=False, description="book even if it overlaps (not stored)")

    @model_validator(mode="after")
    def _end_or_duration(self) -> EventIn:
        # Raised as ValidationFailed (not ValueError) so the pointer names the field, not the whole body.
        if self.end is None and self.duration is None:
            raise ValidationFailed.one("/duration", "give `end` or `duration`")
        if self.end is not None and self.end <= self.start:
            raise ValidationFailed.one("/end", "must be after `start`")
        if (
            self.end is not None
            and self.duration is not None
            and self.end != self.start + timedelta(seconds=self.duration)
        ):
            raise ValidationFailed.one("/duration", "disagrees with `end`; give one of them")
        if self.resolved_end() - self.start > timedelta(seconds=MAX_EVENT_SECONDS):
            raise ValidationFailed.one("/end", f"an event may last at most {MAX_EVENT_SECONDS} seconds")
        if self.resolved_end() > LATEST:
            raise ValidationFailed.one(
                "/duration" if self.end is None else "/end", "the event must end by 2999-12-31T23:59:59Z"
            )
        return self

    def resolved_end(self) -> datetime:
        """The end, from `end` or from `start + duration`."""
        if self.end is not None:
            return self.end
        assert self.duration is not None
        return self.start + timedelta(seconds=self.duration)

    def record_fields(self) -> dict:
        """The stored fields this input sets (without the write-only flags)."""
        data = self.model_dump(exclude={"allow_conflict", "duration", "end"})
        data["end"] = self.resolved_end()
        return data


# -- the recurrence object ------------------------------------------------------------------------------
# Described here for clients (OpenAPI, docs/recurrence.md); `chalicelib.domain.recurrence.parse_recurrence`
# validates it, so every 422 points into `/recurrence` with the domain's own words.

LocalTime = Annotated[
    str | int,
    Field(
        description="a local date-time in the series' zone (`2030-01-07T09:00:00`), an instant with an "
        "offset or `Z`, or epoch seconds",
        examples=["2030-01-07T09:00:00"],
    ),
]
WholeNumber = Annotated[int, Field(ge=1, le=999_999_999)]
DayNumber = Annotated[int, Field(ge=0, le=6, description="0 = Sunday ... 6 = Saturday")]


class Weekday(StrEnum):
    """A day of the week as the simple form names it."""

    MON = "MON"
    TUE = "TUE"
    WED = "WED"
    THU = "THU"
    FRI = "FRI"
    SAT = "SAT"
    SUN = "SUN"


class Frequency(StrEnum):
    """The simple form's period."""

    DAILY = "daily"
    WEEKLY = "weekly"
    MONTHLY = "monthly"
    YEARLY = "yearly"


def _described(examples: list[dict[str, Any]]) -> Any:
    """A form's JSON Schema extras: its examples, and optional members shown as optional, not nullable
    (the forms are described, never instantiated: `null` is accepted and means absent)."""

    def extra(schema: dict[str, Any]) -> None:
        for prop in schema.get("properties", {}).values():
            if prop.get("default", 0) is None:
                del prop["default"]
        schema["examples"] = examples

    return extra


class RruleRecurrence(Strict):
    """The RFC 5545 form: an RRULE value evaluated in the series' time zone from its `start` (DTSTART)."""

    model_config = ConfigDict(
        json_schema_extra=_described(
            [
                {"rrule": "FREQ=WEEKLY;BYDAY=TU,TH;COUNT=20"},
                {"rrule": "FREQ=MONTHLY;BYDAY=-1FR", "exdates": ["2030-12-27T09:00:00"]},
            ]
        )
    )

    rrule: str = Field(
        description="an RRULE value without DTSTART (an `RRULE:` prefix is allowed): FREQ (YEARLY down to "
        "MINUTELY), INTERVAL, COUNT or UNTIL, BYxxx parts, WKST",
        examples=["FREQ=WEEKLY;BYDAY=MO,WE;COUNT=10"],
    )
    exdates: list[LocalTime] = Field(default=None, description="occurrences left out (EXDATE)")
    rdates: list[LocalTime] = Field(default=None, description="occurrences added (RDATE)")


class SimpleRecurrence(Strict):
    """The simple form: a frequency, an interval, days, and an end by count or date (none: endless)."""

    model_config = ConfigDict(
        json_schema_extra=_described(
            [
                {"frequency": "weekly", "days": ["TUE", "THU"], "count": 20},
                {"frequency": "daily", "interval": 2, "until": "2030-06-30"},
            ]
        )
    )

    frequency: Frequency = Field(description="any letter case")
    interval: WholeNumber = Field(default=None, description="every n-th period; default 1")
    days: list[Weekday | DayNumber] = Field(
        default=None,
        min_length=1,
        description="the only days it falls on; also MO..SU and full names, any case",
        examples=[["MON", "WED"]],
    )
    count: WholeNumber = Field(default=None, description="how many occurrences (not with `until`)")
    until: str | int = Field(
        default=None,
        description="the last day (a date: up to the end of that local day) or a local date-time or instant, "
        "inclusive (not with `count`)",
        examples=["2030-06-30"],
    )
    exdates: list[LocalTime] = Field(default=None, description="occurrences left out")
    rdates: list[LocalTime] = Field(default=None, description="occurrences added")


RecurrenceObject = Annotated[
    dict[str, Any],
    Documented(RruleRecurrence | SimpleRecurrence, one_of=True),
    Field(
        description="exactly one of the RFC 5545 form (`rrule`) or the simple form (`frequency`)",
        examples=[{"frequency": "weekly", "days": ["TUE", "THU"], "count": 20}],
    ),
]
"""The API's `recurrence` object: a plain JSON object here, typed for clients, validated by the domain."""


class ScheduleIn(EventTemplate):
    """A schedule as a client writes it."""

    title: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
    channel_id: Label
    start: str | int = Field(
        description="first occurrence: local date-time (naive = in `timezone`) or instant",
        examples=["2030-01-08T09:00:00"],
    )
    timezone: str | None = Field(
        default=None, description="IANA zone; default: the channel's", examples=["Europe/London"]
    )
    duration: Duration
    recurrence: RecurrenceObject
    active: Bool = True
    calendar_id: Label | None = Field(default=None, description="a term calendar (docs/calendars.md)")
    weeks: Annotated[str, StringConstraints(max_length=400)] | None = Field(
        default=None, description='teaching weeks of the calendar, e.g. "1-5,7-11" (default: all)'
    )
    allow_conflict: Bool = Field(default=False, description="book even if occurrences overlap (not stored)")
