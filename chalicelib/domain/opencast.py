"""The documents of the Opencast capture-agent protocol, written and read as Opencast does (pure).

- `calendar(...)`: the agent's schedule, as Opencast's scheduler writes it (CalendarGenerator): one VEVENT
  per booking with UID = the event id, LOCATION = the agent, and two base64 attachments: the episode
  Dublin Core (`episode.xml`) and the capture agent properties
  (`org.opencastproject.capture.agent.properties`). Lines end in CRLF and fold at 75 octets (RFC 5545),
  which pyCA's own parser expects.
- `episode_dublin_core(...)`, `agent_properties(...)`: those two attachments.
- Mediapackages: the XML an agent carries from `createMediaPackage` through `addTrack` to `ingest`.
- `parse_configuration(...)`: an agent's configuration, JSON or Java properties XML.

XML from agents is parsed only after refusing DOCTYPE and entity declarations (no expansion attacks).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import datetime
from xml.sax.saxutils import escape

from chalicelib.domain.errors import MalformedRequest
from chalicelib.domain.models import Event
from chalicelib.domain.time import format_instant

DUBLIN_CORE_NS = "http://www.opencastproject.org/xsd/1.0/dublincore/"
TERMS_NS = "http://purl.org/dc/terms/"
MEDIAPACKAGE_NS = "http://mediapackage.opencastproject.org"
PROPERTIES_NAME = "org.opencastproject.capture.agent.properties"
DEFAULT_WORKFLOW = "schedule-and-upload"  # Opencast's default workflow for scheduled recordings
MAX_XML_BYTES = 1024 * 1024

ET.register_namespace("", MEDIAPACKAGE_NS)

AGENT_STATES = frozenset({"idle", "shutting_down", "capturing", "uploading", "unknown", "offline", "error"})
"""Agent states Opencast's capture-admin service accepts (anything else is a 400)."""

RECORDING_STATES = frozenset(
    {
        "unknown",
        "capturing",
        "capture_finished",
        "capture_error",
        "manifest",
        "manifest_error",
        "manifest_finished",
        "compressing",
        "compressing_error",
        "uploading",
        "upload_finished",
        "upload_error",
    }
)
"""Recording states Opencast's capture-admin service accepts."""


# -- iCalendar -------------------------------------------------------------------------------------------


def _ical_time(instant: datetime) -> str:
    return format_instant(instant).replace("-", "").replace(":", "")


def _ical_text(value: str) -> str:
    """A TEXT value escaped as RFC 5545 §3.3.11 says."""
    return (
        value.replace("\\", "\\\\")
        .replace(";", "\\;")
        .replace(",", "\\,")
        .replace("\r\n", "\\n")
        .replace("\n", "\\n")
        .replace("\r", "\\n")
    )


def _fold(line: str, limit: int = 75) -> str:
    """Fold a content line at `limit` octets, never inside a UTF-8 character (RFC 5545 §3.1)."""
    if len(line.encode()) <= limit:
        return line
    parts: list[str] = []
    current, size = "", 0
    for char in line:
        width = len(char.encode())
        if size + width > limit:
            parts.append(current)
            current, size = " ", 1
        current += char
        size += width
    parts.append(current)
    return "\r\n".join(parts)


def _attach(filename: str, fmttype: str, content: str) -> str:
    data = base64.b64encode(content.encode()).decode()
    return f"ATTACH;FMTTYPE={fmttype};VALUE=BINARY;ENCODING=BASE64;X-APPLE-FILENAME={filename}:{data}"


def calendar(events: list[Event], agent: str) -> str:
    """The agent's schedule: one VEVENT per event, attachments included; deterministic for an ETag."""
    lines = [
        "BEGIN:VCALENDAR",
        "PRODID:-//onair//Opencast capture-agent calendar//EN",
        "VERSION:2.0",
        "CALSCALE:GREGORIAN",
    ]
    for event in sorted(events, key=lambda e: (e.start, e.id)):
        lines += [
            "BEGIN:VEVENT",
            f"DTSTAMP:{_ical_time(event.updated_at)}",
            f"DTSTART:{_ical_time(event.start)}",
            f"DTEND:{_ical_time(event.end)}",
            f"SUMMARY:{_ical_text(event.title)}",
            f"UID:{event.id}",
            f"LAST-MODIFIED:{_ical_time(event.updated_at)}",
            f"LOCATION:{_ical_text(agent)}",
        ]
        if event.schedule_id:
            lines.append(f"RELATED-TO:{event.schedule_id}")
        lines.append(_attach("episode.xml", "application/xml", episode_dublin_core(event, agent)))
        lines.append(_attach(PROPERTIES_NAME, "application/text", agent_properties(event, agent)))
        lines.append("END:VEVENT")
    lines.append("END:VCALENDAR")
    return "".join(_fold(line) + "\r\n" for line in lines)


