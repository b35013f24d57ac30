"""The IAM side of the policy proof: which action and resource each AWS call needs, and what a policy allows.

`iam_requests` maps one botocore call (service, operation, parameters) to the IAM (action, resource ARN)
pairs AWS authorises it by: most calls are one action on one resource; TransactWriteItems is authorised
per item (PutItem, UpdateItem, DeleteItem, ConditionCheckItem) and BatchGetItem per table. S3 object calls
are authorised on the object (HeadObject by s3:GetObject); a pre-signed URL is recorded when it is signed,
since the request made with it is authorised by the signer's policy. Lambda's Invoke is
lambda:InvokeFunction on the function.
`function_policy` reads the statements every Lambda function's role holds from the packaged template and
resolves their intrinsics; `judge` says which recorded calls no statement allows (missing) and which
allowed actions no call used (unused).
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

REGION = "us-east-1"
ACCOUNT = "123456789012"  # moto's account
STAGE = "*"  # the suite runs stages test, local and prod: the policy is judged for any stage

# The Lambda runtime writes the functions' logs with these (.chalice/policy-prod.json); the code never
# calls them, so "nothing uses it" does not apply.
RUNTIME_ACTIONS = frozenset({"logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"})

_TRANSACT_ACTIONS = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
    "Get": "GetItem",
}


def _table(name: str) -> str:
    return name if name.startswith("arn:") else f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{name}"


def _bus(name: str | None) -> str:
    name = name or "default"
    return name if name.startswith("arn:") else f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/{name}"


_S3_OBJECT_ACTIONS = {"PutObject": "s3:PutObject", "GetObject": "s3:GetObject", "HeadObject": "s3:GetObject"}


def _function(name: str) -> str:
    return name if name.startswith("arn:") else f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}"


def iam_requests(prefix: str, operation: str, params: dict[str, Any]) -> list[tuple[str, str]]:
    """The (IAM action, resource ARN) pairs one call is authorised by."""
    if prefix == "s3" and operation in _S3_OBJECT_ACTIONS:
        return [(_S3_OBJECT_ACTIONS[operation], f"arn:aws:s3:::{params['Bucket']}/{params['Key']}")]
    if prefix == "lambda" and operation == "Invoke":
        return [("lambda:InvokeFunction", _function(params["FunctionName"]))]
    if prefix == "dynamodb":
        if operation in ("TransactWriteItems", "TransactGetItems"):
            found = []
            for item in params.get("TransactItems", []):
                ((kind, body),) = item.items()
                found.append((f"dynamodb:{_TRANSACT_ACTIONS[kind]}", _table(body["TableName"])))
            return found
        if operation in ("BatchGetItem", "BatchWriteItem"):
            return [(f"dynamodb:{operation}", _table(name)) for name in params.get("RequestItems", {})]
        resource = _table(params.get("TableName", "*"))
        if params.get("IndexName"):
            resource += f"/index/{params['IndexName']}"
        return [(f"dynamodb:{operation}", resource)]
    if prefix == "events" and operation == "PutEvents":
        return [("events:PutEvents", _bus(entry.get("EventBusName"))) for entry in params.get("Entries", [])]
    if prefix == "states":
        arn = params.get("executionArn") or params.get("stateMachineArn") or "*"
        return [(f"states:{operation}", arn)]
    if prefix == "medialive" and "ChannelId" in params:
        return [
            (f"medialive:{operation}", f"arn:aws:medialive:{REGION}:{ACCOUNT}:channel:{params['ChannelId']}")
        ]
    return [(f"{prefix}:{operation}", "*")]


@dataclass(frozen=True)
class Statement:
    """One Allow statement, resolved: actions and resource patterns (IAM wildcards), and its conditions."""

    sid: str
    actions: tuple[str, ...]
    resources: tuple[str, ...]
    condition: dict[str, Any] | None = None

    def allows(self, action: str, resource: str) -> bool:
        """Action and resource match (conditions are not evaluated: they only ever narrow)."""
        return any(_matches(a, action, case=False) for a in self.actions) and any(
            _matches(r, resource, case=True) for r in self.resources
        )


def _matches(pattern: str, value: str, case: bool) -> bool:
    if not case:
        pattern, value = pattern.lower(), value.lower()
    return fnmatch.fnmatchcase(value, pattern.replace("[", "[[]"))


def _names(template: dict[str, Any]) -> dict[str, dict[str, str]]:
    """Ref and GetAtt values of the resources policies refer to, as they are for `STAGE`."""
    resources = template["Resources"]
    values: dict[str, dict[str, str]] = {}
    for name, resource in resources.items():
        props = resource.get("Properties", {})
        kind = resource["Type"]
        if kind == "AWS::DynamoDB::Table":
            table = _resolve(props["TableName"], {}, {})
            values[name] = {"Ref": table, "Arn": _table(table)}
        elif kind == "AWS::Events::EventBus":
            bus = _resolve(props["Name"], {}, {})
            values[name] = {"Ref": bus, "Name": bus, "Arn": _bus(bus)}
        elif kind == "AWS::StepFunctions::StateMachine":
            machine = _resolve(props["StateMachineName"], {}, {})
            arn = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{machine}"
            values[name] = {"Ref": arn, "Name": machine, "Arn": arn}
        elif kind in ("AWS::Serverless::Function", "AWS::Lambda::Function"):
            function = _resolve(props.get("FunctionName", name), {}, {})
            values[name] = {"Ref": function, "Arn": _function(function)}
        elif kind == "AWS::S3::Bucket":
            # CloudFormation names the bucket and hands the name to the functions (ONAIR_*_BUCKET); the
            # suite's stages use the settings' default for it, onair-<stage>-<what>.
            bucket = f"onair-{STAGE}-{name.removesuffix('Bucket').lower()}"
            values[name] = {"Ref": bucket, "Arn": f"arn:aws:s3:::{bucket}"}
    return values


_PSEUDO = {
    "Stage": STAGE,
    "AWS::Region": REGION,
    "AWS::AccountId": ACCOUNT,
    "AWS::Partition": "aws",
}


def _resolve(value: Any, names: dict[str, dict[str, str]], local: dict[str, str]) -> Any:
    """Resolve Ref, Fn::GetAtt and Fn::Sub against `names` and the pseudo parameters."""
    if isinstance(value, list):
        return [_resolve(v, names, local) for v in value]
    if not isinstance(value, dict):
        return value
    if "Ref" in value:
        ref = value["Ref"]
        return _PSEUDO.get(ref) or names[ref]["Ref"]
    if "Fn::GetAtt" in value:
        resource, attribute = value["Fn::GetAtt"]
        return names[resource][attribute]
    if "Fn::Sub" in value:
        text, more = (value["Fn::Sub"], {}) if isinstance(value["Fn::Sub"], str) else value["Fn::Sub"]
        variables = {**local, **{k: _resolve(v, names, local) for k, v in more.items()}}

        def substitute(match: re.Match[str]) -> str:
            key = match.group(1)
            if key in variables:
                return str(variables[key])
            if key in _PSEUDO:
                return _PSEUDO[key]
            resource, _, attribute = key.partition(".")
            return names[resource][attribute or "Ref"]

        return re.sub(r"\$\{([^}]+)\}", substitute, text)
    return {k: _resolve(v, names, local) for k, v in value.items()}


def function_policy(template: dict[str, Any]) -> list[Statement]:
    """The Allow statements every function's role holds (its inline policies and the policies naming it)."""
    resources = template["Resources"]
    names = _names(template)
    roles = {
        f["Properties"]["Role"]["Fn::GetAtt"][0]
        for f in resources.values()
        if f["Type"] in ("AWS::Serverless::Function", "AWS::Lambda::Function")
    }
    documents = [
        p["PolicyDocument"] for role in roles for p in resources[role]["Properties"].get("Policies", [])
    ]
    documents += [
        r["Properties"]["PolicyDocument"]
        for r in resources.values()
        if r["Type"] == "AWS::IAM::Policy" and {x["Ref"] for x in r["Properties"]["Roles"]} & roles
    ]
    statements = []
    for document in documents:
        for raw in document["Statement"]:
            assert raw["Effect"] == "Allow", "a Deny would need real evaluation here"
            actions = raw["Action"] if isinstance(raw["Action"], list) else [raw["Action"]]
            resolved = _resolve(raw["Resource"], names, {})
            patterns = resolved if isinstance(resolved, list) else [resolved]
            statements.append(
                Statement(raw.get("Sid", ""), tuple(actions), tuple(patterns), raw.get("Condition"))
            )
    return statements


@dataclass
class Verdict:
    missing: list[tuple[str, str]]  # (action, resource) the code used that no statement allows
    unused: list[tuple[str, str]]  # (statement sid, action) no recorded call used


def judge(
    statements: list[Statement], calls: Iterable[tuple[str, str]], check_unused: bool = True
) -> Verdict:
    """Compare recorded (action, resource) calls with the policy, in both directions."""
    calls = sorted(set(calls))
    missing = [(a, r) for a, r in calls if not any(s.allows(a, r) for s in statements)]
    unused = []
    if check_unused:
        for statement in statements:
            for action in statement.actions:
                if action in RUNTIME_ACTIONS:
                    continue
                if not any(Statement("", (action,), statement.resources).allows(a, r) for a, r in calls):
                    unused.append((statement.sid, action))
    return Verdict(missing, unused)
