"""A thin layer over the DynamoDB client: typed values in and out, errors turned into named exceptions."""

from __future__ import annotations

import base64
import binascii
import hashlib
import itertools
import json
import time
from collections.abc import Callable, Iterable
from contextvars import ContextVar
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from chalicelib import logs
from chalicelib.domain.errors import ValidationFailed

_SER = TypeSerializer()
_DESER = TypeDeserializer()


class ConditionFailed(Exception):
    """A conditional write's condition did not hold."""


class TransactionCancelled(Exception):
    """A transaction was cancelled; `reasons` has one code per item (`None` where it was fine)."""

    def __init__(self, reasons: list[str | None]) -> None:
        super().__init__(f"transaction cancelled: {reasons}")
        self.reasons = reasons

    @property
    def only_conflicts(self) -> bool:
        """True when it lost only to a concurrent transaction (worth retrying)."""
        codes = {r for r in self.reasons if r}
        return bool(codes) and codes <= {"TransactionConflict"}


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, set):
        return {_plain(v) for v in value}
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def serialize(item: dict[str, Any]) -> dict[str, Any]:
    """Python values to DynamoDB attribute values (None values are left out)."""
    return {k: _SER.serialize(v) for k, v in item.items() if v is not None}


def deserialize(item: dict[str, Any]) -> dict[str, Any]:
    """DynamoDB attribute values to plain Python (numbers become int or float)."""
    return {k: _plain(_DESER.deserialize(v)) for k, v in item.items()}


