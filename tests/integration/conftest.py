"""Fixtures for integration tests that share one moto per module (opt in by overriding `aws`)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest


@pytest.fixture(scope="module")
def moto_tables() -> Iterator[dict[str, list[str]]]:
    """One in-memory AWS with onair's tables for the whole module, built as tests/conftest.py builds it.

    Yields each table's key attribute names.
    """
    from moto import mock_aws

    from chalicelib.adapters import aws as aws_clients
    from local.emulator import honour_client_request_tokens, isolate_dynamodb
    from local.resources import create_all

    isolate_dynamodb()  # as the local emulator does: moto's transactions stay isolated across threads
    honour_client_request_tokens()  # as DynamoDB does: a retried transaction reports its first outcome
    with mock_aws():
        aws_clients.reset()
        db = aws_clients.client("dynamodb")
        create_all("test", db, aws_clients.client("events"))
        yield {
            name: [k["AttributeName"] for k in db.describe_table(TableName=name)["Table"]["KeySchema"]]
            for name in db.list_tables()["TableNames"]
        }
        aws_clients.reset()


@pytest.fixture
def emptied_tables(moto_tables: dict[str, list[str]]) -> None:
    """The module's tables, emptied: a module overrides conftest's `aws` with this instead of a new moto.

    A fresh stack costs ~0.3 s a test (minutes for these tables), and a shared, growing table is
    worse: moto deep-copies the whole table on every transaction. Emptying a few items is cheap.
    """
    empty_tables(moto_tables)


def empty_tables(tables: dict[str, list[str]]) -> None:
    """Delete every item of the given tables (name -> key attribute names), page by page."""
    from chalicelib.adapters import aws as aws_clients

    db = aws_clients.client("dynamodb")
    for name, keys in tables.items():
        names = {f"#k{i}": key for i, key in enumerate(keys)}
        scan: dict = {
            "TableName": name,
            "ProjectionExpression": ", ".join(names),
            "ExpressionAttributeNames": names,
        }
        while True:
            found = db.scan(**scan)
            items = found["Items"]
            for start in range(0, len(items), 25):
                batch = [{"DeleteRequest": {"Key": item}} for item in items[start : start + 25]]
                db.batch_write_item(RequestItems={name: batch})
            if "LastEvaluatedKey" not in found:
                break
            scan["ExclusiveStartKey"] = found["LastEvaluatedKey"]


@pytest.fixture
def bus(services: Any) -> Iterator[Callable[[], list[dict[str, Any]]]]:
    """What the app puts on its EventBridge bus, read from an SQS queue subscribed to every onair event."""
    from chalicelib.adapters import aws

    sqs, events = aws.client("sqs"), aws.client("events")
    url = sqs.create_queue(QueueName="notifications")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    bus_name = services.settings.bus_name
    events.put_rule(Name="all", EventBusName=bus_name, EventPattern=json.dumps({"source": ["onair"]}))
    events.put_targets(Rule="all", EventBusName=bus_name, Targets=[{"Id": "q", "Arn": arn}])

    def drain() -> list[dict[str, Any]]:
        found = []
        while batch := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
            for message in batch:
                body = json.loads(message["Body"])
                found.append({"detail-type": body["detail-type"], **body["detail"]})
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        return found

    yield drain
