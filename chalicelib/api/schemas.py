"""What the API returns and accepts in query strings; converted explicitly from domain records."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from chalicelib.domain.models import (
    ApiKey,
    Channel,
    Event,
    EventState,
    MediaLiveDriver,
    NoopDriver,
    Scope,
    Setting,
    Share,
    Source,
    Tenant,
    WebhookDriver,
)
from chalicelib.domain.time import Instant


class Out(BaseModel):
    id: str
    created_at: Instant
    updated_at: Instant


class Health(BaseModel):
    status: Literal["ok"] = "ok"


class TenantOut(Out):
    name: str

    @classmethod
    def of(cls, tenant: Tenant) -> TenantOut:
        return cls.model_validate(tenant.model_dump())


class TenantCreated(TenantOut):
    admin_key: str = Field(description="The tenant's first admin key; shown once, stored only as a hash")


class KeyOut(Out):
    name: str
    scopes: list[Scope]
    prefix: str = Field(description="The key's first characters, to recognise it")

    @classmethod
    def of(cls, key: ApiKey) -> KeyOut:
        return cls.model_validate(key.model_dump())


class KeyCreated(KeyOut):
    key: str = Field(description="The API key; shown once, stored only as a hash")


class WebhookDriverOut(BaseModel):
    type: Literal["webhook"]
    url: str
    secret_set: bool = Field(description="Whether a signing secret is stored (it is never returned)")


DriverOut = Annotated[NoopDriver | WebhookDriverOut | MediaLiveDriver, Field(discriminator="type")]


class ChannelOut(Out):
    name: str
    description: str | None
    location: str | None
    timezone: str
    changeover_seconds: int
    provision_lead_seconds: int
    teardown_delay_seconds: int
    driver: DriverOut

    @classmethod
    def of(cls, channel: Channel) -> ChannelOut:
        data = channel.model_dump()
        if isinstance(channel.driver, WebhookDriver):
            data["driver"] = WebhookDriverOut(
                type="webhook", url=channel.driver.url, secret_set=bool(channel.driver.secret)
            )
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

    @classmethod
    def of(cls, event: Event) -> EventOut:
        return cls.model_validate({**event.model_dump(), "duration": event.duration})


class TenantList(BaseModel):
    items: list[TenantOut]
    next_cursor: str | None


class KeyList(BaseModel):
    items: list[KeyOut]
    next_cursor: str | None


class ChannelList(BaseModel):
    items: list[ChannelOut]
    next_cursor: str | None


class SourceList(BaseModel):
    items: list[SourceOut]
    next_cursor: str | None


class EventList(BaseModel):
    items: list[EventOut]
    next_cursor: str | None


# -- query strings --------------------------------------------------------------------------------------


class Query(BaseModel):
    """Unknown query parameters are refused, so a misspelt filter is a 422 rather than ignored."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class PageQuery(Query):
    limit: int = Field(default=50, ge=1, le=500)
    cursor: str | None = Field(default=None, max_length=2000)


class EventListQuery(PageQuery):
    from_: Instant | None = Field(default=None, alias="from", description="events ending after this")
    to: Instant | None = Field(default=None, description="events starting before this")
    channel_id: str | None = None
    state: str | None = Field(default=None, description="comma-separated states")
    tag: str | None = None
    schedule_id: str | None = None
    ref_id: str | None = None
    external_id: str | None = None
    q: str | None = Field(default=None, max_length=200, description="title contains, case-insensitive")
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
            raise PydanticCustomError("window", "`to` must be after `from`", {})
        return self

    def states(self) -> tuple[EventState, ...]:
        return tuple(EventState(p.strip()) for p in self.state.split(",")) if self.state else ()


class DeleteQuery(Query):
    hard: bool = False
