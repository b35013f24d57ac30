"""Calendar feeds in DynamoDB: a feed's record per tenant plus a token item keyed by the token's hash.

Like an API key: the record (`T#<tenant>#FEED`, sk = feed id) is what admins list; the token item
(`FEEDHASH#<sha256>`, sk `#`) is what a calendar app's request finds with one GetItem. Both are written
and deleted together, so a revoked feed's URL stops working at once. The token item carries what the
calendar needs (tenant, feed id, name, channels): a feed never changes after it is created.
"""

from __future__ import annotations

from typing import Any

from chalicelib.adapters import keys as k
from chalicelib.adapters.dynamo import Table, TransactionCancelled
from chalicelib.adapters.records import RecordStore, from_item
from chalicelib.domain.errors import FieldError, NotFound, StaleWrite, ValidationFailed
from chalicelib.domain.feeds import Feed
from chalicelib.domain.models import Channel

BATCH = 100  # BatchGetItem's limit


def token_pk(token_hash: str) -> str:
    """Partition of the lookup item for a feed token's SHA-256."""
    return f"FEEDHASH#{token_hash}"


def _token_item(feed: Feed) -> dict[str, Any]:
    return {
        "pk": token_pk(feed.token_hash),
        "sk": "#",
        "tenant_id": feed.tenant_id,
        "feed_id": feed.id,
        "name": feed.name,
        "channel_ids": feed.channel_ids,
        "token_hash": feed.token_hash,
    }


def _channel_exists_op(tenant_id: str, channel_id: str) -> dict[str, Any]:
    return {
        "ConditionCheck": {
            "Key": {"pk": k.collection(tenant_id, "CHANNEL"), "sk": channel_id},
            "ConditionExpression": "attribute_exists(pk)",
        }
    }


class FeedStore:
    """Reads and transactional writes of feeds, and the channel reads a feed's calendar makes."""

    def __init__(self, table: Table) -> None:
        self.table = table
        self.records = RecordStore(table, Feed, lambda tenant: k.collection(tenant, "FEED"))
        self.channels = RecordStore(table, Channel, lambda tenant: k.collection(tenant, "CHANNEL"))

    def create(self, feed: Feed) -> None:
        """Store a feed and its token item; every channel it names must exist (422 pointing at each)."""
        ids = feed.channel_ids or []
        ops = [
            self.records.create_op(feed),
            {"Put": {"Item": _token_item(feed), "ConditionExpression": "attribute_not_exists(pk)"}},
            *(_channel_exists_op(feed.tenant_id, channel_id) for channel_id in ids),
        ]
        try:
            self.table.transact(ops)
        except TransactionCancelled as exc:
            missing = [i for i, code in enumerate(exc.reasons[2:]) if code == "ConditionalCheckFailed"]
            if missing:
                errors = [FieldError(f"/channel_ids/{i}", "no such channel") for i in missing]
                raise ValidationFailed(errors) from exc
            raise StaleWrite() from exc

    def lookup(self, token_hash: str) -> dict[str, Any] | None:
        """The token item for a token's hash (strongly consistent: a revoked feed fails at once)."""
        return self.table.get(token_pk(token_hash), "#")

    def revoke(self, feed: Feed) -> None:
        """Delete the feed's record (if still at its version) and its token item, in one transaction."""
        try:
            self.table.transact(
                [
                    self.records.delete_op(feed.tenant_id, feed.id, feed.version),
                    {"Delete": {"Key": {"pk": token_pk(feed.token_hash), "sk": "#"}}},
                ]
            )
        except TransactionCancelled as exc:
            raise NotFound("No such feed.") from exc

    def channels_by_id(self, tenant_id: str, channel_ids: list[str]) -> list[Channel]:
        """The tenant's channels among `channel_ids`, in that order (BatchGetItem; gone ones left out)."""
        found: dict[str, Channel] = {}
        for start in range(0, len(channel_ids), BATCH):
            keys = [self.channels.key(tenant_id, c) for c in channel_ids[start : start + BATCH]]
            for item in self.table.batch_get((key["pk"], key["sk"]) for key in keys):
                channel = from_item(Channel, item)
                found[channel.id] = channel
        return [found[c] for c in channel_ids if c in found]

    def first_channels(self, tenant_id: str, count: int) -> tuple[list[Channel], bool]:
        """The tenant's first `count` channels (oldest first), and whether it has more (one Query)."""
        items, _ = self.channels.list(tenant_id, count + 1, None)
        return items[:count], len(items) > count
