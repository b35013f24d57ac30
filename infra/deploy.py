"""Deploy `make package`'s output to AWS with boto3: what `aws cloudformation package` + `deploy` do.

    python -m infra.deploy --bucket BUCKET [--stack onair-prod] [--stage prod] [--alarm-email ADDRESS] [dist]

Uploads `deployment.zip` and the template to the S3 bucket (content-addressed keys), points every function's
CodeUri at the upload, then creates or updates the stack through a change set (CAPABILITY_IAM; the SAM
transform runs in CloudFormation) and prints the stack's outputs. Credentials and region come from the usual
AWS environment (AWS_PROFILE, AWS_REGION, ...). Never run by the tests.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from pathlib import Path
from typing import Any

import boto3
import yaml
from botocore.exceptions import ClientError, WaiterError

from infra.package import PROJECT, TEMPLATE_NAME

CODE_URI = "./deployment.zip"  # what chalice package writes into every function


def rewrite_code_uri(template: dict[str, Any], bucket: str, key: str) -> int:
    """Point each function packaged from ./deployment.zip at `s3://bucket/key`; returns the count."""
    count = 0
    for resource in template.get("Resources", {}).values():
        props = resource.get("Properties", {})
        if resource.get("Type") == "AWS::Serverless::Function" and props.get("CodeUri") == CODE_URI:
            props["CodeUri"] = {"Bucket": bucket, "Key": key}
            count += 1
    return count


def stack_outputs(cloudformation: Any, stack: str) -> dict[str, str]:
    """The stack's outputs as {OutputKey: OutputValue}."""
    described = cloudformation.describe_stacks(StackName=stack)["Stacks"][0]
    return {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])}


def _upload(s3: Any, path: Path, bucket: str, prefix: str, suffix: str, body: bytes | None = None) -> str:
    data = body if body is not None else path.read_bytes()
    key = f"{prefix.strip('/')}/{path.stem}-{hashlib.sha256(data).hexdigest()[:16]}{suffix}".lstrip("/")
    s3.put_object(Bucket=bucket, Key=key, Body=data)
    return key


def _stack_status(cloudformation: Any, stack: str) -> str | None:
    try:
        return cloudformation.describe_stacks(StackName=stack)["Stacks"][0]["StackStatus"]
    except ClientError as error:
        if "does not exist" in error.response.get("Error", {}).get("Message", ""):
            return None
        raise


def deploy(
    dist: Path,
    bucket: str,
    stack: str,
    stage: str = "prod",
    alarm_email: str = "",
    prefix: str = "onair",
    session: boto3.session.Session | None = None,
) -> dict[str, str]:
    """Upload, create or update the stack, wait for it; returns its outputs."""
    session = session or boto3.session.Session()
    s3 = session.client("s3")
    cloudformation = session.client("cloudformation")

    template = yaml.safe_load((dist / TEMPLATE_NAME).read_text())
    code_key = _upload(s3, dist / "deployment.zip", bucket, prefix, ".zip")
    if not rewrite_code_uri(template, bucket, code_key):
        raise SystemExit(f"no function in {dist / TEMPLATE_NAME} uses {CODE_URI}: run `make package` first")
    # The template is over CloudFormation's 51,200-byte inline limit: it goes by S3 URL.
    body = json.dumps(template).encode()
    template_key = _upload(s3, dist / "template.json", bucket, prefix, ".json", body)
    template_url = f"{s3.meta.endpoint_url}/{bucket}/{template_key}"

    status = _stack_status(cloudformation, stack)
    if status == "ROLLBACK_COMPLETE":  # a first create that failed: CloudFormation only allows deleting it
        raise SystemExit(f"{stack} is ROLLBACK_COMPLETE: delete it (its events say why), then deploy again")
    change_type = "CREATE" if status in (None, "REVIEW_IN_PROGRESS") else "UPDATE"
    name = f"onair-{int(time.time())}"
    cloudformation.create_change_set(
        StackName=stack,
        ChangeSetName=name,
        ChangeSetType=change_type,
        TemplateURL=template_url,
        Capabilities=["CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"],
        Parameters=[
            {"ParameterKey": "Stage", "ParameterValue": stage},
            {"ParameterKey": "AlarmEmail", "ParameterValue": alarm_email},
        ],
    )
    try:
        cloudformation.get_waiter("change_set_create_complete").wait(
            StackName=stack, ChangeSetName=name, WaiterConfig={"Delay": 5, "MaxAttempts": 120}
        )
    except WaiterError:
        described = cloudformation.describe_change_set(StackName=stack, ChangeSetName=name)
        reason = described.get("StatusReason", "")
        if "didn't contain changes" in reason or "No updates" in reason:
            cloudformation.delete_change_set(StackName=stack, ChangeSetName=name)
            print(f"{stack}: no changes")
            return stack_outputs(cloudformation, stack)
        raise SystemExit(f"change set {name} failed: {reason}") from None
    cloudformation.execute_change_set(StackName=stack, ChangeSetName=name)
    waiter = "stack_create_complete" if change_type == "CREATE" else "stack_update_complete"
    print(f"{stack}: {change_type.lower()} in progress (a first deploy takes a few minutes)")
    cloudformation.get_waiter(waiter).wait(StackName=stack, WaiterConfig={"Delay": 10, "MaxAttempts": 360})
    return stack_outputs(cloudformation, stack)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dist", type=Path, nargs="?", default=PROJECT / "dist")
    parser.add_argument("--bucket", required=True, help="an existing S3 bucket in the stack's region")
    parser.add_argument("--stack", default="onair-prod")
    parser.add_argument("--stage", default="prod")
    parser.add_argument("--alarm-email", default="", help="who the failed-lifecycle alarm emails")
    parser.add_argument("--prefix", default="onair", help="key prefix for the uploads")
    args = parser.parse_args(argv)
    outputs = deploy(args.dist, args.bucket, args.stack, args.stage, args.alarm_email, args.prefix)
    for key, value in sorted(outputs.items()):
        print(f"{key}: {value}")


if __name__ == "__main__":
    main()
