"""The channel lock: `live_event_id` on the channel item, taken and released with conditional writes.

At most one event is live on a channel. Taking the lock and moving the event to `live` are one
TransactWriteItems, so a second start can never slip in between a check and a write.
"""

from __future__ import annotations

from typing import Any

from chalicelib.adapters import keys as k
from chalicelib.adapters.dynamo import ConditionFailed, Table, TransactionCancelled
from chalicelib.adapters.events import event_item
from chalicelib.adapters.history import Entry, history_item
from chalicelib.domain.errors import Conflict, StaleWrite
from chalicelib.domain.models import Event

FREE_OR_MINE = "attribute_exists(pk) AND (attribute_not_exists(live_event_id) OR live_event_id = :me)"


class ChannelBusy(Conflict):
    """Another event holds the channel's lock (409)."""

    def __init__(self, holder: str | None) -> None:
        super().__init__(
            f"Another event ({holder or 'unknown'}) is live on this channel.", {"live_event_id": holder}
        )
        self.holder = holder


class ChannelLocks:
    """Reads and conditional writes of the channel lock."""

    def __init__(self, table: Table) -> None:
        self.table = table

    def holder(self, tenant_id: str, channel_id: str) -> str | None:
        """The id of the event holding the channel's lock, if any."""
        item = self.table.get(k.collection(tenant_id, "CHANNEL"), channel_id)
        return item.get("live_event_id") if item else None

    def write(self, event: Event, previous: Event, lock: str | None, entry: Entry | None = None) -> None:
        """Write `event` over `previous` (version-checked) and, atomically, `lock` = "take" or "release"
        and the history line `entry`.

        Only for state changes that book nothing (the slot is unchanged), so the channel's booking
        version and guards stay as they are.
        """
        extra = [{"Put": {"Item": history_item(entry)}}] if entry is not None else None
        ops: list[dict[str, Any]] = [
            {
                "Put": {
                    "Item": event_item(event),
                    "ConditionExpression": "version = :v",
                    "ExpressionAttributeValues": {":v": previous.version},
                }
            }
        ]
        if lock == "take":
            ops.append(self._op(event, "SET live_event_id = :me", FREE_OR_MINE))
        elif lock == "release":
            # Releasing a lock someone else holds must not clear theirs; the condition keeps it a no-op.
            ops.append(self._op(event, "REMOVE live_event_id", FREE_OR_MINE))
        ops += extra or []
        try:
            self.table.transact(ops)
        except TransactionCancelled as exc:
            lock_refused = lock is not None and exc.reasons[0] is None and exc.reasons[1] is not None
            if lock_refused and lock == "take":
                raise ChannelBusy(self.holder(event.tenant_id, event.channel_id)) from exc
            if not lock_refused:
                raise StaleWrite() from exc
        else:
            return
        # Releasing a lock another event holds: write the state change alone, theirs stays.
        try:
            self.table.transact([ops[0], *ops[2:]])
        except TransactionCancelled as exc:
            raise StaleWrite() from exc

    def release(self, tenant_id: str, channel_id: str, event_id: str) -> bool:
        """Clear the lock if `event_id` holds it; returns whether it did. Idempotent."""
        try:
            self.table.update(
                k.collection(tenant_id, "CHANNEL"),
                channel_id,
                "REMOVE live_event_id",
                condition="live_event_id = :me",
                values={":me": event_id},
            )
        except ConditionFailed:
            return False
        return True

    def _op(self, event: Event, expression: str, condition: str) -> dict[str, Any]:
        return {
            "Update": {
                "Key": {"pk": k.collection(event.tenant_id, "CHANNEL"), "sk": event.channel_id},
                "UpdateExpression": expression,
                "ConditionExpression": condition,
                "ExpressionAttributeValues": {":me": event.id},
            }
        }
