"""The EventBridge scheduled rule's handler. Locally, local/clock.py calls it every ONAIR_TICK_SECONDS.

Jobs come from `bootstrap.services().jobs`; each takes `now` and returns a small summary for the log.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from chalice import Blueprint, Rate

from chalicelib import bootstrap, logs

log = logging.getLogger("onair.jobs")
bp = Blueprint(__name__)

Job = Callable[[datetime], dict[str, Any]]


def run_jobs(jobs: dict[str, Job], now: datetime) -> dict[str, Any]:
    """Run every job once; one failing job does not stop the others."""
    results: dict[str, Any] = {}
    for name, job in jobs.items():
        try:
            results[name] = job(now)
        except Exception:
            log.exception("scheduled job failed", extra={"job": name})
            results[name] = {"error": True}
    return results


@bp.schedule(Rate(1, unit=Rate.MINUTES), name="tick")
def tick(event: Any) -> dict[str, Any]:
    """Entry point of the scheduled rule."""
    services = bootstrap.services()
    # The rule's own event id names the invocation: the audit trail's request id for what the tick changed.
    invocation = getattr(event, "to_dict", lambda: {})().get("id") or str(uuid.uuid4())
    with logs.scope(job="tick", request_id=f"tick-{invocation}"):
        results = run_jobs(services.jobs, services.clock())
        log.info("tick", extra={"results": results})
    return results
