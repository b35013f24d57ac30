"""After a restart: give back their lifecycle runs to the events that should have one.

The emulator's DynamoDB data survives a restart (`local.persistence`); its Step Functions executions do not
(a run is a thread sleeping in a Wait state). So on start the stack finds, by Query, every event that was
or may be in a run, and calls the lifecycle's `RunKeeper.ensure` for it, the same call a booking write makes:

- events still to come inside the run window get their run again (it waits for its times as before);
- an event that was `provisioning`, `ready`, `live` or `stopped` when the stack died resumes: the run's
  steps the event is already past are skipped, so a `live` event whose end is still ahead is stopped at
  its end, and one whose end passed while the stack was down is stopped and torn down at once;
- events beyond the run window keep (or get back) their marker, which the tick reads as before.

Which events: per tenant (one Query of the tenant list, paged), one Query of `by_start` for the events
overlapping [last seen - 7 days, now + run window + 7 days), filtered to states that are not terminal.
7 days is the longest `teardown_delay_seconds` (a stopped event waits that long for its teardown) and the
longest `provision_lead_seconds`; "last seen" is when the stack last wrote its data, so an event that
was live when the stack died is found however long it stayed down. Never a Scan.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from chalicelib.domain.lifecycle import TERMINAL
from chalicelib.domain.models import EventState
from chalicelib.domain.queries import EventQuery
from chalicelib.services.lifecycle.runs import run_id, run_input, run_name

log = logging.getLogger("onair.local.resume")

LONGEST_LEAD = timedelta(days=7)  # chalicelib.domain.inputs.Seconds: lead and teardown delay limit
ACTIVE = tuple(state for state in EventState if state not in TERMINAL)


def resume_runs(services: Any, now: datetime, last_seen: datetime) -> dict[str, int]:
    """Start the runs of events that should have one; returns how many were looked at and started."""
    keeper = services.lifecycle.runs
    if not keeper.runs.enabled:
        return {"events": 0, "started": 0}
    since = min(last_seen, now) - LONGEST_LEAD
    until = now + keeper.window + LONGEST_LEAD
    seen = started = 0
    cursor = None
    while True:
        tenants, cursor = services.tenancy.list_tenants(100, cursor)
        for tenant in tenants:
            query = EventQuery(tenant_id=tenant.id, start_from=since, to=until, states=ACTIVE, limit=100)
            bound = services.tenancy.store.tenant_max_duration(tenant.id)
            for event in services.events.store.iterate(query, bound):
                seen += 1
                channel = services.events.channels.get(event.tenant_id, event.channel_id)
                if channel is not None and _resume(keeper, event, channel, now):
                    started += 1
        if cursor is None:
            break
    if seen:
        log.warning("resumed %d lifecycle runs (%d events in flight or ahead)", started, seen)
    return {"events": seen, "started": started}


IN_FLIGHT = (EventState.PROVISIONING, EventState.READY, EventState.LIVE, EventState.STOPPED)


def _resume(keeper: Any, event: Any, channel: Any, now: datetime) -> str | None:
    """`RunKeeper.ensure`, and for an event caught in flight whose end passed while the stack was down, its
    run all the same: the run skips the steps the event is past, so it is stopped and torn down now rather
    than after the deadlines job's grace (in AWS a run never dies with its host: only the local stack
    needs this).
    """
    if event.end > now or event.state not in IN_FLIGHT:
        return keeper.ensure(event, channel)
    return keeper.runs.start(run_name(event, run_id(event, channel)), run_input(event, channel))
