"""The embedded AWS emulator: moto 5.2.5's server, in this process, on a free loopback port."""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
import urllib.request
from typing import Any

from moto.core.responses import ActionResult
from moto.dynamodb.exceptions import DynamodbException
from moto.dynamodb.responses import DynamoHandler
from moto.server import ThreadedMotoServer

# Verified against moto 5.2.5 (PRODUCT.md): this makes Step Functions really execute ASL, and Lambda
# never reach for Docker. It must be set before any state machine is created.
MOTO_CONFIG = {"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}

FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "local",
    "AWS_SECRET_ACCESS_KEY": "local",
    "AWS_DEFAULT_REGION": "us-east-1",
}


_ONE_AT_A_TIME = threading.RLock()


def isolate_dynamodb() -> None:
    """Run the emulator's DynamoDB calls one at a time, so its transactions are isolated as DynamoDB's are.

    moto 5.2.5's TransactWriteItems snapshots the whole table and puts the snapshot back when an item
    fails. With requests served on many threads, that can drop a write another request made meanwhile, or
    bring back an item whose own transaction was rolled back (seen as "An event with this id exists" when
    eight bookings race). Serialising the calls costs nothing measurable: moto runs them under the GIL.
    """
    if getattr(DynamoHandler.call_action, "isolated", False):
        return
    unguarded = DynamoHandler.call_action

    def call_action(self: DynamoHandler) -> object:
        with _ONE_AT_A_TIME:
            return unguarded(self)

    call_action.isolated = True  # type: ignore[attr-defined]
    DynamoHandler.call_action = call_action  # type: ignore[method-assign]


TOKEN_WINDOW_SECONDS = 600.0  # DynamoDB keeps a ClientRequestToken for 10 minutes
_tokens: dict[tuple[str, str, str], tuple[str, float]] = {}  # (account, region, token) -> (items hash, when)
_tokens_lock = threading.Lock()


class IdempotentParameterMismatch(DynamodbException):
    """What DynamoDB answers when a ClientRequestToken comes back with other items."""

    def __init__(self) -> None:
        super().__init__(
            "com.amazonaws.dynamodb.v20120810#IdempotentParameterMismatchException",
            "The request uses the same client token as a previous, but non-identical request.",
        )


def honour_client_request_tokens(clock: Any = time.monotonic) -> None:
    """Make the emulator's TransactWriteItems honour `ClientRequestToken` as DynamoDB does (moto ignores it).

    Within 10 minutes of a transaction that succeeded, the same token with the same items succeeds again
    without applying anything; the same token with other items is `IdempotentParameterMismatchException`.
    A transaction that was cancelled leaves no trace, so its retry is judged afresh. This is what makes a
    botocore retry of a write whose answer was lost (a stalled emulator, a dropped connection) report the
    write's first outcome instead of failing its own conditions. Separate from `isolate_dynamodb`, and
    like it idempotent; both are pinned to moto 5.2.5's `DynamoHandler`.
    """
    if getattr(DynamoHandler.transact_write_items, "honours_tokens", False):
        return
    unpatched = DynamoHandler.transact_write_items

    def transact_write_items(self: DynamoHandler) -> Any:
        token = self.body.get("ClientRequestToken")
        if not token:
            return unpatched(self)
        key = (self.current_account, self.region, token)
        items = hashlib.sha256(json.dumps(self.body["TransactItems"], sort_keys=True).encode()).hexdigest()
        now = clock()
        with _tokens_lock:
            for stale in [k for k, (_, at) in _tokens.items() if now - at > TOKEN_WINDOW_SECONDS]:
                del _tokens[stale]
            seen = _tokens.get(key)
        if seen is not None:
            if seen[0] != items:
                raise IdempotentParameterMismatch()
            return ActionResult({"ConsumedCapacity": [], "ItemCollectionMetrics": {}})  # the first outcome
        result = unpatched(self)  # raises when cancelled: nothing is remembered
        with _tokens_lock:
            _tokens[key] = (items, now)
        return result

    transact_write_items.honours_tokens = True  # type: ignore[attr-defined]
    DynamoHandler.transact_write_items = transact_write_items  # type: ignore[method-assign]


class Emulator:
    """Start/stop the moto server and point this process's boto3 at it."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.host = host
        self.server = ThreadedMotoServer(ip_address=host, port=0, verbose=False)
        self.url = ""

    def start(self) -> str:
        # moto compares Wait TimestampPath instants with naive *local* time: run the process in UTC.
        os.environ["TZ"] = "UTC"
        time.tzset()
        isolate_dynamodb()
        honour_client_request_tokens()
        self.server.start()
        _, port = self.server.get_host_and_port()
        self.url = f"http://{self.host}:{port}"
        os.environ.update(FAKE_CREDENTIALS)
        os.environ["MOTO_PORT"] = str(port)  # moto builds its own callback URLs from it
        os.environ["AWS_ENDPOINT_URL"] = self.url  # boto3 sends every service here
        self._configure()
        return self.url

    def _configure(self) -> None:
        request = urllib.request.Request(
            f"{self.url}/moto-api/config",
            data=json.dumps(MOTO_CONFIG).encode(),
            method="POST",
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            response.read()

    def stop(self) -> None:
        self.server.stop()
