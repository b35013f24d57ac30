"""The one place that builds adapters and services. Built lazily on first use and cached per process."""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from chalicelib.config import Settings
    from chalicelib.domain.models import Source
    from chalicelib.services.agents import AgentService
    from chalicelib.services.auth import AuthService
    from chalicelib.services.calendars import CalendarService
    from chalicelib.services.catalog import CatalogService, ChannelService
    from chalicelib.services.events import EventService
    from chalicelib.services.idempotency import IdempotencyService
    from chalicelib.services.import_job import ImportJob
    from chalicelib.services.imports import ImportService
    from chalicelib.services.ingest import IngestService
    from chalicelib.services.lifecycle import LifecycleService
    from chalicelib.services.materialiser import Materialiser
    from chalicelib.services.schedules import ScheduleService
    from chalicelib.services.tenancy import TenancyService


def utc_now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def run_inline(handle: Callable[[dict], dict], payload: dict) -> None:
    """Run a background job in this process, to the end (it hands over only when it runs out of time)."""
    while handle(payload).get("again"):
        pass


@dataclass
class Services:
    settings: Settings
    clock: Callable[[], datetime]
    auth: AuthService
    idempotency: IdempotencyService
    tenancy: TenancyService
    channels: ChannelService
    sources: CatalogService[Source]
    events: EventService
    schedules: ScheduleService
    materialiser: Materialiser
    lifecycle: LifecycleService
    agents: AgentService
    ingest: IngestService
    jobs: dict[str, Callable[[datetime], dict]]
    calendars: CalendarService
    imports: ImportService
    import_job: ImportJob


_lock = threading.Lock()
_services: Services | None = None


def build(settings: Settings | None = None, clock: Callable[[], datetime] = utc_now) -> Services:
    """Wire the DynamoDB and EventBridge adapters into the services."""
    from chalicelib import logs
    from chalicelib.adapters import aws
    from chalicelib.adapters import keys as k
    from chalicelib.adapters.agents import AgentRegistry, DigestState
    from chalicelib.adapters.calendars import CalendarStore
    from chalicelib.adapters.dynamo import Table
    from chalicelib.adapters.events import EventStore
    from chalicelib.adapters.history import HistoryStore
    from chalicelib.adapters.idempotency import IdempotencyStore
    from chalicelib.adapters.imports import ImportStore
    from chalicelib.adapters.jobs import LambdaJobs
    from chalicelib.adapters.lock import ChannelLocks
    from chalicelib.adapters.publisher import EventBridgePublisher
    from chalicelib.adapters.recordings import RecordingStore
    from chalicelib.adapters.records import RecordStore
    from chalicelib.adapters.runs import DueRuns
    from chalicelib.adapters.schedules import ScheduleStore
    from chalicelib.adapters.stepfunctions import Runs
    from chalicelib.adapters.tenancy import TenancyStore
    from chalicelib.adapters.uploads import UploadStore
    from chalicelib.config import Settings
    from chalicelib.domain.models import Channel, Source
    from chalicelib.services.agents import AgentService, Deadlines
    from chalicelib.services.auth import AuthService
    from chalicelib.services.bookings import ChannelBookings
    from chalicelib.services.calendars import CalendarService
    from chalicelib.services.catalog import ChannelService, SourceService
    from chalicelib.services.events import EventService
    from chalicelib.services.idempotency import IdempotencyService
    from chalicelib.services.import_job import ImportJob
    from chalicelib.services.imports import ImportService
    from chalicelib.services.ingest import IngestService
    from chalicelib.services.lifecycle import LifecycleService
    from chalicelib.services.materialiser import Materialiser
    from chalicelib.services.schedules import ScheduleService
    from chalicelib.services.series_check import SeriesConflicts
    from chalicelib.services.tenancy import TenancyService

    logs.configure()
    settings = settings or Settings.from_env()
    table = Table(settings.table_name, lambda: aws.client("dynamodb"))
    publish = EventBridgePublisher(settings.bus_name, lambda: aws.client("events")).publish
    tenancy_store = TenancyStore(table)
    channel_store = RecordStore(table, Channel, lambda t: k.collection(t, "CHANNEL"))
    event_store = EventStore(table)
    schedule_store = ScheduleStore(table)
    bookings = ChannelBookings(event_store, schedule_store, settings.conflict_horizon)
    events = EventService(event_store, channel_store, tenancy_store.tenant_max_duration, publish, bookings)
    series = SeriesConflicts(
        schedule_store, channel_store, bookings, settings.conflict_horizon, settings.horizon, publish
    )
    materialiser = Materialiser(schedule_store, events, series, settings.horizon)
    calendar_store = CalendarStore(table)
    schedules = ScheduleService(schedule_store, events, series, materialiser, publish, calendar_store.get)
    lifecycle = LifecycleService(
        events,
        ChannelLocks(table),
        HistoryStore(table),
        Runs(settings.state_machine_arn, lambda: aws.client("stepfunctions")),
        DueRuns(table),
        publish,
        clock,
        settings.run_window,
    )
    events.automation = lifecycle  # every booking write now starts, moves or stops the event's run
    events.conflict_listeners.append(series.mark_conflict)
    events.release_listeners.append(series.released)
    import_store = ImportStore(table)
    uploads = UploadStore(settings.imports_bucket)
    import_job = ImportJob(
        import_store, uploads, events, schedules, clock, settings.max_import_bytes, settings.import_workers
    )
    # The job runs as its own Lambda, invoked asynchronously; without one (tests, tools) in-process.
    start_import = (
        LambdaJobs(settings.import_function, lambda: aws.client("lambda")).start
        if settings.import_function
        else functools.partial(run_inline, import_job.handle)
    )
    registry = AgentRegistry(table)
    recordings = RecordingStore(table, settings.recordings_bucket)
    agents = AgentService(
        registry,
        DigestState(table, settings.agent_secret),
        recordings,
        events,
        lifecycle,
        publish,
        Deadlines(settings.agent_silence, settings.agent_risk_lead, settings.agent_start_grace),
    )
    return Services(
        settings=settings,
        clock=clock,
        auth=AuthService(tenancy_store),
        idempotency=IdempotencyService(IdempotencyStore(table)),
        tenancy=TenancyService(tenancy_store),
        channels=ChannelService(
            channel_store, publish, events.has_future_events, schedules.continuing_on, registry.claim_ops
        ),
        sources=SourceService(
            RecordStore(table, Source, lambda t: k.collection(t, "SOURCE")), publish, events.using_source
        ),
        events=events,
        schedules=schedules,
        lifecycle=lifecycle,
        materialiser=materialiser,
        agents=agents,
        ingest=IngestService(agents, events, recordings, publish, settings.download_url_seconds),
        jobs={
            "materialise": materialiser.tick,
            "lifecycle_runs": lifecycle.start_due_runs,
            "agent_deadlines": agents.check_deadlines,
        },
        calendars=CalendarService(calendar_store, schedules, publish),
        imports=ImportService(
            import_store,
            uploads,
            start_import,
            settings.max_import_bytes,
            settings.download_url_seconds,
        ),
        import_job=import_job,
    )


def services() -> Services:
    """The process's services, built on first use."""
    global _services
    if _services is None:
        with _lock:
            if _services is None:
                _services = build()
    return _services


def override(replacement: Services | None) -> None:
    """Install services built elsewhere (tests, the local stack), or None to rebuild from the environment."""
    global _services
    _services = replacement
