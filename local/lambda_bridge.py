"""Route Lambda invocations inside the embedded moto server to the project's Python handlers (local only).

Why this exists. moto 5.2.5 executes ASL for real once `execute_state_machine` is on
(`moto/stepfunctions/responses.py:get_backend` then serves `StepFunctionsParserBackend`), but a Lambda
Task never runs project code:

1. Both Task forms end in `lambda_eval_utils.execute_lambda_function_integration`
   (`moto/stepfunctions/parser/asl/component/state/exec/state_task/lambda_eval_utils.py`): a plain
   function ARN through `StateTaskLambda._eval_execution` (`state_task_lambda.py`), and
   `arn:aws:states:::lambda:invoke` through `StateTaskServiceLambda._eval_service_task`
   (`service/state_task_service_lambda.py`).
2. That calls `lambda.invoke` with a real boto3 client from `asl/utils/boto_client.py:boto_client_for`,
   pointed at `http://localhost:$MOTO_PORT` (in-process interception only under `mock_aws`), so the
   call crosses HTTP back into the same server, on another of its request threads.
3. With `{"lambda": {"use_docker": false}}`, `moto/awslambda/utils.py:get_backend` serves
   `moto.awslambda_simple.models.LambdaSimpleBackend`, whose `invoke` runs nothing: it echoes the
   request body (or pops a canned string queued via `/moto-api/static/lambda-simple/response`), and it
   does not even check that the function exists.

The bridge replaces that one method, `LambdaSimpleBackend.invoke`, for the function names routed here:
the payload is handed to `handler(payload: dict) -> dict` in this process, and its return value becomes
the invocation's `Payload`. An exception becomes what the AWS Python runtime returns for an unhandled
error: header `X-Amz-Function-Error: Unhandled` and `{"errorType", "errorMessage", "stackTrace"}`, so
Step Functions names the error after the exception class (`DriverError`) and `Retry`/`Catch` behave as
in AWS. Names not routed keep moto's behaviour. Nothing of this exists in AWS; the patch is pinned to
moto 5.2.5 and refuses any other version, because it replaces a private method.

Limits: the handler runs on one of the moto server's request threads, synchronously, for every
invocation type (no `Event` queueing, no Lambda timeout or concurrency limit: only the Task's own
`TimeoutSeconds`); the function must exist in moto (`create_function` with any zip and an IAM role),
as it must in AWS. Other moto 5.2.5 facts the local stack depends on are pinned in
`tests/integration/test_lambda_bridge.py`: Wait `TimestampPath` only accepts `...Z` instants and
wakes up to a second early (moto truncates the remaining seconds), and compares them with the
process's *local* time, so the process must run with TZ=UTC; `StartExecution` needs a name.
"""

from __future__ import annotations

import json
import logging
import threading
import traceback
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import moto

log = logging.getLogger("onair.local.lambda_bridge")

MOTO_VERSION = "5.2.5"

Handler = Callable[[dict[str, Any]], Any]

_handlers: dict[str, Handler] = {}
_lock = threading.Lock()
_original: Callable[..., Any] | None = None


def function_name(name_or_arn: str) -> str:
    """The bare function name from a name, a full or partial ARN, with or without a qualifier."""
    name = name_or_arn.split(":function:", 1)[-1]
    return name.split(":", 1)[0]


def route(name: str, handler: Handler) -> None:
    """Send invocations of the Lambda function `name` (or its ARN) to `handler`; installs the bridge."""
    install()
    with _lock:
        _handlers[function_name(name)] = handler


def unroute(name: str) -> None:
    """Stop routing `name`; its invocations fall back to moto's own behaviour."""
    with _lock:
        _handlers.pop(function_name(name), None)


def install() -> None:
    """Patch moto's no-Docker Lambda backend once; idempotent."""
    global _original
    from moto.awslambda_simple.models import LambdaSimpleBackend

    if moto.__version__ != MOTO_VERSION:
        raise RuntimeError(
            f"local/lambda_bridge.py patches moto {MOTO_VERSION} internals; found moto {moto.__version__}. "
            "Re-check LambdaSimpleBackend.invoke before changing the pin."
        )
    with _lock:
        if _original is None:
            _original = LambdaSimpleBackend.invoke
            LambdaSimpleBackend.invoke = _invoke  # type: ignore[method-assign]


def uninstall() -> None:
    """Restore moto's method and forget every route."""
    global _original
    from moto.awslambda_simple.models import LambdaSimpleBackend

    with _lock:
        if _original is not None:
            LambdaSimpleBackend.invoke = _original  # type: ignore[method-assign]
            _original = None
        _handlers.clear()


@contextmanager
def routed(handlers: Mapping[str, Handler]) -> Iterator[None]:
    """Route `handlers` (function name → handler) for a block; the last route to go removes the patch."""
    for name, handler in handlers.items():
        route(name, handler)
    try:
        yield
    finally:
        for name in handlers:
            unroute(name)
        if not _handlers:
            uninstall()


def _invoke(
    backend: Any,
    function_name_or_arn: str,
    qualifier: str | None,
    body: Any,
    headers: Any,
    response_headers: dict[str, str],
) -> bytes | str | None:
    """`LambdaSimpleBackend.invoke` with routed functions run in-process (same signature as moto's)."""
    handler = _handlers.get(function_name(function_name_or_arn))
    if handler is None:
        assert _original is not None
        return _original(backend, function_name_or_arn, qualifier, body, headers, response_headers)
    # AWS refuses to invoke a function that does not exist; keep that, so a wrong ARN fails locally too.
    backend.get_function(function_name_or_arn, qualifier)
    raw = body.decode() if isinstance(body, bytes) else (body or "")
    try:
        payload = json.loads(raw) if raw else {}
        result = handler(payload)
        return json.dumps(result).encode()
    except Exception as error:
        log.warning("routed Lambda %s raised %s", function_name_or_arn, type(error).__name__, exc_info=True)
        response_headers["x-amz-function-error"] = "Unhandled"
        return json.dumps(
            {
                "errorType": type(error).__name__,
                "errorMessage": str(error),
                "stackTrace": traceback.format_tb(error.__traceback__),
            }
        ).encode()
