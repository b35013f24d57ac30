"""The packaged template: cfn-lint accepts it, and it says what infra/ and the local stack say."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from local.resources import ASL, table_definitions

pytestmark = pytest.mark.timeout(180)

FUNCTIONS = {  # Chalice's logical ids for the app's functions, and what each runs
    "APIHandler": "app.app",
    "Tick": "chalicelib.jobs.scheduled.tick",
    "LifecycleTask": "chalicelib.jobs.tasks.lifecycle_task",
    "ImportApply": "chalicelib.jobs.imports.import_apply",
}


def resources(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {name: r for name, r in template["Resources"].items() if r["Type"] == kind}


def lint(path: Path) -> list[str]:
    from cfnlint.api import lint_file

    return [f"{m.rule.id} {m.message} (line {m.linenumber})" for m in lint_file(path)]


def test_cfn_lint_accepts_the_packaged_template(dist: Path) -> None:
    assert lint(dist / "sam.yaml") == []


def test_cfn_lint_accepts_the_template_after_the_sam_transform(
    translated: dict[str, Any], tmp_path: Path
) -> None:
    path = tmp_path / "translated.json"
    path.write_text(json.dumps(translated))
    assert lint(path) == []


def test_chalice_names_the_functions_the_merge_template_refers_to(translated: dict[str, Any]) -> None:
    functions = resources(translated, "AWS::Lambda::Function")
    handlers = {name: f["Properties"]["Handler"] for name, f in functions.items()}
    assert handlers == FUNCTIONS, "a new function needs its role in AppPolicy (infra/template.yaml) and here"


def test_the_state_machine_runs_the_asl_file_with_the_task_function_substituted(
    translated: dict[str, Any],
) -> None:
    (machine,) = resources(translated, "AWS::StepFunctions::StateMachine").values()
    props = machine["Properties"]
    definition = props["DefinitionString"]
    assert json.loads(definition) == json.loads(ASL.read_text()), "the ASL file is inlined unchanged"
    assert props["DefinitionSubstitutions"] == {"TaskFunctionArn": {"Fn::GetAtt": ["LifecycleTask", "Arn"]}}
    assert "${TaskFunctionArn}" in definition
    role = translated["Resources"][props["RoleArn"]["Fn::GetAtt"][0]]
    (statement,) = role["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    assert statement["Action"] == "lambda:InvokeFunction"
    assert statement["Resource"][0] == {"Fn::GetAtt": ["LifecycleTask", "Arn"]}


def test_every_table_is_on_demand_recoverable_retained_and_expires_items(translated: dict[str, Any]) -> None:
    tables = resources(translated, "AWS::DynamoDB::Table")
    assert tables
    for name, table in tables.items():
        props = table["Properties"]
        assert table["DeletionPolicy"] == table["UpdateReplacePolicy"] == "Retain", name
        assert props["BillingMode"] == "PAY_PER_REQUEST", name
        assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}, name
        assert props["TimeToLiveSpecification"]["Enabled"] is True, name


def test_the_local_stack_creates_the_tables_the_template_deploys(translated: dict[str, Any]) -> None:
    deployed = []
    for table in resources(translated, "AWS::DynamoDB::Table").values():
        props = table["Properties"]
        definition = {
            "TableName": props["TableName"]["Fn::Sub"].replace("${Stage}", "prod"),
            "BillingMode": props["BillingMode"],
            "AttributeDefinitions": props["AttributeDefinitions"],
            "KeySchema": props["KeySchema"],
        }
        if props.get("GlobalSecondaryIndexes"):
            definition["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
        deployed.append({"create": definition, "ttl": props.get("TimeToLiveSpecification")})
    assert table_definitions("prod") == deployed


def test_no_policy_allows_wildcard_actions(translated: dict[str, Any]) -> None:
    documents = [
        (name, policy["PolicyDocument"])
        for name, role in resources(translated, "AWS::IAM::Role").items()
        for policy in role["Properties"].get("Policies", [])
    ]
    documents += [
        (name, policy["Properties"]["PolicyDocument"])
        for name, policy in resources(translated, "AWS::IAM::Policy").items()
    ]
    assert documents
    for name, document in documents:
        for statement in document["Statement"]:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            assert all("*" not in action for action in actions), (name, actions)


def test_every_function_role_gets_the_app_policy(translated: dict[str, Any]) -> None:
    functions = resources(translated, "AWS::Lambda::Function").values()
    roles = {function["Properties"]["Role"]["Fn::GetAtt"][0] for function in functions}
    attached = {r["Ref"] for r in translated["Resources"]["AppPolicy"]["Properties"]["Roles"]}
    assert roles == attached


def test_functions_find_the_table_bus_and_state_machine_in_their_environment(
    translated: dict[str, Any],
) -> None:
    for name, function in resources(translated, "AWS::Lambda::Function").items():
        variables = function["Properties"]["Environment"]["Variables"]
        assert variables["ONAIR_TABLE"] == {"Ref": "MainTable"}, name
        assert variables["ONAIR_BUS"] == {"Fn::GetAtt": ["EventBus", "Name"]}, name
        machine = variables["ONAIR_STATE_MACHINE_ARN"]["Fn::Sub"]
        assert machine.endswith(":stateMachine:onair-${Stage}-lifecycle"), name
        assert variables["ONAIR_STAGE"] == "prod", name


def test_an_alarm_watches_failed_lifecycle_executions(translated: dict[str, Any]) -> None:
    # moto's CloudFormation cannot create alarms, so this one is checked here only.
    (alarm,) = resources(translated, "AWS::CloudWatch::Alarm").values()
    props = alarm["Properties"]
    assert (props["Namespace"], props["MetricName"]) == ("AWS/States", "ExecutionsFailed")
    assert props["Dimensions"] == [{"Name": "StateMachineArn", "Value": {"Ref": "LifecycleStateMachine"}}]
    assert props["ComparisonOperator"] == "GreaterThanOrEqualToThreshold" and props["Threshold"] == 1
    assert props["AlarmActions"] == [{"Ref": "LifecycleAlarmTopic"}]


def test_unknown_paths_are_the_same_404_problem_as_locally(translated: dict[str, Any]) -> None:
    from chalicelib.api.http import not_found_response

    (api,) = resources(translated, "AWS::ApiGateway::RestApi").values()
    responses = api["Properties"]["Body"]["x-amazon-apigateway-gateway-responses"]
    response = responses["MISSING_AUTHENTICATION_TOKEN"]
    assert response["statusCode"] == "404"
    assert response["responseParameters"] == {
        "gatewayresponse.header.Content-Type": "'application/problem+json'"
    }
    body = json.loads(response["responseTemplates"]["application/json"])
    local = json.loads(not_found_response("/nowhere").body)
    shared = ("type", "title", "status")
    assert {k: body[k] for k in shared} == {k: local[k] for k in shared}
    assert body["detail"] == "No route matches this path."


# -- hardening: throttling, logs with a retention, reserved concurrency ----------------------------------


def test_the_api_stage_is_throttled_by_parameters(translated: dict[str, Any]) -> None:
    (stage,) = resources(translated, "AWS::ApiGateway::Stage").values()
    (setting,) = stage["Properties"]["MethodSettings"]
    assert (setting["ResourcePath"], setting["HttpMethod"]) == ("/*", "*"), "every method of every path"
    assert setting["ThrottlingRateLimit"] == {"Ref": "ApiRateLimit"}
    assert setting["ThrottlingBurstLimit"] == {"Ref": "ApiBurstLimit"}
    parameters = translated["Parameters"]
    assert parameters["ApiRateLimit"]["Type"] == parameters["ApiBurstLimit"]["Type"] == "Number"


def test_the_api_stage_writes_json_access_logs(translated: dict[str, Any]) -> None:
    (stage,) = resources(translated, "AWS::ApiGateway::Stage").values()
    access = stage["Properties"]["AccessLogSetting"]
    assert access["DestinationArn"] == {"Fn::GetAtt": ["ApiAccessLogs", "Arn"]}
    line = json.loads(access["Format"].replace("\n", ""))
    assert {"requestId", "ip", "method", "path", "status", "latencyMs"} <= set(line)
    (account,) = resources(translated, "AWS::ApiGateway::Account").values()
    assert account["Properties"]["CloudWatchRoleArn"] == {"Fn::GetAtt": ["ApiGatewayLogsRole", "Arn"]}
    assert translated["Resources"]["ApiGatewayLogsRole"]["DeletionPolicy"] == "Retain", (
        "the account-wide logging role outlives the stack: other APIs may log with it"
    )


def test_the_state_machine_logs_without_execution_data(translated: dict[str, Any]) -> None:
    (machine,) = resources(translated, "AWS::StepFunctions::StateMachine").values()
    logging = machine["Properties"]["LoggingConfiguration"]
    assert logging["Level"] == "ALL" and logging["IncludeExecutionData"] is False
    assert logging["Destinations"] == [
        {"CloudWatchLogsLogGroup": {"LogGroupArn": {"Fn::GetAtt": ["LifecycleLogs", "Arn"]}}}
    ]


def test_every_log_group_keeps_logs_for_the_retention_parameter(translated: dict[str, Any]) -> None:
    groups = resources(translated, "AWS::Logs::LogGroup")
    assert len(groups) == 6, "four functions (API, tick, lifecycle task, import), the access log, the machine"
    for name, group in groups.items():
        assert group["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}, name
    for name, function in resources(translated, "AWS::Lambda::Function").items():
        target = function["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]
        assert target in groups, f"{name} logs into a group with a retention"
        assert groups[target]["Properties"]["LogGroupName"]["Fn::Sub"].startswith("/aws/lambda/"), (
            "where .chalice/policy-prod.json lets functions write"
        )


def test_the_api_function_reserves_concurrency_by_parameter(translated: dict[str, Any]) -> None:
    api = translated["Resources"]["APIHandler"]["Properties"]
    assert api["ReservedConcurrentExecutions"] == {
        "Fn::If": ["ReservesApiConcurrency", {"Ref": "ApiReservedConcurrency"}, {"Ref": "AWS::NoValue"}]
    }
    assert translated["Parameters"]["ApiReservedConcurrency"]["Default"] == 25
