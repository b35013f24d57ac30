"""Room recorders: digest authentication, their schedule, what they report, and the deadlines they keep.

Every agent request is authenticated here (`authenticate`) and answers only about the agent's own
channel: another channel's booking is a 404, exactly like a booking that does not exist. Reports of a
recording's state move its event through `LifecycleService.agent_reported`; the scheduled job
(`check_deadlines`) warns about silent agents before a booking and fails bookings nobody started.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from chalicelib.adapters.agents import AgentRecord, AgentRegistry, DigestState
from chalicelib.adapters.events import EventStore
from chalicelib.adapters.recordings import RecordingStore
from chalicelib.domain import digest, opencast, recorders
from chalicelib.domain.errors import AgentUnauthenticated, MalformedRequest, NotFound, StaleWrite
from chalicelib.domain.messages import SYSTEM, CaptureAtRisk
from chalicelib.domain.models import Event, EventState
from chalicelib.domain.queries import EventQuery
from chalicelib.domain.recorders import Agent
from chalicelib.services.events import EventService
from chalicelib.services.lifecycle import Actions
from chalicelib.services.messagebus import MessageBus

S = EventState

CALENDAR_STATES = (S.SCHEDULED, S.PROVISIONING, S.READY, S.LIVE)
"""Bookings an agent still has to record (or is recording); done or cancelled ones leave its calendar."""
CALENDAR_PAST = timedelta(hours=1)  # as Opencast: events that ended within the last hour stay listed
DEFAULT_LOOKAHEAD = timedelta(days=14)  # pyCA's default cal_lookahead when no cutoff is sent
MAX_LOOKAHEAD = timedelta(days=90)
MAX_CALENDAR_EVENTS = 500
DEADLINE_LOOKBACK = timedelta(days=1)  # bookings that ended longer ago than this are not revisited


@dataclass(frozen=True)
class Deadlines:
    """When an agent is at risk (silent for `silence` within `risk_lead` of a start) and when it is late."""

    silence: timedelta
    risk_lead: timedelta
    start_grace: timedelta


class AgentService:
    """What the capture-agent endpoints do, for one authenticated agent at a time."""

    def __init__(
        self,
        registry: AgentRegistry,
        digest_state: DigestState,
        recordings: RecordingStore,
        events: EventService,
        event_store: EventStore,
        actions: Actions,
        bus: MessageBus,
        deadlines: Deadlines,
    ) -> None:
        self.registry = registry
        self.digest_state = digest_state
        self.recordings = recordings
        self.events = events
        self.event_store = event_store
        self.actions = actions
        self.bus = bus
        self.deadlines = deadlines

    # -- authentication ----------------------------------------------------------------------------------

    def authenticate(
        self, header: str | None, method: str, path: str, query: dict[str, list[str]], now: datetime
    ) -> tuple[Agent, AgentRecord]:
        """The agent a request's digest credentials prove; AgentUnauthenticated (401 + challenge) if none."""
        secret = self.digest_state.secret()
        credentials = digest.parse_authorization(header)
        if credentials is None:
            raise self._refuse("Send HTTP digest credentials (user = the agent name).", now)
        verdict = digest.check_nonce(secret, credentials.nonce, now.timestamp())
        if verdict is digest.NonceCheck.STALE:
            raise self._refuse("The nonce has expired; use the new one.", now, stale=True)
        if verdict is digest.NonceCheck.INVALID or credentials.realm != digest.REALM:
            raise self._refuse("The nonce or realm is not one this server issued.", now)
        record = self.registry.get(credentials.username)
        stored = record.digest.get(credentials.algorithm) if record else None
        if record is None or stored is None or not digest.response_matches(credentials, method, stored):
            raise self._refuse("Wrong agent name or password.", now)
        if not digest.uri_matches(credentials, path, query):
            raise self._refuse("The digest uri does not name this request.", now)
        lifetime = timedelta(seconds=digest.NONCE_SECONDS)
        if not self.digest_state.use_once(digest.replay_key(credentials), now, lifetime):
            raise self._refuse("These credentials were used already; answer the new challenge.", now)
        return Agent(record.name, record.tenant_id, record.channel_id), record

    def challenge(self, now: datetime) -> str:
        """A fresh `WWW-Authenticate` value."""
        return digest.challenge(digest.new_nonce(self.digest_state.secret(), now.timestamp()))

    def _refuse(self, detail: str, now: datetime, stale: bool = False) -> AgentUnauthenticated:
        nonce = digest.new_nonce(self.digest_state.secret(), now.timestamp())
        return AgentUnauthenticated(detail, digest.challenge(nonce, stale))

    # -- the schedule ------------------------------------------------------------------------------------

    def calendar(
        self, agent: Agent, record: AgentRecord, agent_id: str | None, cutoff: str | None, now: datetime
    ) -> tuple[str, str]:
        """The agent's iCalendar and ETag: bookings ending after an hour ago and starting before `cutoff`.

        `cutoff` is epoch milliseconds, as Opencast takes it; none means 14 days, and it is capped at 90.
        Another agent's id is a 404: an agent sees only its own schedule.
        """
        if agent_id not in (None, "", agent.name):
            raise NotFound(f"No calendar for agent {agent_id}.")
        until = now + DEFAULT_LOOKAHEAD
        if cutoff:
            try:
                until = datetime.fromtimestamp(int(cutoff) / 1000, now.tzinfo)
            except (ValueError, OverflowError, OSError):
                raise MalformedRequest("cutoff must be epoch milliseconds.") from None
        until = min(until, now + MAX_LOOKAHEAD)
        events = list(self._bookings(agent, now - CALENDAR_PAST, max(until, now), CALENDAR_STATES))
        self.registry.seen(record, now)
        body = opencast.calendar(events[:MAX_CALENDAR_EVENTS], agent.name)
        return body, opencast.calendar_etag(body)

    def _bookings(
        self, agent: Agent, start: datetime, end: datetime, states: tuple[EventState, ...]
    ) -> Iterator[Event]:
        """The channel's events in `states` overlapping [start, end), page by page (one Query each)."""
        cursor = None
        for _ in range(MAX_CALENDAR_EVENTS // 100 + 1):
            query = EventQuery(
                tenant_id=agent.tenant_id,
                channel_id=agent.channel_id,
                start_from=start,
                to=end,
                states=states,
                limit=100,
                cursor=cursor,
            )
            page = self.events.list(query)
            yield from page.items
            cursor = page.next_cursor
            if cursor is None:
                return

    # -- agent state and configuration ---------------------------------------------------------------------

    def _own(self, agent: Agent, name: str) -> None:
        if name != agent.name:
            raise NotFound(f"No agent {name}.")  # others are not seen, as other tenants' records are not

    def report_state(
        self,
        agent: Agent,
        record: AgentRecord,
        name: str,
        state: str | None,
        address: str | None,
        now: datetime,
    ) -> str:
        """Record what the agent says it is doing (idle, capturing, ...); it is also heard from now."""
        self._own(agent, name)
        if state not in opencast.AGENT_STATES:
            raise MalformedRequest(f"state must be one of: {', '.join(sorted(opencast.AGENT_STATES))}.")
        self.registry.report(record, state, address, now)
        return f"{name} set to {state}"

    def state(self, agent: Agent, record: AgentRecord, name: str, now: datetime) -> dict[str, Any]:
        """The agent's last state, as Opencast's `agents/{name}.json` shows it (in `agent-state-update`)."""
        self._own(agent, name)
        since = int((now - record.last_seen).total_seconds() * 1000) if record.last_seen else None
        return {
            "name": name,
            "state": record.state or "unknown",
            "url": record.address or "",
            "time-since-last-update": since,
        }

    def set_configuration(
        self, agent: Agent, record: AgentRecord, name: str, text: str | None
    ) -> tuple[dict[str, str], str]:
        """Store the agent's configuration (JSON or properties XML); returns it and the format it came in."""
        self._own(agent, name)
        if not text or not text.strip():
            raise MalformedRequest("configuration is required.")
        entries, kind = opencast.parse_configuration(text)
        self.registry.set_configuration(record, entries)
        return entries, kind

    def configuration(self, agent: Agent, record: AgentRecord, name: str) -> dict[str, str]:
        self._own(agent, name)
        return record.configuration

    # -- recordings ----------------------------------------------------------------------------------------

    def booking(self, agent: Agent, event_id: str) -> Event:
        """One of the agent's own bookings; anything else (another channel's, deleted, none) is a 404."""
        event = self.event_store.get(agent.tenant_id, event_id)
        if event is None or event.channel_id != agent.channel_id or event.deleted_at is not None:
            raise NotFound(f"No recording {event_id}.")
        return event

    def report_recording(
        self, agent: Agent, record: AgentRecord, event_id: str, state: str | None, now: datetime
    ) -> str:
        """Record a recording's state and let it move the event (capturing → live, ...)."""
        if state not in opencast.RECORDING_STATES:
            raise MalformedRequest(f"state must be one of: {', '.join(sorted(opencast.RECORDING_STATES))}.")
        event = self.booking(agent, event_id)
        self.recordings.set_state(agent.tenant_id, event_id, state, now)
        if state == "uploading":
            self.registry.set_uploading(record, event_id)
        elif state in ("upload_finished", "upload_error") and record.uploading == event_id:
            self.registry.set_uploading(record, None)
        self._move(event, agent.name, state)
        self.registry.seen(record, now)
        return f"{event_id} set to {state}"

    def _move(self, event: Event, agent: str, report: str) -> Event:
        for _ in range(3):
            try:
                return self.actions.agent_reported(event, agent, report)
            except StaleWrite:
                fresh = self.event_store.get(event.tenant_id, event.id)
                if fresh is None:
                    return event
                event = fresh
        raise StaleWrite()

    def recording_state(self, agent: Agent, event_id: str, now: datetime) -> dict[str, Any]:
        """A recording's last state, as Opencast's `recordings/{id}.json` shows it (its inside)."""
        self.booking(agent, event_id)
        found = self.recordings.state(agent.tenant_id, event_id)
        state, at = found if found else ("unknown", None)
        since = int((now - at).total_seconds() * 1000) if at else None
        return {"id": event_id, "state": state, "time-since-last-update": since}

    # -- the channel's view --------------------------------------------------------------------------------

    def status(self, agent_name: str) -> tuple[str | None, datetime | None]:
        """What `GET /v1/channels/{id}` shows of the channel's recorder: its state and when last heard."""
        record = self.registry.get(agent_name)
        return (record.state, record.last_seen) if record else (None, None)

    # -- deadlines (the scheduled job) ---------------------------------------------------------------------

    def check_deadlines(self, now: datetime) -> dict[str, int]:
        """Warn about silent agents before their bookings; fail bookings their agent never started.

        Cost: one Query for the registry page, one per agent for its channel's bookings around now.
        """
        agents = at_risk = not_started = 0
        d = self.deadlines
        for record in self.registry.all():
            agents += 1
            agent = Agent(record.name, record.tenant_id, record.channel_id)
            before_live = (S.SCHEDULED, S.PROVISIONING, S.READY)
            for event in self._bookings(agent, now - DEADLINE_LOOKBACK, now + d.risk_lead, before_live):
                if event.start + d.start_grace <= now:
                    self._move(event, record.name, recorders.NOT_STARTED)
                    not_started += 1
                elif self._silent(record, now) and self.recordings.warn_once(event.tenant_id, event.id, now):
                    self.bus.publish(CaptureAtRisk(event, record.name, record.last_seen, SYSTEM))
                    at_risk += 1
        return {"agents": agents, "at_risk": at_risk, "not_started": not_started}

    def _silent(self, record: AgentRecord, now: datetime) -> bool:
        return record.last_seen is None or now - record.last_seen >= self.deadlines.silence
