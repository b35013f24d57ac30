"""Create the tables and bus that infra/template.yaml declares, on whatever endpoint boto3 points at."""

from __future__ import annotations

import io
import json
import re
import zipfile
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


def create_recordings_bucket(name: str, s3: Any) -> None:
    """Create the recordings bucket (its name comes from Settings) with the template's encryption."""
    create_bucket("RecordingsBucket", name, s3)


def create_imports_bucket(name: str, s3: Any) -> None:
    """Create the timetable imports bucket (its name comes from Settings) as the template declares it."""
    create_bucket("ImportsBucket", name, s3)


def create_bucket(logical_id: str, name: str, s3: Any) -> None:
    """Create the template's bucket `logical_id` under `name`, with its encryption and public access block."""
    bucket = template()["Resources"][logical_id]["Properties"]
    # CloudFormation spells the API's ApplyServerSideEncryptionByDefault without "Apply".
    rules = [
        {"ApplyServerSideEncryptionByDefault": rule["ServerSideEncryptionByDefault"]}
        for rule in bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    ]
    s3.create_bucket(Bucket=name)
    s3.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration={"Rules": rules})
    s3.put_public_access_block(
        Bucket=name, PublicAccessBlockConfiguration=bucket["PublicAccessBlockConfiguration"]
    )


ASL = TEMPLATE.parent / "lifecycle.asl.json"
TASK_FUNCTION = "lifecycle_task"  # the Chalice name of the task Lambda (chalicelib/jobs/tasks.py)


def lifecycle_definition(function_arn: str, retry: str | None = None) -> str:
    """infra/lifecycle.asl.json with the task function substituted, as a deploy does.

    `retry` ("interval,backoff,max_attempts", from ONAIR_LOCAL_RETRY) replaces the driver-error Retry of
    every task, so tests of failure paths take seconds instead of the production backoff.
    """
    definition = json.loads(ASL.read_text().replace("${TaskFunctionArn}", function_arn))
    if retry:
        interval, backoff, attempts = (float(part) for part in retry.split(","))
        for state in definition["States"].values():
            for rule in state.get("Retry", []):
                if "DriverError" in rule["ErrorEquals"]:
                    rule.update(IntervalSeconds=int(interval), BackoffRate=backoff, MaxAttempts=int(attempts))
    return json.dumps(definition)


def placeholder_function(iam: Any, lam: Any, role_name: str, name: str) -> tuple[str, str]:
    """A Lambda function with a placeholder zip (the local bridge runs the project's handler) and a role;
    returns (function ARN, role ARN)."""
    role = iam.create_role(
        RoleName=role_name, AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17"})
    )["Role"]["Arn"]
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("app.py", "def handler(event, context):\n    return event\n")
    arn = lam.create_function(
        FunctionName=name,
        Runtime="python3.11",
        Role=role,
        Handler="app.handler",
        Code={"ZipFile": archive.getvalue()},
    )["FunctionArn"]
    return arn, role


def create_import_function(stage: str, iam: Any, lam: Any) -> str:
    """Create the import Lambda (chalicelib/jobs/imports.py); returns its name, which the services invoke."""
    name = f"onair-{stage}-import-apply"
    placeholder_function(iam, lam, f"onair-{stage}-imports", name)
    return name


def create_lifecycle(stage: str, iam: Any, lam: Any, sfn: Any, retry: str | None = None) -> dict[str, str]:
    """Create the task Lambda (a placeholder zip: the local bridge runs the project's handler) and the
    lifecycle state machine; returns their ARNs."""
    function_arn, role = placeholder_function(
        iam, lam, f"onair-{stage}-lifecycle", f"onair-{stage}-{TASK_FUNCTION}"
    )
    machine_arn = sfn.create_state_machine(
        name=f"onair-{stage}-lifecycle", definition=lifecycle_definition(function_arn, retry), roleArn=role
    )["stateMachineArn"]
    return {"function_arn": function_arn, "state_machine_arn": machine_arn}
