"""The event repository: one item per event plus sparse index attributes, and uniqueness guards.

Index choice for listings and why a window listing is one bounded Query are in docs/dynamodb.md.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from chalicelib.adapters import guards as store_guards
from chalicelib.adapters import keys as k
from chalicelib.adapters.dynamo import ConditionFailed, Table, TransactionCancelled, decode_cursor
from chalicelib.adapters.records import from_item, to_item
from chalicelib.adapters.runs import marker_item
from chalicelib.domain.errors import (
    AlreadyExists,
    BookingRaced,
    Conflict,
    ExternalIdTaken,
    FieldError,
    StaleWrite,
    ValidationFailed,
)
from chalicelib.domain.lifecycle import TERMINAL
from chalicelib.domain.models import Event
from chalicelib.domain.queries import EventQuery
from chalicelib.domain.time import format_instant

if TYPE_CHECKING:  # not at runtime: the recurrence engine loads on first use (cold start)
    from chalicelib.domain.schedules import Schedule


@dataclass(frozen=True)
class EventPage:
    items: list[Event]
    next_cursor: str | None
    scanned: int


def index_attributes(event: Event) -> dict[str, str]:
    """Sparse index keys: live events appear in the time indexes, soft-deleted ones only in `deleted`."""
    t = event.tenant_id
    if event.deleted_at is not None:
        return {"g5pk": k.deleted_events(t), "g5sk": k.at(event.start, event.id)}
    attrs = {
        "g1pk": k.events_of_tenant(t),
        "g1sk": k.at(event.start, event.id),
        "g2pk": k.events_of_channel(t, event.channel_id),
        "g2sk": k.at(event.start, event.id),
    }
    if event.schedule_id:
        attrs |= {"g3pk": k.events_of_schedule(t, event.schedule_id), "g3sk": k.at(event.start, event.id)}
    if event.ref_id:
        attrs |= {"g4pk": k.events_with_ref(t, event.ref_id), "g4sk": k.at(event.start, event.id)}
    if event.state not in TERMINAL:  # not settled yet: the deadlines job finds it by its end
        attrs |= {"g7pk": k.open_events(k.open_shard(event.id)), "g7sk": k.at(event.end, f"{t}#{event.id}")}
    return attrs


def event_item(event: Event) -> dict[str, Any]:
    """The stored item: document, filterable copies of a few fields, and index keys."""
    return to_item(
        event,
        k.collection(event.tenant_id, "EVENT"),
        state=event.state.value,
        title_lc=event.title.lower(),
        tags=list(event.tags) or None,
        channel_id=event.channel_id,
        schedule_id=event.schedule_id,
        ref_id=event.ref_id,
        start_s=format_instant(event.start),
        end_s=format_instant(event.end),
        overlaps=set(event.overlaps) or None,
        **index_attributes(event),
    )


def series_unchanged_op(schedule: Schedule) -> dict[str, Any]:
    """A transaction item that fails unless the schedule is still at `schedule.version` (a write made on
    the strength of what the series was, such as materialising one of its occurrences)."""
    return {
        "ConditionCheck": {
            "Key": {"pk": k.collection(schedule.tenant_id, "SCHEDULE"), "sk": schedule.id},
            "ConditionExpression": "version = :v",
            "ExpressionAttributeValues": {":v": schedule.version},
        }
    }


def mark_op(tenant_id: str, event_id: str, other_id: str, present: bool) -> dict[str, Any]:
    """The update that adds `other_id` to (or drops it from) an event's accepted overlaps.

    It bumps the event's version (its representation changed), so a writer holding an older copy cannot
    put the old set back; the event must exist.
    """
    return {
        "Update": {
            "Key": {"pk": k.collection(tenant_id, "EVENT"), "sk": event_id},
            "UpdateExpression": f"{'ADD' if present else 'DELETE'} #ov :id SET version = version + :one",
            "ConditionExpression": "attribute_exists(pk)",
            "ExpressionAttributeNames": {"#ov": "overlaps"},  # a reserved word
            "ExpressionAttributeValues": {":id": {other_id}, ":one": 1},
        }
    }


CREATED_BY = "created_by_write"
"""The attribute a create writes a one-off tag into, so a retry can recognise its own landed write."""


class EventStore:
    """Reads and guarded writes of events."""

    def __init__(self, table: Table) -> None:
        self.table = table

    def get(self, tenant_id: str, event_id: str) -> Event | None:
        item = self.table.get(k.collection(tenant_id, "EVENT"), event_id)
        return from_item(Event, item) if item else None

    def id_for_external(self, tenant_id: str, external_id: str) -> str | None:
        item = self.table.get(k.external_id_pk(tenant_id), external_id)
        return item["event_id"] if item else None

    # -- writes ---------------------------------------------------------------------------------------

    def create(
        self,
        event: Event,
        booking_version: int | None = None,
        run_due_at: datetime | None = None,
        marks: Sequence[str] = (),
        series: Schedule | None = None,
    ) -> None:
        """Put a new event, bump its channel's booking version, claim its external_id, check its sources.

        With `booking_version`, the write only succeeds if no other booking reached the channel since
        that version was read (the overlap check was made against it): race-free booking. With
        `run_due_at`, the marker that has the scheduled job start the event's run then is written too,
        in the same transaction (no extra round trip, and never a marker without its event). `marks` are
        events that now list this one among their accepted overlaps (failing means a booking changed:
        check again). With `series`, the series the event stands for must still be at its version.
        """
        # A tag only this call writes: if a retry finds the event carrying it, the first attempt landed.
        tag = uuid.uuid4().hex
        ops: list[tuple[dict[str, Any], str]] = [
            (
                {
                    "Put": {
                        "Item": {**event_item(event), CREATED_BY: tag},
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
                "event",
            ),
            (self._bump_channel(event, booking_version), "channel"),
        ]
        if event.external_id:
            ops.append((self._claim_external(event), "external_id"))
        ops += [
            (store_guards.source_exists_op(event.tenant_id, s), f"/source_ids/{i}")
            for i, s in enumerate(event.source_ids)
        ]
        if run_due_at is not None:
            ops.append(({"Put": {"Item": marker_item(event.tenant_id, event.id, run_due_at)}}, "run_due"))
        if series is not None:
            ops.append((series_unchanged_op(series), "series"))
        try:
            self._run([*ops, *self._marks(event, marks)])
        except (AlreadyExists, BookingRaced, Conflict):
            # A retry of this very write that had landed (its answer lost, and retried without the token
            # that would have said so) fails its own conditions: the event is there with this call's tag.
            # That is a success, and the caller's side effects (the run, the notification) must still
            # happen. Anyone else's event with this id (a materialiser's deterministic one) is not.
            stored = self.table.get(k.collection(event.tenant_id, "EVENT"), event.id)
            if stored is None or stored.get(CREATED_BY) != tag:
                raise

    def update(
        self,
        event: Event,
        previous: Event,
        booking_version: int | None = None,
        marks: Sequence[str] = (),
    ) -> None:
        """Replace `previous` (version-checked) with `event`, keeping guards and the channel in step."""
        ops: list[tuple[dict[str, Any], str]] = [
            (
                {
                    "Put": {
                        "Item": event_item(event),
                        "ConditionExpression": "version = :v",
                        "ExpressionAttributeValues": {":v": previous.version},
                    }
                },
                "version",
            )
        ]
        if (event.channel_id, event.start, event.end, event.occupies()) != (
            previous.channel_id,
            previous.start,
            previous.end,
            previous.occupies(),
        ):
            ops.append((self._bump_channel(event, booking_version), "channel"))
        if event.external_id != previous.external_id:
            if previous.external_id:
                ops.append((self._release_external(previous), "guard"))
            if event.external_id:
                ops.append((self._claim_external(event), "external_id"))
        added = [s for s in event.source_ids if s not in previous.source_ids]
        ops += [
            (store_guards.source_exists_op(event.tenant_id, s), f"/source_ids/{event.source_ids.index(s)}")
            for s in added
        ]
        self._run([*ops, *self._marks(event, marks)])

    def delete(self, event: Event) -> None:
        """Remove an event for good, and its external_id guard; a slot it held is freed (the channel's
        booking version moves, so a check made before cannot lean on it)."""
        ops: list[tuple[dict[str, Any], str]] = [
            (
                {
                    "Delete": {
                        "Key": {"pk": k.collection(event.tenant_id, "EVENT"), "sk": event.id},
                        "ConditionExpression": "version = :v",
                        "ExpressionAttributeValues": {":v": event.version},
                    }
                },
                "version",
            )
        ]
        if event.external_id:
            ops.append((self._release_external(event), "guard"))
        if event.occupies():
            ops.append((self._bump_channel(event, None), "channel"))
        self._run(ops)

    def mark(self, tenant_id: str, event_id: str, other_id: str, present: bool) -> None:
        """Add or drop one accepted-overlap mark on its own (best effort: a vanished event is skipped)."""
        op = mark_op(tenant_id, event_id, other_id, present)["Update"]
        with contextlib.suppress(ConditionFailed):
            self.table.update(
                op["Key"]["pk"],
                op["Key"]["sk"],
                op["UpdateExpression"],
                condition=op["ConditionExpression"],
                values=op["ExpressionAttributeValues"],
                names=op["ExpressionAttributeNames"],
            )

    def raise_max_duration(self, pk: str, sk: str, seconds: int) -> None:
        """Record that a booking this long exists (the value only grows; a lost race is harmless)."""
        with contextlib.suppress(ConditionFailed):
            self.table.update(
                pk,
                sk,
                "SET max_event_seconds = :s",
                condition="attribute_exists(pk) AND (attribute_not_exists(max_event_seconds) "
                "OR max_event_seconds < :s)",
                values={":s": seconds},
            )

    def _bump_channel(self, event: Event, booking_version: int | None) -> dict[str, Any]:
        return store_guards.bump_channel_op(event.tenant_id, event.channel_id, booking_version)

    @staticmethod
    def _marks(event: Event, others: Sequence[str]) -> list[tuple[dict[str, Any], str]]:
        return [(mark_op(event.tenant_id, other, event.id, True), "mark") for other in others]

    def _claim_external(self, event: Event) -> dict[str, Any]:
        return {
            "Put": {
                "Item": {
                    "pk": k.external_id_pk(event.tenant_id),
                    "sk": event.external_id,
                    "event_id": event.id,
                },
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        }

    def _release_external(self, event: Event) -> dict[str, Any]:
        return {
            "Delete": {
                "Key": {"pk": k.external_id_pk(event.tenant_id), "sk": event.external_id},
                "ConditionExpression": "attribute_not_exists(pk) OR event_id = :me",
                "ExpressionAttributeValues": {":me": event.id},
            }
        }

    def _run(self, ops: list[tuple[dict[str, Any], str]]) -> None:
        """Run a transaction and turn each failed item's meaning into the domain error it stands for."""
        try:
            self.table.transact(op for op, _ in ops)
        except TransactionCancelled as exc:
            if exc.only_conflicts:
                raise StaleWrite() from exc
            failed = [meaning for (_, meaning), code in zip(ops, exc.reasons, strict=False) if code]
            missing = [m for m in failed if m.startswith("/")]
            if missing:
                raise ValidationFailed(
                    [
                        FieldError(m, "no such channel" if m == "/channel_id" else "no such source")
                        for m in missing
                    ]
                ) from exc
            if "channel" in failed or "mark" in failed:
                raise BookingRaced() from exc  # the caller re-reads the channel: gone, or just busy
            if "event" in failed and len(failed) == 1:
                raise AlreadyExists("An event with this id exists.") from exc
            if "external_id" in failed:
                raise ExternalIdTaken() from exc
            raise StaleWrite() from exc

    # -- reads ----------------------------------------------------------------------------------------

    def unsettled(self, ended_before: datetime, limit: int = 100) -> Iterator[Event]:
        """Events not in a terminal state (and not deleted) that ended before `ended_before`, oldest end
        first per partition: one Query per page of each open-events partition, never a Scan."""
        for shard in range(k.OPEN_SHARDS):
            cursor = None
            while True:
                page = self.table.query(
                    "g7pk = :pk AND g7sk < :before",
                    {":pk": k.open_events(shard), ":before": k.before(ended_before)},
                    index="run_due",
                    limit=limit,
                    start_key=cursor,
                )
                yield from (from_item(Event, item) for item in page.items)
                if page.next_cursor is None:
                    break
                cursor = page.last_key

    def iterate(self, query: EventQuery, bound_seconds: int = 0) -> Iterator[Event]:
        """Every event the query matches, page after page (one Query each, read lazily)."""
        cursor = None
        while True:
            page = self.list(replace(query, cursor=cursor), bound_seconds)
            yield from page.items
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    def list(self, query: EventQuery, bound_seconds: int = 0) -> EventPage:
        """One Query for one page. `bound_seconds` is the longest booking in scope (window listings)."""
        t = query.tenant_id
        bound = timedelta(seconds=bound_seconds)
        names: dict[str, str] = {}
        values: dict[str, Any] = {}
        filters: list[str] = []
        if query.deleted:
            index, pk = "deleted_by_start", k.deleted_events(t)
        elif query.schedule_id:
            index, pk = "schedule_by_start", k.events_of_schedule(t, query.schedule_id)
        elif query.ref_id:
            index, pk = "ref_by_start", k.events_with_ref(t, query.ref_id)
        elif query.channel_id:
            index, pk = "channel_by_start", k.events_of_channel(t, query.channel_id)
        else:
            index, pk = "by_start", k.events_of_tenant(t)
        pk_attr, sk_attr = k.INDEXES[index]
        names |= {"#pk": pk_attr, "#sk": sk_attr}
        values[":pk"] = pk
        key = "#pk = :pk"
        # Overlapping [from, to) means start < to and end > from. Every index is sorted by start, so the
        # key bounds start: below `to`, and not before `from - longest booking in scope` (anything earlier
        # ended before `from`). The filter drops the few in between that ended before `from`.
        if query.start_from is not None and query.to is not None:
            values[":lo"] = k.before(query.start_from - bound)
            values[":hi"] = k.before(query.to)
            key += " AND #sk BETWEEN :lo AND :hi"
        elif query.to is not None:
            values[":hi"] = k.before(query.to)
            key += " AND #sk < :hi"
        elif query.start_from is not None:
            values[":lo"] = k.before(query.start_from - bound)
            key += " AND #sk >= :lo"
        if query.start_from is not None:
            filters.append("end_s > :from")
            values[":from"] = format_instant(query.start_from)

        if query.channel_id and not index.startswith("channel"):
            filters.append("channel_id = :ch")
            values[":ch"] = query.channel_id
        if query.schedule_id and index != "schedule_by_start":
            filters.append("schedule_id = :sch")
            values[":sch"] = query.schedule_id
        if query.ref_id and index != "ref_by_start":
            filters.append("ref_id = :ref")
            values[":ref"] = query.ref_id
        if query.states:
            names["#state"] = "state"
            placeholders = []
            for i, state in enumerate(query.states):
                values[f":st{i}"] = state.value
                placeholders.append(f":st{i}")
            filters.append(f"#state IN ({', '.join(placeholders)})")
        if query.tag:
            filters.append("contains(tags, :tag)")
            values[":tag"] = query.tag
        if query.q:
            filters.append("contains(title_lc, :q)")
            values[":q"] = query.q.lower()

        if "#sk" not in key:
            names.pop("#sk")
        page = self.table.query(
            key,
            values,
            index=index,
            names=names,
            filter_expression=" AND ".join(filters) or None,
            limit=query.limit,
            forward=not query.descending,
            start_key=decode_cursor(query.cursor, {pk_attr: pk}, (pk_attr, sk_attr)),
        )
        return EventPage([from_item(Event, item) for item in page.items], page.next_cursor, page.scanned)
