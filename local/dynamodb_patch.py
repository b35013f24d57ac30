"""moto 5.2.5's DynamoDB fit for a long-running local stack: costs follow the items touched, not the table.

On a 10,000-item table moto took 4.5 s for a 3-item TransactWriteItems and 0.2-0.45 s for a Query, and
both grew with the table. What this module changes:

1. `DynamoDBBackend.transact_write_items` deep-copied the whole table once per item of a transaction, to
   roll back. `transact_write_items` below does the same checks and writes but keeps the before-image of
   only the items it writes (`TransactionUndo`) and puts those back if the transaction is cancelled.
2. `Table.query` walked and sorted every item of the table (`all_items()`) to find one partition, and
   sized every candidate. `Partitions` keeps each partition of the table and of each global secondary
   index sorted as moto orders a Query's results; a Query hands moto only the items its key condition,
   `ExclusiveStartKey` and `Limit` leave (two bisections), and moto's own loop still checks each one.
3. Every write keeps `Partitions` up to date: `Table.put_item`, `Table.delete_item`,
   `DynamoDBBackend.update_item` (which changes an item in place) and a cancelled transaction's undo. A
   table whose item dict is replaced wholesale (a restore from backup) is re-indexed on its next Query.
4. Data-plane answers (GetItem, Query, PutItem...) are written as JSON directly: moto's generic
   serializer walks the output shape for every attribute of every item (~1.5 ms an item).

`moto_as_is()` turns 2 and 4 off for the calling thread: the tests compare answers both ways. Calls run
one at a time (`local.emulator.isolate_dynamodb`), so none of this needs a lock of its own. The patch
replaces private methods and refuses any moto but the pinned one. (The memory growth, 0.26 GB → 17 GB in
12 minutes, was moto keeping every object it created: `local.emulator.stop_tracking_instances`.)
"""

from __future__ import annotations

import base64
import bisect
import contextlib
import copy
import datetime
import functools
import json
import threading
import weakref
from collections import defaultdict
from collections.abc import Callable, Iterator
from typing import Any

import moto

MOTO_VERSION = "5.2.5"

Key = tuple[Any, Any]  # (hash DynamoType, range DynamoType or None): an item's primary key in a table

_local = threading.local()
_originals: dict[str, Callable[..., Any]] = {}
stats = {"transactions": 0, "items_copied": 0}  # read by tests: what one transaction snapshots


def table_items(table: Any) -> Any:
    """Every item of `table`, unsorted (moto's `all_items` sorts them)."""
    for value in table.items.values():
        if table.range_key_attr:
            yield from value.values()
        else:
            yield value


def _cast(value: Any) -> Any:
    """A DynamoType as the plain value moto orders it by (str, int, float...)."""
    return value.cast_value


def _first(entry: tuple[Any, ...]) -> Any:
    return entry[0]


def _position(entry: tuple[Any, ...]) -> tuple[Any, ...]:
    return entry[:3]


BOUNDS = {  # range comparison → which end(s) of the sorted partition it cuts
    "=": "eq",
    "EQ": "eq",
    "<": "lt",
    "LT": "lt",
    "<=": "le",
    "LE": "le",
    ">": "gt",
    "GT": "gt",
    ">=": "ge",
    "GE": "ge",
    "BETWEEN": "between",
    "BEGINS_WITH": "prefix",
}


