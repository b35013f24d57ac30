"""Create (or replace) the operator key of a deployed stack and print it once.

    python -m infra.bootstrap_key [--stack onair-prod] [--stage prod]

Reads the table, bus and state machine from the stack's outputs and calls
`TenancyService.bootstrap_operator` through `chalicelib.bootstrap.build()`, as `make run` does locally. The
key is stored only as its SHA-256: keep the printed value. Running it again replaces the operator key (the
old one stops working); tenant keys are untouched.
"""

from __future__ import annotations

import argparse
import os
from typing import Any

import boto3

from infra.deploy import stack_outputs


def bootstrap_key(stack: str, stage: str = "prod", session: boto3.session.Session | None = None) -> str:
    """Make a fresh operator key for `stack`'s table and return it."""
    session = session or boto3.session.Session()
    outputs = stack_outputs(session.client("cloudformation"), stack)
    # chalicelib builds its own clients from the environment: same region as the stack.
    if session.region_name:
        os.environ["AWS_DEFAULT_REGION"] = session.region_name

    from chalicelib import bootstrap
    from chalicelib.adapters import aws
    from chalicelib.config import Settings
    from chalicelib.services.auth import new_secret

    env: dict[str, Any] = {
        "ONAIR_STAGE": stage,
        "ONAIR_TABLE": outputs["MainTableName"],
        "ONAIR_BUS": outputs["EventBusName"],
        "ONAIR_STATE_MACHINE_ARN": outputs.get("StateMachineArn", ""),
    }
    aws.reset()
    services = bootstrap.build(Settings.from_env(env))
    secret = new_secret()
    services.tenancy.bootstrap_operator(secret, services.clock())
    return secret


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stack", default="onair-prod")
    parser.add_argument("--stage", default="prod")
    args = parser.parse_args(argv)
    secret = bootstrap_key(args.stack, args.stage)
    print("Operator key (shown once; it is an admin of tenant 'default' and can create tenants):")
    print(secret)


if __name__ == "__main__":
    main()
