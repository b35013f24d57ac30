"""moto 5.2.5's DynamoDB fit for a long-running local stack: costs follow the items touched, not the table.

Three things in moto's DynamoDB grow with the whole table on every request (a 10,000-item table: a
3-item TransactWriteItems took 4.5 s and a Query 0.2-0.45 s; memory grew 0.26 GB → 17 GB in 12 minutes):

1. `DynamoDBBackend.transact_write_items` deep-copies the whole table once per item of a transaction so
   it can roll back. Replaced by `transact_write_items` below: the same checks and writes, but it keeps
   the before-image of only the items it writes (`TransactionUndo`) and puts those back on failure.
2. `Table.query` walks and sorts every item of the table (`all_items()`) to find one partition. A Query
   on the table now starts from that partition's items (`table.items[hash]`); a Query on a global
   secondary index starts from `GsiPartitions`, which keeps, per index, the keys of the items in each
   index partition. moto's own loop still checks every candidate, so a stale candidate cannot leak
   into a result; the index only has to never miss an item, which the write hooks below guarantee.
3. Everything that writes an item keeps `GsiPartitions` up to date: `Table.put_item`,
   `Table.delete_item` and `DynamoDBBackend.update_item` (which changes an item in place). A table whose
   item dict is replaced wholesale (a restore from backup) is re-indexed on its next Query.

Calls run one at a time (`local.emulator.isolate_dynamodb`), so none of this needs a lock of its own.
The patch replaces private methods and refuses any moto but the pinned one.
"""

from __future__ import annotations

import copy
import threading
import weakref
from collections import defaultdict
from collections.abc import Callable
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


class GsiPartitions:
    """For one table: per global secondary index (one hash attribute), the item keys in each partition."""

    def __init__(self, table: Any) -> None:
        self.source = table.items
        self.attrs: dict[str, str] = {}
        for index in table.global_indexes or []:
            hashes = [k["AttributeName"] for k in index.schema if k["KeyType"] == "HASH"]
            if len(hashes) == 1:
                self.attrs[index.name] = hashes[0]
        self.partitions: dict[str, dict[Any, dict[Key, None]]] = {n: defaultdict(dict) for n in self.attrs}
        self.placed: dict[Key, dict[str, Any]] = {}
        for item in table_items(table):
            self.place((item.hash_key, item.range_key), item)

    def place(self, key: Key, item: Any) -> None:
        """Record where the item with `key` is now (`item` None: it is gone)."""
        for name, value in self.placed.pop(key, {}).items():
            partition = self.partitions[name].get(value)
            if partition is not None:
                partition.pop(key, None)
                if not partition:
                    del self.partitions[name][value]
        if item is None:
            return
        where = {name: item.attrs[attr] for name, attr in self.attrs.items() if attr in item.attrs}
        for name, value in where.items():
            self.partitions[name][value][key] = None
        if where:
            self.placed[key] = where

    def candidates(self, table: Any, index: str, value: Any) -> list[Any]:
        """The items now in partition `value` of `index`."""
        found = []
        for hash_key, range_key in self.partitions[index].get(value, {}):
            item = table.get_item(hash_key, range_key)
            if item is not None:
                found.append(item)
        return found


_indexes: weakref.WeakKeyDictionary[Any, GsiPartitions] = weakref.WeakKeyDictionary()


def gsi_partitions(table: Any) -> GsiPartitions:
    """The table's index partitions, built on first use (and again if its item dict was replaced)."""
    index = _indexes.get(table)
    if index is None or index.source is not table.items:
        index = _indexes[table] = GsiPartitions(table)
    return index


def _placed(table: Any, key: Key) -> None:
    """After a write: move the item's index entries, if the table is indexed yet."""
    index = _indexes.get(table)
    if index is not None and index.source is table.items:
        index.place(key, table.get_item(*key))


def _candidates(table: Any, hash_key: Any, index_name: str | None, conditions: Any) -> list[Any] | None:
    """The items a Query has to look at, or None when moto's full walk must decide."""
    if index_name is None:
        if hash_key is None:
            return None
        partition = table.items.get(hash_key)
        if partition is None:
            return []
        return list(partition.values()) if table.range_key_attr else [partition]
    index = gsi_partitions(table)
    attr = index.attrs.get(index_name)
    values = [value for name, value in conditions or [] if name == attr]
    if attr is None or len(values) != 1:
        return None  # a local secondary index or a multi-attribute key: moto walks the table
    return index.candidates(table, index_name, values[0])


# -- the replacements ------------------------------------------------------------------------------------


def _all_items(table: Any) -> list[Any]:
    override = getattr(_local, "override", None)
    if override is not None and override[0] is table:
        return override[1]
    return _originals["all_items"](table)


def _query(table: Any, hash_key: Any, *args: Any, **kwargs: Any) -> Any:
    index_name = args[6] if len(args) > 6 else kwargs.get("index_name")
    walk = getattr(_local, "full_walk", False)  # tests compare with moto's own walk
    found = None if walk else _candidates(table, hash_key, index_name, kwargs.get("hash_key_conditions"))
    if found is None:
        return _originals["query"](table, hash_key, *args, **kwargs)
    _local.override = (table, found)
    try:
        return _originals["query"](table, hash_key, *args, **kwargs)
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
    )
    Table.all_items = _all_items  # type: ignore[method-assign]
    Table.query = _query  # type: ignore[method-assign]
    Table.put_item = _put_item  # type: ignore[method-assign]
    Table.delete_item = _delete_item  # type: ignore[method-assign]
    DynamoDBBackend.update_item = _update_item  # type: ignore[method-assign]
    DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]
