"""The embedded AWS emulator: moto 5.2.5's server, in this process, on a fixed (or free) loopback port."""

from __future__ import annotations

import functools
import hashlib
import json
import os
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from moto.core.responses import ActionResult
from moto.dynamodb.exceptions import DynamodbException
from moto.dynamodb.responses import DynamoHandler

from local import dynamodb_patch, inprocess, sfn_patch
from local.persistence import WRITE_OPERATIONS, DataDir

# Verified against moto 5.2.5 (PRODUCT.md): this makes Step Functions really execute ASL, and Lambda
# never reach for Docker. It must be set before any state machine is created.
MOTO_CONFIG = {"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}

FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "local",
    "AWS_SECRET_ACCESS_KEY": "local",
    "AWS_DEFAULT_REGION": "us-east-1",
}


_ONE_AT_A_TIME = threading.RLock()
_journal: DataDir | None = None


def stop_tracking_instances() -> None:
    """Stop moto keeping every model object it ever creates (the cause of the emulator's growth).

    moto 5.2.5's `BaseModel.__new__` appends each new instance to its class's `instances_tracked`, for
    the dashboard at /moto-api/data.json, and nothing ever removes them. A DynamoDB `Item` is a model:
    every item written, every deep copy a Query makes of its results, every copy of a table a
    transaction took (the whole table, once per item of the transaction) stayed in memory for good:
    0.26 GB → 17 GB in 12 minutes of load. The dashboard is not used here; the objects live as long as
    the backends hold them, as anywhere else in Python.
    """
    from moto.core.common_models import BaseModel

    if getattr(BaseModel, "untracked", False):
        return

    def __new__(cls: type, *args: Any, **kwargs: Any) -> Any:
        return object.__new__(cls)

    BaseModel.__new__ = staticmethod(__new__)  # type: ignore[method-assign, assignment]
    BaseModel.untracked = True  # type: ignore[attr-defined]
    # And every call listed the handler's methods with inspect.getmembers (3% of the CPU under load).
    import moto.core.responses

    moto.core.responses.method_names_from_class = functools.cache(moto.core.responses.method_names_from_class)


def isolate_dynamodb() -> None:
    """Run the emulator's DynamoDB calls one at a time, so its transactions are isolated as DynamoDB's are,
    and make their cost follow the items they touch (`local.dynamodb_patch`).

    moto 5.2.5's TransactWriteItems applies its writes one by one and undoes them when an item fails. With
    requests served on many threads, another request could read a half-applied transaction, or have its
    write undone with it (seen as "An event with this id exists" when eight bookings race). Serialising
    the calls costs nothing measurable: moto runs them under the GIL. The same lock orders the journal
    (`local.persistence`): a write is on disk before the call answers.
    """
    dynamodb_patch.install()
    stop_tracking_instances()
    if getattr(DynamoHandler.call_action, "isolated", False):
        return
    unguarded = DynamoHandler.call_action

    def call_action(self: DynamoHandler) -> Any:
        with _ONE_AT_A_TIME:
            status, headers, body = unguarded(self)
            journal = _journal
            if journal is not None and status == 200:
                operation = self._get_action()
                if operation in WRITE_OPERATIONS:
                    raw = self.raw_body
                    text = raw.decode() if isinstance(raw, bytes) else str(raw or "")
                    journal.append(self.current_account, self.region, operation, text)
            return status, headers, body

    call_action.isolated = True  # type: ignore[attr-defined]
    DynamoHandler.call_action = call_action  # type: ignore[method-assign]


def attach_journal(journal: DataDir | None) -> None:
    """From now on every acknowledged DynamoDB write is journalled in `journal` (None: no longer)."""
    global _journal
    with _ONE_AT_A_TIME:
        _journal = journal


TOKEN_WINDOW_SECONDS = 600.0  # DynamoDB keeps a ClientRequestToken for 10 minutes
_tokens: dict[tuple[str, str, str], tuple[str, float]] = {}  # (account, region, token) -> (items hash, when)
_tokens_lock = threading.Lock()


def _bytes_as_text(value: Any) -> str:
    """Binary attribute values (moto parses them to bytes) in a transaction's fingerprint."""
    if isinstance(value, bytes):
        return value.hex()
    raise TypeError(f"{type(value).__name__} in a transaction's items")


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
        items = hashlib.sha256(
            json.dumps(self.body["TransactItems"], sort_keys=True, default=_bytes_as_text).encode()
        ).hexdigest()
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


@contextmanager
def writes_paused(timeout: float) -> Iterator[bool]:
    """Hold every DynamoDB call for the block; yields False if a call did not finish within `timeout`."""
    acquired = _ONE_AT_A_TIME.acquire(timeout=timeout)
    try:
        yield acquired
    finally:
        if acquired:
            _ONE_AT_A_TIME.release()


class Emulator:
    """Start/stop the moto server and point this process's boto3 at it.

    The socket is bound in `start` itself, so a busy port is an OSError there (moto's ThreadedMotoServer
    binds in its thread and then waits forever).
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.port = port
        self.url = ""
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self._in_process: Any = None

    def start(self) -> str:
        from moto.moto_server.werkzeug_app import (
            DomainDispatcherApplication,
            MotoRequestHandler,
            create_backend_app,
        )
        from werkzeug.serving import make_server

        # moto compares Wait TimestampPath instants with naive *local* time: run the process in UTC.
        os.environ["TZ"] = "UTC"
        time.tzset()
        isolate_dynamodb()
        honour_client_request_tokens()
        sfn_patch.install()
        self.app = DomainDispatcherApplication(create_backend_app)
        self._server = make_server(self.host, self.port, self.app, True, request_handler=MotoRequestHandler)
        self._thread = threading.Thread(target=self._server.serve_forever, name="onair-emulator", daemon=True)
        self._thread.start()
        port = self._server.server_address[1]
        self.url = f"http://{self.host}:{port}"
        os.environ.update(FAKE_CREDENTIALS)
        os.environ["MOTO_PORT"] = str(port)  # moto builds its own callback URLs from it
        os.environ["AWS_ENDPOINT_URL"] = self.url  # boto3 sends every service here
        self._in_process = inprocess.install(self.url)  # ...and this process's own calls skip the socket
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

    def dispatch(self, account: str, region: str, operation: str, body: str) -> int:
        """Run one DynamoDB call in this process, as if it came over HTTP; returns its status."""
        from werkzeug.test import Client

        scope = f"local/20200101/{region}/dynamodb/aws4_request"
        response = Client(self.app).post(
            "/",
            data=body,
            headers={
                "X-Amz-Target": f"DynamoDB_20120810.{operation}",
                "Content-Type": "application/x-amz-json-1.0",
                "Authorization": f"AWS4-HMAC-SHA256 Credential={scope}, SignedHeaders=host, Signature=0",
                "x-moto-account-id": account,
            },
        )
        return response.status_code

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._in_process is not None:
            inprocess.uninstall(self._in_process)
            self._in_process = None