def encode_cursor(last_key: dict[str, Any] | None) -> str | None:
    """An opaque cursor for a page's LastEvaluatedKey."""
    if not last_key:
        return None
    raw = json.dumps(deserialize(last_key), separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(
    cursor: str | None, expect: dict[str, str], keys: tuple[str, ...] = ("pk", "sk")
) -> dict[str, Any] | None:
    """Check a client's cursor belongs to this very query (same partition, every key attribute the
    listing's table or index needs, nothing else) before DynamoDB sees it."""
    if not cursor:
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        data = None
    required = {"pk", "sk", *keys, *expect}
    ok = (
        isinstance(data, dict)
        and set(data) == required
        and all(isinstance(k, str) and isinstance(v, str) and v for k, v in data.items())
        and all(data.get(k) == v for k, v in expect.items())
    )
    if not ok:
        raise ValidationFailed.one("/query/cursor", "is not a cursor this listing returned")
    return serialize(data)


@dataclass(frozen=True)
class Page:
    """One Query's result: items, the cursor to continue, and what DynamoDB read to make it."""

    items: list[dict[str, Any]]
    next_cursor: str | None
    scanned: int = 0
    last_key: dict[str, Any] | None = None  # the raw LastEvaluatedKey, for internal paging


@dataclass
class _Pending:
    """A check on one item that must pass before anything else this request does counts."""

    table: str
    pk: str
    sk: str
    check: Callable[[dict[str, Any] | None], None]
    error: Exception | None = None
    done: bool = False


# Per request (each request runs in its own context): the check that the next read carries along.
_pending: ContextVar[_Pending | None] = ContextVar("onair_pending_check", default=None)


class Table:
    """One DynamoDB table, addressed through the client `client_factory` returns."""

    def __init__(self, name: str, client_factory: Callable[[], Any]) -> None:
        self.name = name
        self._client_factory = client_factory

    @property
    def client(self) -> Any:
        return self._client_factory()

    # -- a check that rides along with the request's first read ----------------------------------------

    def check_with_next_read(self, pk: str, sk: str, check: Callable[[dict[str, Any] | None], None]) -> None:
        """Read item (pk, sk) in the same round trip as this request's next GetItem and pass it to `check`.

        `check` raises to refuse the request. Any other operation (a Query or any write) reads the item
        on its own first, so nothing is written before the check has passed; `settle` does it at the
        end if nothing read at all. After a failed check every operation raises the same error.
        """
        _pending.set(_Pending(self.name, pk, sk, check))

    def settle(self) -> None:
        """Run the pending check now unless a read already carried it; raise its error; forget it."""
        try:
            self._settle()
        finally:
            _pending.set(None)

    def _settle(self) -> None:
        pending = _pending.get()
        if pending is None or pending.table != self.name:
            return
        if not pending.done:
            out = self.client.get_item(
                TableName=self.name, Key=serialize({"pk": pending.pk, "sk": pending.sk}), ConsistentRead=True
            )
            self._judge(pending, deserialize(out["Item"]) if "Item" in out else None)
        if pending.error is not None:
            raise pending.error

    @staticmethod
    def _judge(pending: _Pending, item: dict[str, Any] | None) -> None:
        pending.done = True  # only once the item was read: a failed read leaves the check pending
        try:
            pending.check(item)
        except Exception as error:
            pending.error = error
            raise

    def get(self, pk: str, sk: str, consistent: bool = True) -> dict[str, Any] | None:
        """GetItem, strongly consistent by default (a BatchGetItem when a pending check rides along)."""
        pending = _pending.get()
        if pending is not None and pending.table == self.name and not pending.done:
            return self._get_with(pending, pk, sk)
        self._settle()
        out = self.client.get_item(
            TableName=self.name, Key=serialize({"pk": pk, "sk": sk}), ConsistentRead=consistent
        )
        return deserialize(out["Item"]) if "Item" in out else None

    def _get_with(self, pending: _Pending, pk: str, sk: str) -> dict[str, Any] | None:
        """One BatchGetItem for the item asked for and the pending check's item (strongly consistent)."""
        wanted = {(pk, sk), (pending.pk, pending.sk)}
        keys = [serialize({"pk": p, "sk": s}) for p, s in wanted]
        found: dict[tuple[str, str], dict[str, Any]] = {}
        for attempt in range(8):
            out = self.client.batch_get_item(RequestItems={self.name: {"Keys": keys, "ConsistentRead": True}})
            for raw in out.get("Responses", {}).get(self.name, []):
                item = deserialize(raw)
                found[(item["pk"], item["sk"])] = item
            keys = out.get("UnprocessedKeys", {}).get(self.name, {}).get("Keys", [])
            if not keys:
                break
            time.sleep(0.005 * 2**attempt)  # throttled: back off as the SDK would
        else:
            raise RuntimeError("DynamoDB left keys unprocessed after retries")
        self._judge(pending, found.get((pending.pk, pending.sk)))
        return found.get((pk, sk))

    def put(
        self,
        item: dict[str, Any],
        condition: str | None = None,
        values: dict[str, Any] | None = None,
        names: dict[str, str] | None = None,
    ) -> None:
        """PutItem, raising `ConditionFailed` when `condition` does not hold."""
        self._settle()
        kwargs = self._conditional(condition, values, names)
        try:
            self.client.put_item(TableName=self.name, Item=serialize(item), **kwargs)
        except ClientError as exc:
            _raise_condition(exc)

    def delete(
        self,
        pk: str,
        sk: str,
        condition: str | None = None,
        values: dict[str, Any] | None = None,
        names: dict[str, str] | None = None,
    ) -> None:
        """DeleteItem, raising `ConditionFailed` when `condition` does not hold."""
        self._settle()
        kwargs = self._conditional(condition, values, names)
        try:
            self.client.delete_item(TableName=self.name, Key=serialize({"pk": pk, "sk": sk}), **kwargs)
        except ClientError as exc:
            _raise_condition(exc)

    def update(
        self,
        pk: str,
        sk: str,
        expression: str,
        condition: str | None = None,
        values: dict[str, Any] | None = None,
        names: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """UpdateItem returning the new item, raising `ConditionFailed` when `condition` does not hold."""
        self._settle()
        kwargs = self._conditional(condition, values, names)
        try:
            out = self.client.update_item(
                TableName=self.name,
                Key=serialize({"pk": pk, "sk": sk}),
                UpdateExpression=expression,
                ReturnValues="ALL_NEW",
                **kwargs,
            )
        except ClientError as exc:
            _raise_condition(exc)
        return deserialize(out.get("Attributes", {}))

    def query(
        self,
        key_condition: str,
        values: dict[str, Any],
        *,
        index: str | None = None,
        names: dict[str, str] | None = None,
        filter_expression: str | None = None,
        limit: int = 50,
        forward: bool = True,
        start_key: dict[str, Any] | None = None,
        consistent: bool = False,
    ) -> Page:
        """One Query call: a page of at most `limit` items read (before any filter)."""
        self._settle()
        kwargs: dict[str, Any] = {
            "TableName": self.name,
            "KeyConditionExpression": key_condition,
            "ExpressionAttributeValues": serialize(values),
            "Limit": limit,
            "ScanIndexForward": forward,
        }
        if index:
            kwargs["IndexName"] = index
        elif consistent:
            kwargs["ConsistentRead"] = True
        if names:
            kwargs["ExpressionAttributeNames"] = names
        if filter_expression:
            kwargs["FilterExpression"] = filter_expression
        if start_key:
            kwargs["ExclusiveStartKey"] = start_key
        try:
            out = self.client.query(**kwargs)
        except ClientError as exc:
            # A cursor from another listing can fall outside this query's key range.
            if start_key and exc.response.get("Error", {}).get("Code") == "ValidationException":
                raise ValidationFailed.one("/query/cursor", "does not belong to this listing") from exc
            raise
        return Page(
            items=[deserialize(i) for i in out.get("Items", [])],
            next_cursor=encode_cursor(out.get("LastEvaluatedKey")),
            scanned=out.get("ScannedCount", 0),
            last_key=out.get("LastEvaluatedKey"),
        )

    def transact(self, operations: Iterable[dict[str, Any]]) -> None:
        """TransactWriteItems over this table, idempotent across the SDK's retries.

        Operations are `{"Put"|"Update"|"Delete"|"ConditionCheck": {...}}` with plain values. The call
        carries a `ClientRequestToken` (`request_token`): when botocore retries it after a timeout or a
        dropped connection and the first attempt had landed, DynamoDB answers with that first outcome
        instead of applying it again (or failing its conditions against its own write).
        """
        self._settle()
        items = []
        for op in operations:
            ((kind, body),) = op.items()
            body = dict(body, TableName=self.name)
            for field in ("Item", "Key", "ExpressionAttributeValues"):
                if field in body:
                    body[field] = serialize(body[field])
            items.append({kind: body})
        try:
            self.client.transact_write_items(TransactItems=items, ClientRequestToken=request_token(items))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "TransactionCanceledException":
                raise
            reasons = exc.response.get("CancellationReasons") or _reasons_from_message(
                exc.response["Error"].get("Message", ""), len(items)
            )
            raise TransactionCancelled(
                [None if r.get("Code") in (None, "None") else r.get("Code") for r in reasons]
            ) from exc

    @staticmethod
    def _conditional(
        condition: str | None, values: dict[str, Any] | None, names: dict[str, str] | None
    ) -> dict[str, Any]:
        kwargs: dict[str, Any] = {}
        if condition:
            kwargs["ConditionExpression"] = condition
        if values:
            kwargs["ExpressionAttributeValues"] = serialize(values)
        if names:
            kwargs["ExpressionAttributeNames"] = names
        return kwargs


def request_token(items: list[dict[str, Any]]) -> str:
    """The `ClientRequestToken` of one TransactWriteItems call: a hash of the request's id, the call's number
    in this process, and the transaction's items.

    botocore sends the same token with each of its retries, so a retry of a write that landed is
    recognised. The call number keeps two writes apart even when a request makes the very same one twice
    (both must apply); the request id (when there is one) ties the token to the request in logs.
    """
    request_id = logs.current().get("request_id") or ""
    content = json.dumps(items, sort_keys=True, separators=(",", ":"), default=str)
    basis = f"{request_id}\n{next(_CALLS)}\n{content}"
    return hashlib.sha256(basis.encode()).hexdigest()[:36]


_CALLS = itertools.count()


def _raise_condition(exc: ClientError) -> None:
    if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
        raise ConditionFailed(str(exc)) from exc
    raise exc


def _reasons_from_message(message: str, count: int) -> list[dict[str, str]]:
    """Parse "...reasons [None, ConditionalCheckFailed]" when the response lacks CancellationReasons."""
    inside = message[message.find("[") + 1 : message.rfind("]")] if "[" in message else ""
    codes = [c.strip() for c in inside.split(",")] if inside else ["Unknown"] * count
    return [{"Code": c} for c in codes]
