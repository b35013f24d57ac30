"""Shared fixtures: moto in-process for integration tests, a controllable clock, and API helpers."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

# The policy proof's recorder: every AWS call the code makes in this session (tests/policy_plugin.py).
from tests.policy_plugin import (  # noqa: F401  (pytest finds hooks and fixtures by name here)
    _record_aws_calls,
    pytest_collection_modifyitems,
    pytest_deselected,
    pytest_runtest_setup,
    pytest_terminal_summary,
)

os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
os.environ.pop("AWS_ENDPOINT_URL", None)  # tests never reach real AWS or a stray endpoint

OPERATOR_KEY = "onair_test-operator-key-0123456789abcdef"


class Clock:
    """A clock tests move by hand."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2027, 3, 1, 8, 0, tzinfo=UTC))


@pytest.fixture
def aws() -> Iterator[None]:
    """A fresh in-memory AWS (moto) with onair's tables and bus, as infra/template.yaml declares them."""
    from moto import mock_aws

    from chalicelib.adapters import aws as aws_clients
    from local.emulator import honour_client_request_tokens, isolate_dynamodb
    from local.resources import create_all

    isolate_dynamodb()  # some tests race requests on threads: keep moto's transactions isolated
    honour_client_request_tokens()  # as DynamoDB does: a retried transaction reports its first outcome
    with mock_aws():
        aws_clients.reset()
        create_all("test", aws_clients.client("dynamodb"), aws_clients.client("events"))
        yield
        aws_clients.reset()


@pytest.fixture
def services(aws: None, clock: Clock) -> Iterator[Any]:
    from chalicelib import bootstrap
    from chalicelib.config import Settings

    built = bootstrap.build(Settings.from_env({"ONAIR_STAGE": "test"}), clock)
    built.tenancy.bootstrap_operator(OPERATOR_KEY, clock())
    bootstrap.override(built)
    yield built
    bootstrap.override(None)


class Api:
    """A small JSON client over chalice.test.Client with an API key."""

    def __init__(self, http: Any, key: str) -> None:
        self.http = http
        self.key = key

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        key: str | None = None,
        headers: dict[str, str] | None = None,
        raw: bytes | str | None = None,
    ) -> Any:
        all_headers = {"Authorization": f"Bearer {key or self.key}"} if (key or self.key) else {}
        if body is not None or raw is not None:
            all_headers["Content-Type"] = "application/json"
        all_headers.update(headers or {})
        payload = raw if raw is not None else (json.dumps(body) if body is not None else None)
        response = getattr(self.http, method.lower())(path, headers=all_headers, body=payload)
        response.data = json.loads(response.body) if response.body else None
        return response

    def get(self, path: str, **kw: Any) -> Any:
        return self.call("GET", path, **kw)

    def post(self, path: str, body: Any = None, **kw: Any) -> Any:
        return self.call("POST", path, body, **kw)

    def patch(self, path: str, body: Any = None, **kw: Any) -> Any:
        return self.call("PATCH", path, body, **kw)

    def put(self, path: str, body: Any = None, **kw: Any) -> Any:
        return self.call("PUT", path, body, **kw)

    def delete(self, path: str, **kw: Any) -> Any:
        return self.call("DELETE", path, **kw)


@pytest.fixture
def api(services: Any) -> Iterator[Api]:
    from chalice.test import Client

    from app import app

    with Client(app) as client:
        yield Api(client.http, OPERATOR_KEY)
