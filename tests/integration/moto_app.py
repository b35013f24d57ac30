"""The app on one moto for a whole test module, as the local emulator runs it (imports, calendars)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from tests.conftest import OPERATOR_KEY, Api, Clock


@contextmanager
def app_on_moto(clock: Clock) -> Iterator[tuple[Api, Any]]:
    """An API client with the operator key, and the services, on a fresh moto with the imports bucket."""
    from chalice.test import Client
    from moto import mock_aws

    from app import app
    from chalicelib import bootstrap
    from chalicelib.adapters import aws
    from chalicelib.config import Settings
    from local.emulator import honour_client_request_tokens, isolate_dynamodb
    from local.resources import create_all, create_imports_bucket

    isolate_dynamodb()  # as the local emulator: isolated transactions, Queries that read their partition
    honour_client_request_tokens()
    with mock_aws():
        aws.reset()
        create_all("test", aws.client("dynamodb"), aws.client("events"))
        settings = Settings.from_env({"ONAIR_STAGE": "test"})
        create_imports_bucket(settings.imports_bucket, aws.client("s3"))
        services = bootstrap.build(settings, clock)
        services.tenancy.bootstrap_operator(OPERATOR_KEY, clock())
        bootstrap.override(services)
        try:
            with Client(app) as client:
                yield Api(client.http, OPERATOR_KEY), services
        finally:
            bootstrap.override(None)
            aws.reset()
