"""boto3 sessions and clients, created lazily and cached (never at import: cold start, moto)."""

from __future__ import annotations

import functools
import os
from typing import Any

import boto3
from botocore.config import Config

_CONFIG = Config(retries={"max_attempts": 4, "mode": "standard"}, connect_timeout=3, read_timeout=10)


@functools.cache
def session() -> boto3.session.Session:
    """The process's boto3 session (region from the environment, default us-east-1)."""
    return boto3.session.Session(region_name=os.environ.get("AWS_DEFAULT_REGION", "us-east-1"))


@functools.cache
def client(service: str) -> Any:
    """A cached client; `AWS_ENDPOINT_URL` (boto3's own variable) points it at the local emulator."""
    return session().client(service, config=_CONFIG)


def reset() -> None:
    """Forget cached clients (tests that start a fresh emulator)."""
    client.cache_clear()
    session.cache_clear()