class Partitions:
    """For one table: its partitions and those of each global secondary index, kept sorted as moto sorts
    a Query's results (sort key, then the table's hash and range key).

    Each entry is `(sort value, table hash value, table range value, primary key)`, so a Query finds the
    items its key condition names with two bisections, and a page of `Limit` items without reading the
    rest of the partition.
    """

    TABLE = ""  # the name the table's own partitions go by

    def __init__(self, table: Any) -> None:
        self.source = table.items
        self.table_keys = [a for a in (table.hash_key_attr, table.range_key_attr) if a]
        self.keys: dict[str, tuple[str, str | None]] = {}  # index name → (hash attribute, sort attribute)
        if table.range_key_attr:
            self.keys[self.TABLE] = (table.hash_key_attr, table.range_key_attr)
        for index in table.global_indexes or []:
            hashes = [k["AttributeName"] for k in index.schema if k["KeyType"] == "HASH"]
            ranges = [k["AttributeName"] for k in index.schema if k["KeyType"] == "RANGE"]
            if len(hashes) == 1 and len(ranges) <= 1:
                self.keys[index.name] = (hashes[0], ranges[0] if ranges else None)
        self.partitions: dict[str, dict[Any, list[tuple[Any, ...]]]] = {
            n: defaultdict(list) for n in self.keys
        }
        self.placed: dict[Key, list[tuple[str, Any, tuple[Any, ...]]]] = {}
        self.sortable = True  # False once two sort values in one partition cannot be compared
        for item in table_items(table):
            self.place((item.hash_key, item.range_key), item)

    def place(self, key: Key, item: Any) -> None:
        """Record where the item with `key` is now (`item` None: it is gone)."""
        for name, value, entry in self.placed.pop(key, []):
            entries = self.partitions[name][value]
            try:
                at = bisect.bisect_left(entries, _position(entry), key=_position)
            except TypeError:
                at = len(entries)
            if at < len(entries) and entries[at] is entry:
                del entries[at]
            else:  # cannot happen while every write goes through the hooks; stop trusting the order
                self.sortable = False
            if not entries:
                del self.partitions[name][value]
        if item is None:
            return
        where = []
        tie = (_cast(key[0]), _cast(key[1]) if key[1] is not None else "")
        for name, (hash_attr, sort_attr) in self.keys.items():
            value = item.attrs.get(hash_attr)
            if value is None or (sort_attr is not None and sort_attr not in item.attrs):
                continue  # not in this index
            entry = (_cast(item.attrs[sort_attr]) if sort_attr else "", *tie, key)
            try:
                bisect.insort(self.partitions[name][value], entry, key=_position)
            except TypeError:
                self.sortable = False
                continue
            where.append((name, value, entry))
        if where:
            self.placed[key] = where

    def candidates(self, table: Any, name: str, value: Any, query: dict[str, Any]) -> list[Any] | None:
        """The items of partition `value` of index `name` (TABLE: the table) the Query can return, in
        order; None when moto must walk them itself."""
        if not self.sortable:
            return None
        entries = self.partitions[name].get(value, [])
        lo, hi = 0, len(entries)
        comparison = query["range_comparison"]
        if comparison is not None:
            values = [_cast(v) for v in query["range_objs"]]
            bound = BOUNDS.get(comparison)
            if bound is None or self.keys[name][1] is None:
                return None
            try:
                lo, hi = _bounds(entries, bound, values)
            except TypeError:
                return None
        start = query["exclusive_start_key"]
        forward = query["scan_index_forward"] is not False
        if start:
            after = self._start(name, start)
            if after is None:
                return None
            if forward:
                lo = max(lo, bisect.bisect_right(entries, after, lo, hi, key=_position))
            else:
                hi = min(hi, bisect.bisect_left(entries, after, lo, hi, key=_position))
        limit = query["limit"]
        if limit and not query["filter_kwargs"]:  # one more than a page: moto then sets LastEvaluatedKey
            lo, hi = (lo, min(hi, lo + limit + 1)) if forward else (max(lo, hi - limit - 1), hi)
        found = []
        for entry in entries[lo:hi]:
            item = table.get_item(*entry[3])
            if item is not None:
                found.append(item)
        return found

    def _start(self, name: str, start: dict[str, Any]) -> tuple[Any, ...] | None:
        """An ExclusiveStartKey as an entry's position (None if it lacks a key attribute)."""
        from moto.dynamodb.models.dynamo_type import DynamoType

        sort_attr = self.keys[name][1]
        attrs = [sort_attr, *self.table_keys] if sort_attr else ["", *self.table_keys]
        position = []
        for attr in attrs:
            if attr == "":
                position.append("")
            elif attr not in start:
                return None
            else:
                position.append(DynamoType(start[attr]).cast_value)
        return tuple(position)


def _bounds(entries: list[tuple[Any, ...]], bound: str, values: list[Any]) -> tuple[int, int]:
    """The slice of sorted `entries` whose sort value meets the key condition."""
    left = functools.partial(bisect.bisect_left, entries, key=_first)
    right = functools.partial(bisect.bisect_right, entries, key=_first)
    if bound == "eq":
        return left(values[0]), right(values[0])
    if bound == "lt":
        return 0, left(values[0])
    if bound == "le":
        return 0, right(values[0])
    if bound == "gt":
        return right(values[0]), len(entries)
    if bound == "ge":
        return left(values[0]), len(entries)
    if bound == "between":
        return left(values[0]), right(values[1])
    lo = hi = left(values[0])  # prefix: a contiguous run from the prefix itself
    while hi < len(entries) and str(entries[hi][0]).startswith(values[0]):
        hi += 1
    return lo, hi


_indexes: weakref.WeakKeyDictionary[Any, Partitions] = weakref.WeakKeyDictionary()


def partitions(table: Any) -> Partitions:
    """The table's sorted partitions, built on first use (and again if its item dict was replaced)."""
    index = _indexes.get(table)
    if index is None or index.source is not table.items:
        index = _indexes[table] = Partitions(table)
    return index


def _placed(table: Any, key: Key) -> None:
    """After a write: move the item's entries, if the table is indexed yet."""
    index = _indexes.get(table)
    if index is not None and index.source is table.items:
        index.place(key, table.get_item(*key))


