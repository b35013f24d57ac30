"""The Lambda the lifecycle state machine invokes for each step (`infra/lifecycle.asl.json`).

Errors leave by class name, which is what the state machine's Retry and Catch match: `DriverError`
(retried with backoff, then `failed`), `DriverNotReady` (polled), `RunSuperseded` (the run ends quietly).
Locally, local/lambda_bridge.py routes the function's invocations to `handle` in-process.
"""

from __future__ import annotations

from typing import Any

from chalice import Blueprint

from chalicelib import bootstrap, logs

bp = Blueprint(__name__)


def handle(payload: dict[str, Any]) -> dict[str, Any]:
    """Run one step for one event: `{step, tenant_id, event_id, version}`."""
    services = bootstrap.services()
    with logs.scope(
        step=payload.get("step"),
        tenant_id=payload.get("tenant_id"),
        event_id=payload.get("event_id"),
        # The run's identity and step name the invocation (the audit trail's request id for its changes).
        request_id=f"run-{payload.get('event_id')}-{payload.get('version')}-{payload.get('step')}",
    ):
        return services.lifecycle.steps.handle(payload)


@bp.lambda_function(name="lifecycle_task")
def lifecycle_task(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Entry point of the task Lambda."""
    return handle(event)
