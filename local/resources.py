"""Create the tables and bus that infra/template.yaml declares, on whatever endpoint boto3 points at."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

TEMPLATE = Path(__file__).resolve().parent.parent / "infra" / "template.yaml"


def _sub(value: Any, stage: str) -> Any:
    """Resolve the few intrinsics the template uses for names (`Fn::Sub` with ${Stage})."""
    if isinstance(value, dict) and set(value) == {"Fn::Sub"}:
        return re.sub(r"\$\{Stage\}", stage, value["Fn::Sub"])
    return value


def template() -> dict[str, Any]:
    return yaml.safe_load(TEMPLATE.read_text())


def table_definitions(stage: str) -> list[dict[str, Any]]:
    """`create_table` arguments for every AWS::DynamoDB::Table in the template."""
    tables = []
    for resource in template()["Resources"].values():
        if resource["Type"] != "AWS::DynamoDB::Table":
            continue
        props = resource["Properties"]
        definition = {
            "TableName": _sub(props["TableName"], stage),
            "BillingMode": props["BillingMode"],
            "AttributeDefinitions": props["AttributeDefinitions"],
            "KeySchema": props["KeySchema"],
        }
        if props.get("GlobalSecondaryIndexes"):
            definition["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
        tables.append({"create": definition, "ttl": props.get("TimeToLiveSpecification")})
    return tables


def bus_names(stage: str) -> list[str]:
    return [
        _sub(r["Properties"]["Name"], stage)
        for r in template()["Resources"].values()
        if r["Type"] == "AWS::Events::EventBus"
    ]


def create_all(stage: str, dynamodb: Any, events: Any) -> None:
    """Create every table (with TTL) and bus for `stage`."""
    for table in table_definitions(stage):
        dynamodb.create_table(**table["create"])
        if table["ttl"]:
            dynamodb.update_time_to_live(
                TableName=table["create"]["TableName"],
                TimeToLiveSpecification={"AttributeName": table["ttl"]["AttributeName"], "Enabled": True},
            )
    for name in bus_names(stage):
        events.create_event_bus(Name=name)
