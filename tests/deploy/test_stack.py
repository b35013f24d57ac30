"""The packaged template, expanded by aws-sam-translator, comes up on moto's CloudFormation.

moto cannot build API Gateway from a template, so the RestApi, its Deployment and Stage, and what exists
only for them (the API's invoke permission, the endpoint outputs) are left out; everything else is created.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from local.resources import ASL, table_definitions
from tests.deploy.support import CODE_KEY, TEST_BUCKET

pytestmark = [
    pytest.mark.timeout(180),
    # moto cannot create alarms from a template; test_template checks the alarm.
    pytest.mark.filterwarnings(r"ignore:Tried to parse AWS..CloudWatch..Alarm"),
]

STACK = "onair-prod"


def _refers_to(value: Any, names: set[str]) -> bool:
    """Whether a template value uses any of `names` through Ref, Fn::GetAtt or Fn::Sub."""
    if isinstance(value, dict):
        if value.get("Ref") in names:
            return True
        if "Fn::GetAtt" in value and value["Fn::GetAtt"][0] in names:
            return True
        if "Fn::Sub" in value:
            text = value["Fn::Sub"] if isinstance(value["Fn::Sub"], str) else value["Fn::Sub"][0]
            if any(f"${{{name}}}" in text or f"${{{name}." in text for name in names):
                return True
        return any(_refers_to(v, names) for v in value.values())
    if isinstance(value, list):
        return any(_refers_to(v, names) for v in value)
    return False


def without_api_gateway(template: dict[str, Any]) -> tuple[dict[str, Any], set[str]]:
    """The template less API Gateway and whatever refers to what was dropped; returns it and the names."""
    template = copy.deepcopy(template)
    gone = {name for name, r in template["Resources"].items() if r["Type"].startswith("AWS::ApiGateway::")}
    while True:
        more = {name for name, r in template["Resources"].items() if name not in gone and _refers_to(r, gone)}
        if not more:
            break
        gone |= more
    for name in gone:
        del template["Resources"][name]
    template["Outputs"] = {k: v for k, v in template.get("Outputs", {}).items() if not _refers_to(v, gone)}
    return template, gone


@pytest.fixture(scope="module")
def stack(translated: dict[str, Any], dist: Path) -> Iterator[dict[str, Any]]:
    import boto3
    from moto import mock_aws

    from chalicelib.adapters import aws

    template, dropped = without_api_gateway(translated)
    with mock_aws():
        aws.reset()
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket=TEST_BUCKET)
        s3.upload_file(str(dist / "deployment.zip"), TEST_BUCKET, CODE_KEY)
        cloudformation = boto3.client("cloudformation")
        cloudformation.create_stack(
            StackName=STACK,
            TemplateBody=json.dumps(template),
            Parameters=[{"ParameterKey": "Stage", "ParameterValue": "prod"}],
            Capabilities=["CAPABILITY_IAM"],
        )
        from infra.deploy import stack_outputs

        described = cloudformation.describe_stacks(StackName=STACK)["Stacks"][0]
        yield {
            "status": described["StackStatus"],
            "outputs": stack_outputs(cloudformation, STACK),
            "dropped": dropped,
        }
        aws.reset()


def client(service: str) -> Any:
    import boto3

    return boto3.client(service)


def test_only_api_gateway_is_left_out(stack: dict[str, Any]) -> None:
    assert stack["status"] == "CREATE_COMPLETE"
    assert stack["dropped"] == {
        "RestAPI",
        "RestAPIapiStage",
        *{n for n in stack["dropped"] if n.startswith("RestAPIDeployment")},
        "APIHandlerInvokePermission",
        "ApiGatewayAccount",
    }


def test_the_table_and_its_indexes_exist(stack: dict[str, Any]) -> None:
    (expected,) = table_definitions("prod")
    assert stack["outputs"]["MainTableName"] == "onair-prod-main"
    table = client("dynamodb").describe_table(TableName="onair-prod-main")["Table"]
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert table["KeySchema"] == expected["create"]["KeySchema"]
    assert {i["IndexName"]: i["KeySchema"] for i in table["GlobalSecondaryIndexes"]} == {
        i["IndexName"]: i["KeySchema"] for i in expected["create"]["GlobalSecondaryIndexes"]
    }
    # moto's CloudFormation does not apply TTL or point-in-time recovery: test_template checks them.


def test_the_bus_exists(stack: dict[str, Any]) -> None:
    assert stack["outputs"]["EventBusName"] == "onair-prod"
    assert client("events").describe_event_bus(Name="onair-prod")["Name"] == "onair-prod"


def test_a_rule_runs_the_materialiser_every_minute(stack: dict[str, Any]) -> None:
    events = client("events")
    (rule,) = events.list_rules(EventBusName="default")["Rules"]
    assert rule["ScheduleExpression"] == "rate(1 minute)" and rule["State"] == "ENABLED"
    (target,) = events.list_targets_by_rule(Rule=rule["Name"])["Targets"]
    function = client("lambda").get_function(FunctionName=target["Arn"])["Configuration"]
    assert function["Handler"] == "chalicelib.jobs.scheduled.tick"


def test_the_state_machine_exists_with_the_lifecycle_definition(stack: dict[str, Any]) -> None:
    arn = stack["outputs"]["StateMachineArn"]
    machine = client("stepfunctions").describe_state_machine(stateMachineArn=arn)
    assert machine["name"] == "onair-prod-lifecycle" and machine["type"] == "STANDARD"
    # moto stores DefinitionString as given (it does not apply DefinitionSubstitutions).
    assert json.loads(machine["definition"]) == json.loads(ASL.read_text())


def test_every_function_points_at_the_created_resources(stack: dict[str, Any]) -> None:
    functions = client("lambda").list_functions()["Functions"]
    assert len(functions) == 4  # APIHandler, Tick, LifecycleTask, ImportApply
    names = {function["FunctionName"] for function in functions}
    for function in functions:
        variables = function["Environment"]["Variables"]
        assert variables["ONAIR_TABLE"] == "onair-prod-main"
        assert variables["ONAIR_BUS"] == "onair-prod"
        assert variables["ONAIR_STATE_MACHINE_ARN"] == stack["outputs"]["StateMachineArn"]
        assert variables["ONAIR_IMPORTS_BUCKET"] == stack["outputs"]["ImportsBucketName"]
        assert variables["ONAIR_IMPORT_FUNCTION"] in names, "imports start the import function by its name"


def test_the_functions_roles_carry_the_app_policy(stack: dict[str, Any]) -> None:
    iam = client("iam")
    for function in client("lambda").list_functions()["Functions"]:
        role = function["Role"].rsplit("/", 1)[1]
        assert "onair-app" in iam.list_role_policies(RoleName=role)["PolicyNames"], function["FunctionName"]


def test_bootstrap_key_creates_an_operator_key_in_the_deployed_table(stack: dict[str, Any]) -> None:
    from chalicelib import bootstrap
    from chalicelib.adapters import aws
    from chalicelib.config import Settings
    from chalicelib.domain.models import Scope
    from infra.bootstrap_key import bootstrap_key

    secret = bootstrap_key(STACK, "prod")
    services = bootstrap.build(Settings.from_env({"ONAIR_TABLE": stack["outputs"]["MainTableName"]}))
    principal = services.auth.authenticate(secret)
    assert principal.tenant_id == "default" and Scope.OPERATOR in principal.scopes
    aws.reset()
