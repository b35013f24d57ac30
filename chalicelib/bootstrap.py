"""The one place that builds adapters and services, and says who listens to what on the message bus.

Built lazily on first use and cached per process. Services get repositories and the bus; nothing is
patched onto a service after it is built.

Who listens to what:

| message                                   | listeners                                                 |
|-------------------------------------------|-----------------------------------------------------------|
| EventBooked, EventChanged, EventRestored  | lifecycle runs (start / restart / stop), notifier, audit  |
| EventRemoved                              | lifecycle runs (stop, lock), notifier, audit              |
| EventStateChanged                         | notifier, audit                                           |
| OverlapAccepted                           | series summaries, notifier, audit                         |
| SlotReleased                              | series summaries                                          |
| ScheduleChanged, ScheduleFailed           | notifier, audit                                           |
| RecordChanged, RecordingIngested          | notifier, audit                                           |
| CaptureAtRisk                             | notifier                                                  |
| StopForRemoval, CancelEvent (commands)    | lifecycle actions                                         |
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from chalicelib.domain.models import Channel, Source

if TYPE_CHECKING:
    from chalicelib.config import Settings
    from chalicelib.services.agents import AgentService
    from chalicelib.services.audit import AuditLog
    from chalicelib.services.auth import AuthService
    from chalicelib.services.bookings import ChannelBookings
    from chalicelib.services.calendars import CalendarService
    from chalicelib.services.catalog import CatalogService, ChannelService
    from chalicelib.services.events import EventService
    from chalicelib.services.feeds import FeedService
    from chalicelib.services.idempotency import IdempotencyService
    from chalicelib.services.import_job import ImportJob
    from chalicelib.services.imports import ImportService
    from chalicelib.services.ingest import IngestService
    from chalicelib.services.lifecycle import Lifecycle
    from chalicelib.services.materialiser import Materialiser
    from chalicelib.services.messagebus import MessageBus
    from chalicelib.services.notifier import Notifier
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
    bus: MessageBus
    notifier: Notifier
    audit: AuditLog
    auth: AuthService
    idempotency: IdempotencyService
    tenancy: TenancyService
    channels: ChannelService
    sources: CatalogService[Source]
    events: EventService
    schedules: ScheduleService
    materialiser: Materialiser
    lifecycle: Lifecycle
    agents: AgentService
    ingest: IngestService
    feeds: FeedService
    jobs: dict[str, Callable[[datetime], dict]]
    calendars: CalendarService
    imports: ImportService
    import_job: ImportJob


_lock = threading.Lock()
_services: Services | None = None


@dataclass
class Repositories:
    """The stores the services are built on (DynamoDB in production, memory in fast tests)."""

    tenant_max_duration: Callable[[str], int]
    channels: Any
    sources: Any
    events: Any
    schedules: Any
    locks: Any
    history: Any
    runs: Any
    due_runs: Any
    audit: Any
    publish: Callable[[str, dict[str, Any]], None]
    # Term calendars by (tenant, id), for the series that follow one (none: no calendars).
    calendars: Callable[[str, str], Any] | None = None


@dataclass
class Core:
    """The services every deployment has, wired on whatever repositories they were given."""

    bus: MessageBus
    notifier: Notifier
    audit: AuditLog
    channels: ChannelService
    sources: CatalogService[Source]
    events: EventService
    schedules: ScheduleService
    materialiser: Materialiser
    lifecycle: Lifecycle
    bookings: ChannelBookings  # the one notion of a channel's bookings (calendar feeds read through it)


def wire(
    repos: Repositories,
    settings: Settings,
    clock: Callable[[], datetime],
    drivers: Callable[[Any], Any] | None = None,
    agent_claims: Callable[..., list[dict[str, Any]]] | None = None,
    check_driver: Callable[[str, Any], None] | None = None,
) -> Core:
    """Build the core services on `repos` and say who listens to what (the table in the module doc)."""
    from chalicelib.adapters.drivers import driver_for
    from chalicelib.services.audit import AuditLog
    from chalicelib.services.booking import Booker
    from chalicelib.services.bookings import ChannelBookings
    from chalicelib.services.catalog import ChannelService, SourceService
    from chalicelib.services.events import EventService
    from chalicelib.services.lifecycle import (
        Actions,
        Lifecycle,
        RunKeeper,
        RunPolicy,
        Steps,
        Transitioner,
        Watchdog,
    )
    from chalicelib.services.materialiser import Materialiser
    from chalicelib.services.messagebus import MessageBus
    from chalicelib.services.notifier import Notifier
    from chalicelib.services.schedules import ScheduleService
    from chalicelib.services.series_check import SeriesConflicts

    drivers = drivers or driver_for
    bus = MessageBus()

    # -- bookings, events and series --------------------------------------------------------------------
    policy = RunPolicy(repos.runs.enabled, clock, settings.run_window)
    bookings = ChannelBookings(repos.events, repos.schedules, settings.conflict_horizon)
    booker = Booker(
        repos.events, repos.channels, bookings, repos.tenant_max_duration, policy.deferred_until, bus
    )
    events = EventService(repos.events, repos.channels, bookings, booker, repos.tenant_max_duration, bus)
    series = SeriesConflicts(
        repos.schedules, repos.channels, bookings, settings.conflict_horizon, settings.horizon, bus
    )
    materialiser = Materialiser(repos.schedules, repos.events, booker, series, settings.horizon, bus)
    schedules = ScheduleService(
        repos.schedules, repos.events, booker, bookings, events, series, materialiser, bus, repos.calendars
    )

    # -- the lifecycle ----------------------------------------------------------------------------------
    runs = RunKeeper(
        repos.runs, repos.due_runs, repos.events, repos.channels, repos.locks, clock, settings.run_window
    )
    transitions = Transitioner(repos.locks, booker, clock, bus)
    lifecycle = Lifecycle(
        runs=runs,
        transitions=transitions,
        steps=Steps(repos.events, repos.channels, repos.locks, transitions, runs, drivers),
        actions=Actions(
            repos.events,
            repos.channels,
            repos.locks,
            repos.history,
            booker,
            transitions,
            runs,
            drivers,
            clock,
            bus,
        ),
        watchdog=Watchdog(
            repos.events,
            repos.channels,
            repos.locks,
            transitions,
            runs,
            drivers,
            settings.lifecycle_grace,
            settings.manual_overrun,
        ),
    )

    # -- who listens to what ----------------------------------------------------------------------------
    notifier = Notifier(repos.publish)
    audit = AuditLog(repos.audit, clock, settings.audit_retention)
    runs.listen(bus)
    lifecycle.actions.listen(bus)
    series.listen(bus)
    notifier.listen(bus)
    audit.listen(bus)

    return Core(
        bus=bus,
        notifier=notifier,
        audit=audit,
        channels=ChannelService(
            repos.channels,
            bus,
            events.future_on,
            schedules.continuing_on,
            agent_claims,
            check_driver or (lambda tenant_id, driver: None),
        ),
        sources=SourceService(repos.sources, bus, events.using_source, schedules.using_source),
        events=events,
        schedules=schedules,
        materialiser=materialiser,
        lifecycle=lifecycle,
        bookings=bookings,
    )


def build(settings: Settings | None = None, clock: Callable[[], datetime] = utc_now) -> Services:
    """Wire the DynamoDB, Step Functions and EventBridge adapters into the services and the bus."""
    from chalicelib import logs
    from chalicelib.adapters import aws
    from chalicelib.adapters import keys as k
    from chalicelib.adapters.agents import AgentRegistry, DigestState
    from chalicelib.adapters.audit import AuditStore
    from chalicelib.adapters.calendars import CalendarStore
    from chalicelib.adapters.drivers import DriverChecks, driver_for
    from chalicelib.adapters.dynamo import Table
    from chalicelib.adapters.events import EventStore
    from chalicelib.adapters.feeds import FeedStore
    from chalicelib.adapters.history import HistoryStore
    from chalicelib.adapters.idempotency import IdempotencyStore
    from chalicelib.adapters.imports import ImportStore
    from chalicelib.adapters.jobs import LambdaJobs
    from chalicelib.adapters.lock import ChannelLocks
    from chalicelib.adapters.netguard import WebhookPolicy
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
    from chalicelib.services.calendars import CalendarService
    from chalicelib.services.feeds import FeedService
    from chalicelib.services.idempotency import IdempotencyService
    from chalicelib.services.import_job import ImportJob
    from chalicelib.services.imports import ImportService
    from chalicelib.services.ingest import IngestService
    from chalicelib.services.tenancy import TenancyService

    logs.configure()
    settings = settings or Settings.from_env()
    table = Table(settings.table_name, lambda: aws.client("dynamodb"))
    tenancy_store = TenancyStore(table)
    event_store = EventStore(table)
    registry = AgentRegistry(table)
    recordings = RecordingStore(table, settings.recordings_bucket)
    calendar_store = CalendarStore(table)
    repos = Repositories(
        tenant_max_duration=tenancy_store.tenant_max_duration,
        channels=RecordStore(table, Channel, lambda t: k.collection(t, "CHANNEL")),
        sources=RecordStore(table, Source, lambda t: k.collection(t, "SOURCE")),
        events=event_store,
        schedules=ScheduleStore(table),
        locks=ChannelLocks(table),
        history=HistoryStore(table),
        runs=Runs(settings.state_machine_arn, lambda: aws.client("stepfunctions")),
        due_runs=DueRuns(table),
        audit=AuditStore(table),
        publish=EventBridgePublisher(settings.bus_name, lambda: aws.client("events")).publish,
        calendars=calendar_store.get,
    )
    webhooks = WebhookPolicy(settings.webhook_https_only, settings.webhook_allow_private)
    core = wire(
        repos,
        settings,
        clock,
        drivers=lambda config: driver_for(config, policy=webhooks),
        agent_claims=registry.claim_ops,
        check_driver=DriverChecks(webhooks),
    )
    agents = AgentService(
        registry,
        DigestState(table, settings.agent_secret),
        recordings,
        core.events,
        event_store,
        core.lifecycle.actions,
        core.bus,
        Deadlines(settings.agent_silence, settings.agent_risk_lead, settings.agent_start_grace),
    )
    import_store = ImportStore(table)
    uploads = UploadStore(settings.imports_bucket)
    import_job = ImportJob(
        import_store,
        uploads,
        core.events,
        core.schedules,
        clock,
        settings.max_import_bytes,
        settings.import_workers,
    )
    # The job runs as its own Lambda, invoked asynchronously; without one (tests, tools) in-process.
    start_import = (
        LambdaJobs(settings.import_function, lambda: aws.client("lambda")).start
        if settings.import_function
        else functools.partial(run_inline, import_job.handle)
    )
    return Services(
        settings=settings,
        clock=clock,
        bus=core.bus,
        notifier=core.notifier,
        audit=core.audit,
        auth=AuthService(tenancy_store),
        idempotency=IdempotencyService(IdempotencyStore(table)),
        tenancy=TenancyService(tenancy_store, core.bus),
        channels=core.channels,
        sources=core.sources,
        events=core.events,
        schedules=core.schedules,
        materialiser=core.materialiser,
        lifecycle=core.lifecycle,
        agents=agents,
        ingest=IngestService(agents, core.events, recordings, core.bus, settings.download_url_seconds),
        feeds=FeedService(FeedStore(table), core.bookings, settings.horizon, core.bus),
        jobs={
            "materialise": core.materialiser.tick,
            "lifecycle_runs": core.lifecycle.runs.start_due_runs,
            "lifecycle_deadlines": core.lifecycle.watchdog.enforce,
            "agent_deadlines": agents.check_deadlines,
        },
        calendars=CalendarService(calendar_store, core.schedules, core.bus),
        imports=ImportService(
            import_store,
            uploads,
            start_import,
            settings.max_import_bytes,
            settings.download_url_seconds,
        ),
        import_job=import_job,
    )


def in_memory(
    settings: Settings | None = None,
    clock: Callable[[], datetime] = utc_now,
    drivers: Callable[[Any], Any] | None = None,
) -> tuple[Core, Any]:
    """The core services on in-memory repositories (fast service tests); returns them and the database."""
    from chalicelib.adapters import memory as m
    from chalicelib.config import Settings

    settings = settings or Settings.from_env({"ONAIR_STAGE": "memory"})
    db = m.MemoryDb()
    notes: list[tuple[str, dict[str, Any]]] = []
    repos = Repositories(
        tenant_max_duration=m.MemoryTenancy(db).tenant_max_duration,
        channels=m.MemoryRecords(db, Channel),
        sources=m.MemoryRecords(db, Source),
        events=m.MemoryEvents(db),
        schedules=m.MemorySchedules(db),
        locks=m.MemoryLocks(db),
        history=m.MemoryHistory(db),
        runs=m.MemoryRuns(),
        due_runs=m.MemoryDueRuns(db),
        audit=m.MemoryAudit(db),
        publish=lambda detail_type, detail: notes.append((detail_type, detail)),
    )
    db.notes = notes  # type: ignore[attr-defined]
    db.runs = repos.runs  # type: ignore[attr-defined]
    return wire(repos, settings, clock, drivers), db


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
