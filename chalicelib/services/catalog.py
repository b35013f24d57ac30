"""Channels and sources: create, read, list, patch and delete, with ETags and optimistic writes."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, TypeAdapter

from chalicelib.adapters.dynamo import TransactionCancelled
from chalicelib.adapters.records import RecordStore
from chalicelib.domain.digest import ha1_all
from chalicelib.domain.errors import Conflict, NotFound, StaleWrite, ValidationFailed
from chalicelib.domain.ids import new_id
from chalicelib.domain.inputs import ChannelIn, SourceIn
from chalicelib.domain.messages import Actor, RecordChanged, record_json
from chalicelib.domain.models import (
    Channel,
    Driver,
    OpencastAgentDriver,
    Principal,
    Record,
    Source,
    WebhookDriver,
)
from chalicelib.domain.validation import validate
from chalicelib.services.common import check_if_match, optimistic, patched
from chalicelib.services.messagebus import MessageBus

R = TypeVar("R", bound=Record)


class CatalogService(Generic[R]):
    """CRUD for a simple tenant-owned record described by an input model; each change one message."""

    def __init__(
        self, store: RecordStore[R], input_model: type[BaseModel], prefix: str, noun: str, bus: MessageBus
    ) -> None:
        self.store = store
        self.input_model = input_model
        self.prefix = prefix
        self.noun = noun
        self.bus = bus

    def create(self, principal: Principal, body: BaseModel, now: datetime) -> R:
        self.check(principal, body, None)
        record = self.store.model(
            id=new_id(self.prefix, now),
            tenant_id=principal.tenant_id,
            created_at=now,
            updated_at=now,
            **self._fields(body),
        )
        self._write(self.store.create_op(record), None, record, lambda: self.store.create(record))
        self._announce(principal, record.id, "created", None, record)
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

        def attempt() -> tuple[R, R]:
            current = self.get(principal, record_id)
            check_if_match(if_match, current)
            body = validate(self.input_model, patched(self.view(current), document, kind))
            changes = self._fields(body, current)
            if all(getattr(current, name) == value for name, value in changes.items()):
                return current, current
            self.check(principal, body, current)
            updated = type(current).model_validate(
                {**current.model_dump(), **changes, "updated_at": now, "version": current.version + 1}
            )
            self._write(
                self.store.replace_op(updated, current.version),
                current,
                updated,
                lambda: self.store.replace(updated, current.version),
            )
            return current, updated

        current, updated = optimistic(if_match, attempt, self.noun.lower())
        if updated is not current:
            self._announce(principal, updated.id, "updated", current, updated)
        return updated

    def delete(self, principal: Principal, record_id: str, if_match: str | None, now: datetime) -> None:
        def attempt() -> R:
            current = self.get(principal, record_id)
            check_if_match(if_match, current)
            self.ensure_deletable(current, now)
            guard = self.booking_guard(current)
            self._write(
                self.store.delete_op(principal.tenant_id, record_id, current.version, guard),
                current,
                None,
                lambda: self.store.delete(principal.tenant_id, record_id, current.version, guard),
            )
            return current

        current = optimistic(if_match, attempt, self.noun.lower())
        self._announce(principal, current.id, "deleted", current, None)

    def _announce(
        self, principal: Principal, record_id: str, action: Any, before: R | None, after: R | None
    ) -> None:
        self.bus.publish(
            RecordChanged(
                principal.tenant_id,
                self.noun.lower(),
                record_id,
                action,
                Actor.of(principal),
                self.public_json(before) if before is not None else None,
                self.public_json(after) if after is not None else None,
            )
        )

    def public_json(self, record: R) -> dict[str, Any]:
        """The record as notifications and the audit trail may show it (no secrets)."""
        return record_json(record)

    def _write(
        self, op: dict[str, Any], before: R | None, after: R | None, plain: Callable[[], None]
    ) -> None:
        """Write the record (`plain`), or, when other items change with it, `op` and theirs atomically."""
        guards = self.guard_ops(before, after)
        if not guards:
            plain()
            return
        try:
            self.store.table.transact([op, *guards])
        except TransactionCancelled as exc:
            if exc.reasons[0] is not None or exc.only_conflicts:
                raise StaleWrite() from exc
            raise self.guard_refused() from exc

    def guard_ops(self, before: R | None, after: R | None) -> list[dict[str, Any]]:
        """Hook: writes on other items that must succeed with this one (uniqueness claims)."""
        return []

    def guard_refused(self) -> Exception:
        """Hook: the error for a refused guard operation."""
        return Conflict("A related record changed; retry.")

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
    """Channels; a webhook secret and an agent password are write-only and kept when a patch omits them.

    An `opencast_agent` driver's name is claimed in the agent registry in the same transaction as the
    channel write (`agent_claims`), so two channels can never hold the same agent name. A driver is
    checked when a channel is created and whenever a patch changes it (`check_driver`: where a webhook
    may go, which MediaLive channels the tenant may drive).
    """

    def __init__(
        self,
        store: RecordStore[Channel],
        bus: MessageBus,
        future_events: Callable[[Channel, datetime], list[str]],
        continuing_series: Callable[[Channel, datetime], list[str]] = lambda channel, now: [],
        agent_claims: Callable[[Channel | None, Channel | None], list[dict[str, Any]]] | None = None,
        check_driver: Callable[[str, Driver], None] = lambda tenant_id, driver: None,
    ) -> None:
        super().__init__(store, ChannelIn, "ch", "Channel", bus)
        self.future_events = future_events
        self.continuing_series = continuing_series
        self.agent_claims = agent_claims
        self.check_driver = check_driver

    def public_json(self, record: Channel) -> dict[str, Any]:
        data = record_json(record, frozenset({"max_event_seconds"}))
        data["driver"].pop("secret", None)
        data["driver"].pop("digest", None)
        return data

    def check(self, principal: Principal, body: BaseModel, current: Channel | None) -> None:
        driver = _DRIVER.validate_python(self._fields(body, current)["driver"])
        if current is None or _target(driver) != _target(current.driver):
            self.check_driver(principal.tenant_id, driver)

    def view(self, record: Channel) -> dict[str, Any]:
        data = super().view(record)
        data["driver"].pop("secret", None)
        data["driver"].pop("digest", None)
        return data

    def guard_ops(self, before: Channel | None, after: Channel | None) -> list[dict[str, Any]]:
        return self.agent_claims(before, after) if self.agent_claims else []

    def guard_refused(self) -> Exception:
        return Conflict(
            "Another channel already uses this agent name.",
            {"errors": [{"pointer": "/driver/agent", "detail": "is already used by another channel"}]},
        )

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
        if driver["type"] == "opencast_agent":
            password = driver.pop("password", None)
            if password is not None:
                driver["digest"] = ha1_all(driver["agent"], password)
            elif (
                isinstance(current, Channel)
                and isinstance(current.driver, OpencastAgentDriver)
                and (current.driver.agent == driver["agent"])
            ):
                driver["digest"] = current.driver.digest
            else:  # HA1 hashes the agent name too: a new name needs the password again
                raise ValidationFailed.one("/driver/password", "is required for a new agent or agent name")
        return fields

    def ensure_deletable(self, record: Channel, now: datetime) -> None:
        """A channel with bookings ahead stays (409 naming them): its events, and its series with
        occurrences ahead (paused ones may resume), even before they are materialised."""
        events = self.future_events(record, now)
        series = self.continuing_series(record, now)
        if events or series:
            raise Conflict(
                "The channel has bookings ahead; cancel, delete or move them first.",
                {"event_ids": events, "schedule_ids": series},
            )

    def booking_guard(self, record: Channel) -> int | None:
        return record.booking_version


_DRIVER: TypeAdapter[Driver] = TypeAdapter(Driver)


def _target(driver: Driver) -> tuple[str, str | None]:
    """What a driver acts on (its type and URL or MediaLive id); a new secret alone changes nothing."""
    return driver.type, getattr(driver, "url", None) or getattr(driver, "channel_id", None)


class SourceService(CatalogService[Source]):
    """Sources; one that bookings still to come use cannot be deleted (they would point at nothing)."""

    def __init__(
        self,
        store: RecordStore[Source],
        bus: MessageBus,
        future_events_using: Callable[[Source, datetime], list[str]] = lambda source, now: [],
        series_using: Callable[[Source, datetime], list[str]] = lambda source, now: [],
    ) -> None:
        super().__init__(store, SourceIn, "src", "Source", bus)
        self.future_events_using = future_events_using
        self.series_using = series_using

    def ensure_deletable(self, record: Source, now: datetime) -> None:
        events = self.future_events_using(record, now)
        series = self.series_using(record, now)
        if events or series:
            raise Conflict(
                "Bookings still to come use this source; remove it from them first.",
                {"event_ids": events, "schedule_ids": series},
            )
