"""Ingest: a recorder's mediapackage, from `createMediaPackage` to `ingest`, into S3; and listing recordings.

A mediapackage belongs to one booking, and its id *is* that booking's id (as Opencast's scheduler makes
mediapackage ids the event ids). `createMediaPackage` binds it to the recording the agent said it is
uploading (pyCA reports `uploading` first); an episode catalog naming one of the agent's bookings binds
it too. Files are stored under `<tenant>/<event>/<element>/<file name>` as they arrive; a track for a
package bound to nothing is refused (409), since there would be nowhere to put it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from chalicelib.adapters.recordings import RecordingStore, StoredFile
from chalicelib.domain import opencast
from chalicelib.domain.errors import Conflict, MalformedRequest, NotFound
from chalicelib.domain.ids import new_id
from chalicelib.domain.messages import Actor, RecordingIngested
from chalicelib.domain.models import Event, Principal
from chalicelib.domain.recorders import Agent
from chalicelib.services.agents import AgentService
from chalicelib.services.events import EventService
from chalicelib.services.messagebus import MessageBus

FLAVOR = re.compile(r"^[A-Za-z0-9._+-]{1,100}/[A-Za-z0-9._+-]{1,100}$")
UNBOUND_PREFIX = "mp_"


@dataclass(frozen=True)
class Upload:
    """One file part of an ingest request."""

    filename: str
    content_type: str
    data: bytes


def safe_filename(name: str | None, default: str) -> str:
    """A file name fit for an S3 key segment: the base name, with anything unusual replaced by '_'."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = re.sub(r"[^A-Za-z0-9._-]", "_", base).strip("._")[:120]
    return cleaned or default


def content_type_of(upload: Upload) -> str:
    """The part's own type, unless it is the generic one curl sends: then guessed from the file name."""
    given = upload.content_type.split(";")[0].strip().lower()
    if given and given != "application/octet-stream":
        return given
    import mimetypes

    return mimetypes.guess_type(upload.filename)[0] or "application/octet-stream"


class IngestService:
    """The ingest endpoints and `GET /v1/events/{id}/recordings`."""

    def __init__(
        self,
        agents: AgentService,
        events: EventService,
        recordings: RecordingStore,
        bus: MessageBus,
        download_url_seconds: int,
    ) -> None:
        self.agents = agents
        self.events = events
        self.recordings = recordings
        self.bus = bus
        self.download_url_seconds = download_url_seconds

    def create(self, agent: Agent, uploading: str | None, now: datetime) -> str:
        """A new mediapackage, bound to the recording the agent reported as uploading if there is one."""
        event = None
        if uploading:
            try:
                event = self.agents.booking(agent, uploading)
            except NotFound:
                event = None  # that booking is gone: hand out an unbound package
        if event is not None:
            return opencast.new_mediapackage(event.id, event.start)
        return opencast.new_mediapackage(new_id(UNBOUND_PREFIX.rstrip("_"), now), now)

    def _bound(self, agent: Agent, mediapackage: str) -> Event | None:
        mediapackage_id = opencast.mediapackage_id(mediapackage)
        if mediapackage_id.startswith(UNBOUND_PREFIX):
            return None
        return self.agents.booking(agent, mediapackage_id)  # another channel's booking: 404

    def add_catalog(
        self, agent: Agent, mediapackage: str | None, flavor: str | None, catalog: str | None, now: datetime
    ) -> str:
        """Add a Dublin Core catalog; one naming the agent's booking binds an unbound package to it."""
        mediapackage = self._required(mediapackage, "mediaPackage")
        text = self._required(catalog, "dublinCore")
        event = self._bound(agent, mediapackage)
        if event is None:
            identifier = opencast.dublin_core_identifier(text)
            if identifier:
                event = self.agents.booking(agent, identifier)
                mediapackage = opencast.with_id(mediapackage, event.id)
        upload = Upload("dublincore.xml", "text/xml", text.encode())
        return self._store(agent, event, "catalog", mediapackage, flavor or "dublincore/episode", upload, now)

    def add_file(
        self,
        agent: Agent,
        kind: str,
        mediapackage: str | None,
        flavor: str | None,
        upload: Upload | None,
        now: datetime,
    ) -> str:
        """Add a track or attachment (`kind`); the bytes go to S3 under the package's booking."""
        mediapackage = self._required(mediapackage, "mediaPackage")
        if upload is None:
            raise MalformedRequest("Send the file as a multipart part with a file name (BODY).")
        event = self._bound(agent, mediapackage)
        return self._store(agent, event, kind, mediapackage, self._required(flavor, "flavor"), upload, now)

    def _store(
        self,
        agent: Agent,
        event: Event | None,
        kind: str,
        mediapackage: str,
        flavor: str,
        upload: Upload,
        now: datetime,
    ) -> str:
        if not FLAVOR.match(flavor):
            raise MalformedRequest("flavor must look like type/subtype, e.g. presenter/source.")
        if event is None:
            raise Conflict(
                "This mediapackage belongs to no booking: report the recording as `uploading` before "
                "createMediaPackage, or add its episode catalog first."
            )
        element_id = new_id("el", now)
        name = safe_filename(upload.filename, kind)
        key = f"{event.tenant_id}/{event.id}/{element_id}/{name}"
        stored = StoredFile(
            key=key,
            size=len(upload.data),
            content_type=content_type_of(upload),
            flavor=flavor,
            element_id=element_id,
            agent=agent.name,
            at=now,
        )
        self.recordings.put(event.tenant_id, event.id, stored, upload.data)
        url = f"s3://{self.recordings.bucket}/{key}"
        element = opencast.Element(kind, element_id, flavor, stored.content_type, url, stored.size)
        return opencast.with_element(mediapackage, element)

    def ingest(
        self, agent: Agent, mediapackage: str | None, workflow_instance: str | None, now: datetime
    ) -> str:
        """Close the package: it must name one of the agent's bookings; announces `Recording Ingested`."""
        mediapackage = self._required(mediapackage, "mediaPackage")
        event = self._bound(agent, mediapackage)
        if event is None and workflow_instance:
            event = self.agents.booking(agent, workflow_instance)
            mediapackage = opencast.with_id(mediapackage, event.id)
        if event is None:
            raise Conflict("This mediapackage belongs to no booking; nothing was ingested.")
        if workflow_instance and workflow_instance != event.id:
            raise Conflict(f"The mediapackage is {event.id}'s, not {workflow_instance}'s.")
        files = self.recordings.files(event.tenant_id, event.id)
        self.bus.publish(
            RecordingIngested(
                event, agent.name, len(files), sum(f.size for f in files), Actor.agent(agent.name)
            )
        )
        return mediapackage

    def list(self, principal: Principal, event_id: str) -> list[tuple[StoredFile, str]]:
        """An event's files with pre-signed download URLs (404 for another tenant's event)."""
        event = self.events.get(principal, event_id)
        files = self.recordings.files(event.tenant_id, event.id)
        return [(f, self.recordings.download_url(f.key, self.download_url_seconds)) for f in files]

    @staticmethod
    def _required(value: str | None, name: str) -> str:
        if not value:
            raise MalformedRequest(f"{name} is required.")
        return value