def calendar_etag(body: str) -> str:
    """A strong ETag of a calendar's exact content."""
    return '"' + hashlib.sha256(body.encode()).hexdigest()[:32] + '"'


# -- the attachments -------------------------------------------------------------------------------------


def episode_dublin_core(event: Event, agent: str) -> str:
    """The episode catalog Opencast attaches: identifier, title, agent (spatial), period (temporal)."""
    period = f"start={format_instant(event.start)}; end={format_instant(event.end)}; scheme=W3C-DTF;"
    fields = [
        ("identifier", "", event.id),
        ("title", "", event.title),
        ("spatial", "", agent),
        ("temporal", ' xsi:type="dcterms:Period"', period),
        ("created", ' xsi:type="dcterms:W3CDTF"', format_instant(event.start)),
    ]
    if event.schedule_id:
        fields.append(("isPartOf", "", event.schedule_id))
    body = "".join(
        f"<dcterms:{name}{attrs}>{escape(value)}</dcterms:{name}>" for name, attrs, value in fields
    )
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="no"?>'
        f'<dublincore xmlns="{DUBLIN_CORE_NS}" xmlns:dcterms="{TERMS_NS}" '
        f'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">{body}</dublincore>'
    )


_PROPERTY_KEY = re.compile(r"^[A-Za-z0-9._-]{1,100}$")


def _property(value: str) -> str:
    """A Java properties value on one line (backslash, newlines and leading blanks escaped)."""
    text = value.replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r")
    return "\\" + text if text[:1] in (" ", "\t") else text


def agent_properties(event: Event, agent: str) -> str:
    """The capture agent properties: title, location, series, workflow and its configuration.

    Each `metadata` entry whose key is a plain name becomes `org.opencastproject.workflow.config.<key>`,
    which pyCA passes back to `/ingest/ingest` as a form field.
    """
    lines = [
        f"event.title={_property(event.title)}",
        f"event.location={_property(agent)}",
        f"capture.device.names={_property(agent)}",
        f"org.opencastproject.workflow.definition={DEFAULT_WORKFLOW}",
    ]
    if event.schedule_id:
        lines.append(f"event.series={event.schedule_id}")
    for key, value in sorted(event.metadata.items()):
        if _PROPERTY_KEY.match(key):
            text = json.dumps(value) if isinstance(value, bool) else str(value)
            lines.append(f"org.opencastproject.workflow.config.{key}={_property(text)}")
    return "\n".join(lines) + "\n"


# -- XML from agents -------------------------------------------------------------------------------------


def parse_xml(text: str, what: str) -> ET.Element:
    """Parse an agent's XML document, refusing DTDs and entities; MalformedRequest when it is not XML."""
    if len(text.encode()) > MAX_XML_BYTES:
        raise MalformedRequest(f"The {what} is larger than {MAX_XML_BYTES} bytes.")
    if re.search(r"<!(DOCTYPE|ENTITY)", text, re.IGNORECASE):
        raise MalformedRequest(f"The {what} may not declare a DOCTYPE or entities.")
    try:
        return ET.fromstring(text)
    except ET.ParseError as exc:
        raise MalformedRequest(f"The {what} is not well-formed XML: {exc}.") from None


def dublin_core_identifier(text: str) -> str | None:
    """The `dcterms:identifier` of a Dublin Core catalog (the event id in the catalogs onair sends)."""
    found = parse_xml(text, "Dublin Core catalog").find(f"{{{TERMS_NS}}}identifier")
    return found.text.strip() if found is not None and found.text else None


# -- mediapackages ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Element:
    """One file added to a mediapackage: a track, catalog or attachment."""

    kind: str  # track | catalog | attachment
    id: str
    flavor: str
    mimetype: str
    url: str
    size: int


_PARENTS = {"track": "media", "catalog": "metadata", "attachment": "attachments"}