def _candidates(table: Any, query: dict[str, Any]) -> list[Any] | None:
    """The items a Query has to look at, or None when moto's full walk must decide."""
    name = query["index_name"]
    hash_key = query["hash_key"]
    if name is None and not table.range_key_attr:
        if hash_key is None:
            return None
        item = table.items.get(hash_key)
        return [item] if item is not None else []
    index = partitions(table)
    if (name or Partitions.TABLE) not in index.keys or len(query["range_key_conditions"] or []) > 1:
        return None  # a local secondary index or a multi-attribute key: moto walks the table
    hash_attr = index.keys[name or Partitions.TABLE][0]
    if name is None:
        values = [hash_key] if hash_key is not None else []
    else:
        values = [value for attr, value in query["hash_key_conditions"] or [] if attr == hash_attr]
    if len(values) != 1:
        return None
    return index.candidates(table, name or Partitions.TABLE, values[0], query)


# -- the replacements ------------------------------------------------------------------------------------


def as_is() -> bool:
    """Whether this thread asked for moto's own Query and serializer (`moto_as_is`: tests compare)."""
    return getattr(_local, "as_is", False)


@contextlib.contextmanager
def moto_as_is() -> Iterator[None]:
    """Within the block, this thread's Queries walk the table and responses go through moto's serializer."""
    _local.as_is = True
    try:
        yield
    finally:
        _local.as_is = False


FAST_RESULTS = frozenset(
    {
        "GetItem",
        "BatchGetItem",
        "Query",
        "Scan",
        "PutItem",
        "UpdateItem",
        "DeleteItem",
        "BatchWriteItem",
        "TransactGetItems",
        "TransactWriteItems",
    }
)


def _wire(value: Any) -> Any:
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, datetime.datetime):
        return value.timestamp()
    raise TypeError(f"{type(value).__name__} is not JSON")


def _without_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_none(v) for v in value]
    return value


def _execute_result(result: Any, context: Any) -> Any:
    """A data-plane call's result as JSON directly (moto's generic serializer walks the output shape
    for every attribute of every item: ~1.5 ms an item, most of a Query's time)."""
    if context.operation_model.name not in FAST_RESULTS or as_is() or isinstance(result.result, Exception):
        return _originals["execute_result"](result, context)
    body = json.dumps(_without_none(result.result), default=_wire)
    return 200, {"Content-Type": "application/x-amz-json-1.0"}, body


def _all_items(table: Any) -> list[Any]:
    override = getattr(_local, "override", None)
    if override is not None and override[0] is table:
        return override[1]
    return _originals["all_items"](table)


def _query(
    table: Any,
    hash_key: Any,
    range_comparison: Any,
    range_objs: Any,
    limit: Any,
    exclusive_start_key: Any,
    scan_index_forward: Any,
    projection_expressions: Any,
    index_name: str | None = None,
    consistent_read: bool = False,
    filter_expression: Any = None,
    hash_key_conditions: Any = None,
    range_key_conditions: Any = None,
    **filter_kwargs: Any,
) -> Any:
    query = dict(locals())
    del query["table"]

    def original() -> Any:
        return _originals["query"](
            table,
            hash_key,
            range_comparison,
            range_objs,
            limit,
            exclusive_start_key,
            scan_index_forward,
            projection_expressions,
            index_name,
            consistent_read,
            filter_expression,
            hash_key_conditions=hash_key_conditions,
            range_key_conditions=range_key_conditions,
            **filter_kwargs,
        )

    found = None if as_is() else _candidates(table, query)
    if found is None:
        return original()
    _local.override = (table, found)
    try:
        return original()
    finally:
        _local.override = None


