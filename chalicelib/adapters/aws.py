"""boto3 sessions and clients, created lazily and cached (never at import: cold start, moto).

Timeouts and retries are chosen for a request that must finish inside API Gateway's 29 s (the API
function's timeout is 30 s) and for tasks that Step Functions retries on their own:

- connect timeout 2 s: an AWS endpoint in the region connects in milliseconds; waiting longer only
  delays the retry.
- read timeout 5 s: DynamoDB answers in milliseconds (a transaction in tens); 5 s is far past any
  healthy answer.
- retries: botocore's `standard` mode, 3 attempts in all. Transient errors, throttling and timeouts are
  retried with jittered exponential backoff and a retry quota, so an outage is not multiplied.
  `adaptive` would add client-side rate limiting, which a short-lived Lambda client cannot learn.

Worst case for one call: 3 x (2 + 5) s plus up to 3 s of backoff, 24 s, inside the API's 29 s. A retried
TransactWriteItems is safe because it carries a `ClientRequestToken` (`dynamo.Table.transact`): if the
first attempt landed and only its answer was lost, DynamoDB returns that first outcome instead of
applying it again.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import Any

import boto3
from botocore.config import Config

CONNECT_TIMEOUT_SECONDS = 2
READ_TIMEOUT_SECONDS = 5
MAX_ATTEMPTS = 3  # in all, the first included (botocore's `total_max_attempts`)

_CONFIG = Config(
    retries={"total_max_attempts": MAX_ATTEMPTS, "mode": "standard"},
    connect_timeout=CONNECT_TIMEOUT_SECONDS,
    read_timeout=READ_TIMEOUT_SECONDS,
)

# (event name, handler) registered on every client this module creates: tests record the AWS calls the
# code makes (tests/policy_plugin.py) and inject faults. Empty in production.
_hooks: list[tuple[str, Callable[..., Any]]] = []


@functools.cache
def session() -> boto3.session.Session:
    """The process's boto3 session (region from the environment, default us-east-1)."""
    return boto3.session.Session(region_name=os.environ.get("AWS_DEFAULT_REGION", "us-east-1"))


@functools.cache
def client(service: str) -> Any:
    """A cached client; `AWS_ENDPOINT_URL` (boto3's own variable) points it at the local emulator."""
    return new_client(service, _CONFIG)


def new_client(service: str, config: Config) -> Any:
    """A client of its own with `config` (S3's addressing and signing), carrying the hooks too."""
    created = session().client(service, config=config)
    for event, handler in _hooks:
        created.meta.events.register(event, handler)
    return created


def add_hook(event: str, handler: Callable[..., Any]) -> None:
    """Register a botocore event handler on every client created from now on (tests only)."""
    _hooks.append((event, handler))
    client.cache_clear()


def remove_hook(event: str, handler: Callable[..., Any]) -> None:
    """Forget a handler `add_hook` registered; clients created afterwards no longer carry it."""
    _hooks.remove((event, handler))
    client.cache_clear()


def reset() -> None:
    """Forget cached clients (tests that start a fresh emulator)."""
    client.cache_clear()
    session.cache_clear()
