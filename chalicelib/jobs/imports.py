"""The Lambda that runs timetable imports (`chalicelib.services.import_job`), invoked asynchronously.

A run that nears the Lambda's time limit hands over: this handler then queues the next run itself.
Locally, local/lambda_bridge.py routes the emulator's function of the same name to `handle`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chalice import Blueprint

from chalicelib import bootstrap, logs

bp = Blueprint(__name__)


def handle(payload: dict[str, Any], remaining_ms: Callable[[], int] | None = None) -> dict[str, Any]:
    """Run one import: `{tenant_id, import_id}`; queue the next run when this one handed over."""
    services = bootstrap.services()
    time_left = None if remaining_ms is None else (lambda: remaining_ms() / 1000)
    with logs.scope(
        job="import",
        tenant_id=payload.get("tenant_id"),
        import_id=payload.get("import_id"),
        # The import names the invocation (the audit trail's request id for the changes it makes).
        request_id=f"import-{payload.get('import_id')}",
    ):
        result = services.import_job.handle(payload, time_left)
        if result.get("again"):
            services.imports.start_job(payload)
    return result


@bp.lambda_function(name="import_apply")
def import_apply(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Entry point of the import Lambda."""
    return handle(event, getattr(context, "get_remaining_time_in_millis", None))