def _put_item(table: Any, item_attrs: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
    item = _originals["put_item"](table, item_attrs, *args, **kwargs)
    _placed(table, (item.hash_key, item.range_key))
    return item


def _delete_item(table: Any, hash_key: Any, range_key: Any) -> Any:
    item = _originals["delete_item"](table, hash_key, range_key)
    _placed(table, (hash_key, range_key))
    return item


def _update_item(backend: Any, table_name: str, key: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
    try:
        return _originals["update_item"](backend, table_name, key, *args, **kwargs)
    finally:  # also after a failure: moto may have created or changed the item before raising
        table = backend.tables.get(table_name)
        if table is not None and all(a in key for a in (table.hash_key_attr, table.range_key_attr) if a):
            _placed(table, backend.get_keys_value(table, key))


class TransactionUndo:
    """The before-images of the items a transaction writes, to put back if it is cancelled."""

    def __init__(self, backend: Any) -> None:
        self.backend = backend
        self.before: dict[tuple[str, Key], Any] = {}

    def remember(self, table_name: str, key: dict[str, Any]) -> None:
        table = self.backend.get_table(table_name)
        primary = self.backend.get_keys_value(table, key)
        if (table_name, primary) not in self.before:
            current = table.get_item(*primary)
            self.before[(table_name, primary)] = copy.deepcopy(current)
            stats["items_copied"] += 1

    def roll_back(self) -> None:
        for (table_name, (hash_key, range_key)), item in self.before.items():
            table = self.backend.tables.get(table_name)
            if table is None:
                continue
            if item is None:
                if table.get_item(hash_key, range_key) is not None:
                    _originals["delete_item"](table, hash_key, range_key)
            elif range_key is not None:
                table.items[hash_key][range_key] = item
            else:
                table.items[hash_key] = item
            _placed(table, (hash_key, range_key))


def transact_write_items(backend: Any, transact_items: list[dict[str, Any]]) -> None:
    """moto 5.2.5's `DynamoDBBackend.transact_write_items`, rolling back only the items it wrote."""
    from moto.dynamodb.comparisons import get_filter_expression
    from moto.dynamodb.exceptions import (
        ConditionalCheckFailed,
        MockValidationException,
        MultipleTransactionsException,
        TooManyTransactionsException,
        TransactionCanceledException,
        TransactWriteSingleOpException,
    )

    if len(transact_items) > 100:
        raise TooManyTransactionsException()
    stats["transactions"] += 1
    undo = TransactionUndo(backend)
    targets: set[tuple[str, str]] = set()
    errors: list[tuple[Any, Any, Any]] = []
    for entry in transact_items:
        original_item = None
        if len(entry) > 1:
            raise TransactWriteSingleOpException
        try:
            op_type, op = next(iter(entry.items()))
            if op_type not in {"ConditionCheck", "Put", "Delete", "Update"}:
                raise ValueError("Unsupported transaction operation")
            table_name = op["TableName"]
            names, values = op.get("ExpressionAttributeNames"), op.get("ExpressionAttributeValues")
            condition = op.get("ConditionExpression")
            if op_type == "Put":
                table = backend.get_table(table_name)
                key = {table.hash_key_attr: op["Item"][table.hash_key_attr]}
                if table.range_key_attr is not None:
                    key[table.range_key_attr] = op["Item"][table.range_key_attr]
            else:
                key = op["Key"]
            target = (str(table_name), str(dict(sorted(key.items()))))
            if target in targets:
                raise MultipleTransactionsException()
            targets.add(target)
            current = backend.get_item(table_name, key)
            if condition is not None and not get_filter_expression(condition, names, values).expr(current):
                if op.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD" and current:
                    original_item = current.to_json()["Attributes"]
                raise ConditionalCheckFailed(item=original_item)
            if op_type != "ConditionCheck":
                undo.remember(table_name, key)
            written = {
                "condition_expression": condition,
                "expression_attribute_names": names,
                "expression_attribute_values": values,
            }
            if op_type == "Put":
                backend.put_item(table_name, op["Item"], **written)
            elif op_type == "Delete":
                backend.delete_item(table_name, key, **written)
            elif op_type == "Update":
                backend.update_item(table_name, key, update_expression=op["UpdateExpression"], **written)
            errors.append((None, None, None))
        except (MultipleTransactionsException, MockValidationException):
            undo.roll_back()
            raise
        except ConditionalCheckFailed as error:
            errors.append(("ConditionalCheckFailed", str(error.message), original_item))
        except Exception as error:
            errors.append((type(error).__name__, str(error), original_item))
    if any(code is not None for code, _, _ in errors):
        undo.roll_back()
        raise TransactionCanceledException(errors)


def install() -> None:
    """Patch moto's DynamoDB once (idempotent); refuses a moto other than the pinned one."""
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.table import Table
    from moto.dynamodb.responses import DynamoResult

    if moto.__version__ != MOTO_VERSION:
        raise RuntimeError(
            f"local/dynamodb_patch.py patches moto {MOTO_VERSION} internals; found moto {moto.__version__}. "
            "Re-check Table.query, Table.put_item/delete_item and DynamoDBBackend.update_item/"
            "transact_write_items before changing the pin."
        )
    if _originals:
        return
    _originals.update(
        all_items=Table.all_items,
        query=Table.query,
        put_item=Table.put_item,
        delete_item=Table.delete_item,
        update_item=DynamoDBBackend.update_item,
        transact_write_items=DynamoDBBackend.transact_write_items,
        execute_result=DynamoResult.execute_result,
    )
    Table.all_items = _all_items  # type: ignore[method-assign]
    Table.query = _query  # type: ignore[method-assign]
    Table.put_item = _put_item  # type: ignore[method-assign]
    Table.delete_item = _delete_item  # type: ignore[method-assign]
    DynamoDBBackend.update_item = _update_item  # type: ignore[method-assign]
    DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]
    DynamoResult.execute_result = _execute_result  # type: ignore[method-assign]
