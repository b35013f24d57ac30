"""Channels and sources: create, read, list, patch and delete, with ETags and optimistic writes."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, TypeAdapter

from chalicelib.adapters.records import RecordStore
from chalicelib.domain.errors import Conflict, NotFound, PreconditionFailed, StaleWrite
from chalicelib.domain.ids import new_id
from chalicelib.domain.inputs import ChannelIn, SourceIn
from chalicelib.domain.models import Channel, Driver, Principal, Record, Source, WebhookDriver
from chalicelib.domain.validation import validate
from chalicelib.services.common import check_if_match, patched

R = TypeVar("R", bound=Record)
Publish = Callable[[str, dict[str, Any]], None]


class CatalogService(Generic[R]):
    """CRUD for a simple tenant-owned record described by an input model."""

    def __init__(
        self, store: RecordStore[R], input_model: type[BaseModel], prefix: str, noun: str, publish: Publish
    ) -> None:
        self.store = store
        self.input_model = input_model
        self.prefix = prefix
        self.noun = noun
        self.publish = publish

    def create(self, principal: Principal, body: BaseModel, now: datetime) -> R:
        self.check(principal, body, None)
        record = self.store.model(
            id=new_id(self.prefix, now),
            tenant_id=principal.tenant_id,
            created_at=now,
            updated_at=now,
            **self._fields(body),
        )
        self.store.create(record)
        self.publish(f"{self.noun} Created", {"tenant_id": record.tenant_id, "id": record.id})
        return record

    def get(self, principal: Principal, record_id: str) -> R:
        record = self.store.get(principal.tenant_id, record_id)
        if record is None:
            raise NotFound(f"No {self.noun.lower()} {record_id}.")
        return record

    def list(self, principal: Principal, limit: int, cursor: str | None) -> tuple[list[R], str | None]:
        return self.store.list(principal.tenant_id, limit, cursor)

    def patch(
        self,
        principal: Principal,
        record_id: str,
        document: Any,
        kind: str,
        if_match: str | None,
        now: datetime,
    ) -> R:
        """Apply a merge or JSON patch; a concurrent write is retried unless the client pinned a version."""
        for _ in range(3):
            current = self.get(principal, record_id)
            check_if_match(if_match, current)
            body = validate(self.input_model, patched(self.view(current), document, kind))
            changes = self._fields(body, current)
            if all(getattr(current, name) == value for name, value in changes.items()):
                return current
            self.check(principal, body, current)
            updated = type(current).model_validate(
                {**current.model_dump(), **changes, "updated_at": now, "version": current.version + 1}
            )
            try:
                self.store.replace(updated, current.version)
            except StaleWrite:
                if if_match is not None:
                    raise PreconditionFailed("The record changed since the ETag you sent.") from None
                continue
            self.publish(
                f"{self.noun} Updated",
                {"tenant_id": updated.tenant_id, "id": updated.id, "changes": sorted(changes)},
            )
            return updated
        raise StaleWrite()

    def delete(self, principal: Principal, record_id: str, if_match: str | None, now: datetime) -> None:
        current = self.get(principal, record_id)
        check_if_match(if_match, current)
        self.ensure_deletable(current, now)
        try:
            self.store.delete(principal.tenant_id, record_id, current.version, self.booking_guard(current))
        except StaleWrite:
            raise PreconditionFailed(
                "The record changed while it was being deleted; read it and retry."
            ) from None
        self.publish(f"{self.noun} Deleted", {"tenant_id": current.tenant_id, "id": current.id})

    def check(self, principal: Principal, body: BaseModel, current: R | None) -> None:
        """Hook: checks a create or a changing patch must pass beyond the input model's (422)."""

    def ensure_deletable(self, record: R, now: datetime) -> None:
        """Hook: refuse a delete that would orphan something (409)."""

    def booking_guard(self, record: R) -> int | None:
        """Hook: a booking version the delete must still see (so a concurrent booking is not orphaned)."""
        return None

    def view(self, record: R) -> dict[str, Any]:
        """The writable fields of a record, as a client would send them."""
        return record.model_dump(mode="json", include=set(self.input_model.model_fields))

    def _fields(self, body: BaseModel, current: R | None = None) -> dict[str, Any]:
        return body.model_dump()


class ChannelService(CatalogService[Channel]):
    """Channels; a webhook secret is write-only and kept when a patch does not send a new one.

    A driver is checked when a channel is created and whenever a patch changes it (`check_driver`:
    where a webhook may go, which MediaLive channels the tenant may drive).
    """

    def __init__(
        self,
        store: RecordStore[Channel],
        publish: Publish,
        has_future_events: Callable[[Channel, datetime], bool],
        continuing_series: Callable[[Channel, datetime], list[str]] = lambda channel, now: [],
        check_driver: Callable[[str, Driver], None] = lambda tenant_id, driver: None,
    ) -> None:
        super().__init__(store, ChannelIn, "ch", "Channel", publish)
        self.has_future_events = has_future_events
        self.continuing_series = continuing_series
        self.check_driver = check_driver

    def check(self, principal: Principal, body: BaseModel, current: Channel | None) -> None:
        driver = _DRIVER.validate_python(self._fields(body, current)["driver"])
        if current is None or _target(driver) != _target(current.driver):
            self.check_driver(principal.tenant_id, driver)

    def view(self, record: Channel) -> dict[str, Any]:
        data = super().view(record)
        data["driver"].pop("secret", None)
        return data

    def _fields(self, body: BaseModel, current: Channel | None = None) -> dict[str, Any]:
        fields = body.model_dump()
        driver = fields["driver"]
        if (
            driver["type"] == "webhook"
            and driver.get("secret") is None
            and current is not None
            and isinstance(current.driver, WebhookDriver)
        ):
            driver["secret"] = current.driver.secret
        return fields

    def ensure_deletable(self, record: Channel, now: datetime) -> None:
        if self.has_future_events(record, now):
            raise Conflict("The channel has future events; cancel or move them first.")
        # A series' later occurrences are future events too, even before they are materialised.
        series = self.continuing_series(record, now)
        if series:
            raise Conflict(
                "Series on this channel have occurrences ahead; delete them or move them to another "
                "channel first.",
                {"schedule_ids": series},
            )

    def booking_guard(self, record: Channel) -> int | None:
        return record.booking_version


_DRIVER: TypeAdapter[Driver] = TypeAdapter(Driver)


def _target(driver: Driver) -> tuple[str, str | None]:
    """What a driver acts on (its type and URL or MediaLive id); a new secret alone changes nothing."""
    return driver.type, getattr(driver, "url", None) or getattr(driver, "channel_id", None)


class SourceService(CatalogService[Source]):
    """Sources; one that events still to come use cannot be deleted (they would point at nothing)."""

    def __init__(
        self,
        store: RecordStore[Source],
        publish: Publish,
        future_events_using: Callable[[Source, datetime], list[str]] = lambda source, now: [],
    ) -> None:
        super().__init__(store, SourceIn, "src", "Source", publish)
        self.future_events_using = future_events_using

    def ensure_deletable(self, record: Source, now: datetime) -> None:
        using = self.future_events_using(record, now)
        if using:
            raise Conflict(
                "Events still to come use this source; remove it from them first.", {"event_ids": using}
            )