def new_mediapackage(mediapackage_id: str, start: datetime) -> str:
    """An empty mediapackage, as `createMediaPackage` answers."""
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        f'<mediapackage xmlns="{MEDIAPACKAGE_NS}" id="{escape(mediapackage_id)}" '
        f'start="{format_instant(start)}"><media/><metadata/><attachments/><publications/></mediapackage>'
    )


def _mediapackage(text: str) -> ET.Element:
    root = parse_xml(text, "mediaPackage")
    if root.tag not in (f"{{{MEDIAPACKAGE_NS}}}mediapackage", "mediapackage") or not root.get("id"):
        raise MalformedRequest("mediaPackage is not a mediapackage document with an id.")
    return root


def mediapackage_id(text: str) -> str:
    """The id of the mediapackage an agent sent back."""
    return str(_mediapackage(text).get("id"))


def _serialise(root: ET.Element) -> str:
    return '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>' + ET.tostring(root, encoding="unicode")


def with_id(text: str, mediapackage_id: str) -> str:
    """The mediapackage under another id (a catalog naming a booking binds the package to it)."""
    root = _mediapackage(text)
    root.set("id", mediapackage_id)
    return _serialise(root)


def with_element(text: str, element: Element) -> str:
    """The mediapackage with one more element, as the `add*` endpoints answer."""
    root = _mediapackage(text)
    namespace = root.tag[: root.tag.index("}") + 1] if root.tag.startswith("{") else ""
    parent = root.find(namespace + _PARENTS[element.kind])
    if parent is None:
        parent = ET.SubElement(root, namespace + _PARENTS[element.kind])
    node = ET.SubElement(parent, namespace + element.kind, {"id": element.id, "type": element.flavor})
    for name, value in (("mimetype", element.mimetype), ("url", element.url), ("size", str(element.size))):
        ET.SubElement(node, namespace + name).text = value
    return _serialise(root)


# -- agent configuration ---------------------------------------------------------------------------------

MAX_CONFIGURATION_ENTRIES = 200


def parse_configuration(text: str) -> tuple[dict[str, str], str]:
    """An agent's configuration (JSON object or Java properties XML) as a flat dict, and its format."""
    stripped = text.strip()
    if stripped.startswith("{"):
        try:
            data = json.loads(stripped)
        except ValueError:
            raise MalformedRequest("configuration is not valid JSON.") from None
        if not isinstance(data, dict):
            raise MalformedRequest("configuration must be a JSON object.")
        entries = {str(k): v if isinstance(v, str) else json.dumps(v) for k, v in data.items()}
        kind = "json"
    else:
        root = parse_xml(stripped, "configuration")
        entries = {e.get("key", ""): e.text or "" for e in root.iter("entry") if e.get("key")}
        kind = "xml"
    if len(entries) > MAX_CONFIGURATION_ENTRIES:
        raise MalformedRequest(f"configuration has more than {MAX_CONFIGURATION_ENTRIES} entries.")
    return entries, kind


def configuration_xml(entries: dict[str, str]) -> str:
    """A configuration as Java properties XML (what Opencast answers for `.xml`)."""
    body = "".join(
        f'<entry key="{escape(k, {chr(34): "&quot;"})}">{escape(v)}</entry>'
        for k, v in sorted(entries.items())
    )
    return f'<?xml version="1.0" encoding="UTF-8" standalone="no"?><properties>{body}</properties>'


# -- the service registry --------------------------------------------------------------------------------

SERVICE_PATHS = {
    "org.opencastproject.scheduler": "/recordings",
    "org.opencastproject.capture.admin": "/capture-admin",
    "org.opencastproject.ingest": "/ingest",
}
"""The Opencast services a recorder looks up, and where onair answers each."""


def services_document(service_type: str, base_url: str, ingest_url: str) -> dict[str, object]:
    """`/services/available.json` as Opencast answers it: one online, active service, or none."""
    path = SERVICE_PATHS.get(service_type)
    if path is None:
        return {"services": {"service": []}}
    host = ingest_url if service_type == "org.opencastproject.ingest" else base_url
    service = {
        "type": service_type,
        "host": host,
        "path": path,
        "active": True,
        "online": True,
        "maintenance": False,
        "jobproducer": False,
        "service_state": "NORMAL",
        "error_state_trigger": 0,
        "warning_state_trigger": 0,
    }
    return {"services": {"service": service}}
