"""A timetable row → the booking it asks for, pure: a one-off event or a series, in the API's own input
form (`EventIn` / `ScheduleIn`), checked by the same models, with one error per bad field.

A row is a series when it has a rule (`frequency`, `rrule`, `days`, `interval`, `count`, `until`) or
names teaching `weeks` or a `calendar` (then it repeats weekly on its start's weekday unless it says
otherwise); otherwise it is one session. Times without an offset are local to the row's `timezone`, else
to its channel's. Pointers name the row's own fields (`/start`, `/channel`, `/days`), whatever the format.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from chalicelib.domain.calendars import Calendar
from chalicelib.domain.closures import with_calendar
from chalicelib.domain.errors import FieldError, ValidationFailed
from chalicelib.domain.inputs import EventIn, ScheduleIn
from chalicelib.domain.models import Channel
from chalicelib.domain.recurrence import load_zone, parse_local_datetime
from chalicelib.domain.schedules import Schedule, normalise, occurrences
from chalicelib.domain.time import format_instant, parse_instant
from chalicelib.domain.timetable import META, RawRow
from chalicelib.domain.validation import validate

MAX_EXTERNAL_ID = 150
RULE_FIELDS = ("frequency", "rrule", "days", "interval", "count", "until")
TEMPLATE = ("ref_id", "category", "tags", "source_ids", "record", "publish", "start_mode", "end_mode")
_TIME_OF_DAY = re.compile(r"^\d{1,2}:\d{2}(:\d{2})?$")
_TRUE, _FALSE = {"true", "yes", "y", "1"}, {"false", "no", "n", "0"}


@dataclass(frozen=True)
class Desired:
    """The booking a valid row asks for. `body` is the API input (without `external_id`), `digest` its
    fingerprint; `start`/`end` are the (first) booking's instants; `cancelled` means the row says the
    booking is off (iCalendar STATUS:CANCELLED), as if it were absent."""

    row: int
    line: int | None
    external_id: str
    kind: str  # "event" | "series"
    body: dict[str, Any]
    digest: str
    channel_id: str
    start: datetime
    end: datetime
    cancelled: bool = False


@dataclass(frozen=True)
class Invalid:
    row: int
    line: int | None
    external_id: str | None
    errors: list[FieldError]


class Catalog:
    """The tenant's channels and term calendars, by id and by name (names compare case-insensitively)."""

    def __init__(self, channels: list[Channel], calendars: list[Calendar]) -> None:
        self.channels = {c.id: c for c in channels}
        self.calendars = {c.id: c for c in calendars}
        self._channel_names = _by_name((c.name, c.id) for c in channels)
        self._calendar_names = _by_name((c.name, c.id) for c in calendars)

    def channel(self, ref: str) -> Channel:
        return self.channels[self._find(ref, self.channels, self._channel_names, "channel")]

    def calendar(self, ref: str) -> Calendar:
        return self.calendars[self._find(ref, self.calendars, self._calendar_names, "calendar")]

    @staticmethod
    def _find(ref: str, by_id: dict[str, Any], by_name: dict[str, list[str]], noun: str) -> str:
        if ref in by_id:
            return ref
        found = by_name.get(ref.strip().lower(), [])
        if len(found) == 1:
            return found[0]
        if found:
            raise ValueError(f"{len(found)} {noun}s are named {ref!r}; give the id")
        raise ValueError(f"no {noun} has this id or name")


def _by_name(pairs: Any) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for name, ident in pairs:
        found.setdefault(name.strip().lower(), []).append(ident)
    return found


def digest(kind: str, body: dict[str, Any]) -> str:
    """A stable fingerprint of what a row asks for."""
    text = json.dumps({"kind": kind, "body": body}, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def desired(raw: RawRow, catalog: Catalog) -> Desired | Invalid:
    """Check one row and say what booking it asks for; every bad field is reported, none is guessed."""
    fields = raw.fields
    external_id = _external_id(fields.get("external_id"))
    errors = list(raw.errors)
    if isinstance(external_id, FieldError):
        errors.append(external_id)
        external_id = None
    if errors:
        return Invalid(raw.row, raw.line, external_id, errors)
    assert external_id is not None
    try:
        made = _booking(fields, catalog)
    except ValidationFailed as exc:
        return Invalid(
            raw.row, raw.line, external_id, [FieldError(_pointer(e.pointer), e.detail) for e in exc.errors]
        )
    except (ValueError, TypeError, OverflowError) as exc:  # a value no field check foresaw: still this row's
        return Invalid(raw.row, raw.line, external_id, [FieldError("", f"cannot be read: {exc}")])
    kind, body, channel, start, end = made
    cancelled = str(fields.get("status", "")).lower() == "cancelled"
    return Desired(
        raw.row, raw.line, external_id, kind, body, digest(kind, body), channel, start, end, cancelled
    )


def _external_id(value: Any) -> str | FieldError:
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value.strip():
        return FieldError("/external_id", "is required: it is how the row is found again next time")
    value = value.strip()
    if len(value) > MAX_EXTERNAL_ID or any(ord(c) < 32 for c in value):
        return FieldError("/external_id", f"must be 1-{MAX_EXTERNAL_ID} printable characters")
    return value


def _booking(fields: dict[str, Any], catalog: Catalog) -> tuple[str, dict[str, Any], str, datetime, datetime]:
    errors: list[FieldError] = []

    def attempt(pointer: str, make: Any) -> Any:
        try:
            return make()
        except ValidationFailed as exc:
            errors.extend(exc.errors)
        except (ValueError, TypeError) as exc:
            errors.append(FieldError(pointer, str(exc)))
        return None

    for name in ("title", "channel", "start"):
        if name not in fields:
            errors.append(FieldError(f"/{name}", "is required"))
    channel = (
        attempt("/channel", lambda: catalog.channel(_text(fields["channel"], "/channel")))
        if "channel" in fields
        else None
    )
    calendar = (
        attempt("/calendar", lambda: catalog.calendar(_text(fields["calendar"], "/calendar")))
        if "calendar" in fields
        else None
    )
    zone_name = fields.get("timezone", channel.timezone if channel else "UTC")
    zone = attempt("/timezone", lambda: load_zone(_text(zone_name, "/timezone")))
    template = attempt("", lambda: _template(fields))
    if errors or channel is None or zone is None or template is None:
        raise ValidationFailed(errors or [FieldError("/channel", "is required")])
    series = any(name in fields for name in (*RULE_FIELDS, "weeks", "calendar"))
    if series:
        return _series(fields, channel, calendar, str(zone_name), zone, template)
    if "exdates" in fields or "rdates" in fields:
        raise ValidationFailed.one("/exdates", "belongs to a series: give a rule (frequency or rrule) too")
    return _event(fields, channel, zone, template)


def _event(
    fields: dict[str, Any], channel: Channel, zone: ZoneInfo, template: dict[str, Any]
) -> tuple[str, dict[str, Any], str, datetime, datetime]:
    start = _instant(fields["start"], zone, "/start")
    body: dict[str, Any] = {
        "title": fields["title"],
        "channel_id": channel.id,
        "start": format_instant(start),
    }
    if "end" in fields:
        body["end"] = format_instant(_end(fields["end"], start, zone))
    if "duration" in fields:
        body["duration"] = _integer(fields["duration"], "/duration")
    body.update(template)
    checked: EventIn = validate(EventIn, body)
    stored = checked.model_dump(mode="json", exclude={"allow_conflict", "duration", "end", "external_id"})
    end = checked.resolved_end()
    stored["end"] = format_instant(end)
    return "event", stored, channel.id, checked.start, end


def _series(
    fields: dict[str, Any],
    channel: Channel,
    calendar: Calendar | None,
    zone_name: str,
    zone: ZoneInfo,
    template: dict[str, Any],
) -> tuple[str, dict[str, Any], str, datetime, datetime]:
    if "weeks" in fields and calendar is None:
        raise ValidationFailed.one("/calendar", "is needed with `weeks`: the calendar numbers the weeks")
    local = parse_local_datetime(_scalar(fields["start"]), zone, "/start")
    first = local.replace(tzinfo=zone).astimezone(UTC)
    if "duration" in fields:
        duration = _integer(fields["duration"], "/duration")
    elif "end" in fields:
        duration = int((_end(fields["end"], first, zone) - first).total_seconds())
        if duration <= 0:
            raise ValidationFailed.one("/end", "must be after `start`")
    else:
        raise ValidationFailed.one("/duration", "give `end` or `duration`")
    body: dict[str, Any] = {
        "title": fields["title"],
        "channel_id": channel.id,
        "start": local.isoformat(),
        "timezone": zone_name,
        "duration": duration,
        "recurrence": _recurrence(fields),
        **template,
    }
    if calendar is not None:
        body["calendar_id"] = calendar.id
        if "weeks" in fields:
            body["weeks"] = _text(fields["weeks"], "/weeks")
    checked: ScheduleIn = validate(ScheduleIn, body)
    stored = normalise(checked, channel.timezone)
    if calendar is not None:
        now = datetime(1970, 1, 1, tzinfo=UTC)  # every occurrence, past or not: the row is described whole
        probe = Schedule(id="sch_row", tenant_id="", created_at=now, updated_at=now, **stored)
        probe = with_calendar(probe, calendar, now)
        if not occurrences(probe, after=None, before=None, limit=1)[0]:
            raise ValidationFailed.one("/weeks", "leaves the series no occurrence in the calendar's terms")
    stored = ScheduleIn.model_validate(stored).model_dump(mode="json", exclude={"allow_conflict"})
    return "series", stored, channel.id, first, first + timedelta(seconds=duration)


def _recurrence(fields: dict[str, Any]) -> dict[str, Any]:
    if "rrule" in fields:
        clash = [name for name in ("frequency", "interval", "days", "count", "until") if name in fields]
        if clash:
            raise ValidationFailed.one(f"/{clash[0]}", "cannot be combined with `rrule`; put it in the RRULE")
        rule: dict[str, Any] = {"rrule": _text(fields["rrule"], "/rrule")}
    else:
        rule = {"frequency": _text(fields.get("frequency", "weekly"), "/frequency").lower()}
        if "interval" in fields:
            rule["interval"] = _integer(fields["interval"], "/interval")
        if "days" in fields:
            rule["days"] = _items(fields["days"], r"[,;\s]+")
        if "count" in fields:
            rule["count"] = _integer(fields["count"], "/count")
        if "until" in fields:
            rule["until"] = _scalar(fields["until"])
    for name in ("exdates", "rdates"):
        if name in fields:
            rule[name] = _items(fields[name], r";")
    return rule


def _template(fields: dict[str, Any]) -> dict[str, Any]:
    """The fields every booking may carry, typed from text where the row is text."""
    out: dict[str, Any] = {}
    for name in ("ref_id", "category", "publish", "start_mode", "end_mode"):
        if name in fields:
            out[name] = (
                _text(fields[name], f"/{name}")
                if not isinstance(fields[name], (int, float))
                else str(fields[name])
            )
    for name in ("tags", "source_ids"):
        if name in fields:
            out[name] = _items(fields[name], r";")
    if "record" in fields:
        out["record"] = _boolean(fields["record"], "/record")
    metadata = dict(fields["metadata"]) if isinstance(fields.get("metadata"), dict) else {}
    if "metadata" in fields and not isinstance(fields["metadata"], dict):
        raise ValidationFailed.one("/metadata", "must be an object")
    metadata.update({name[len(META) :]: value for name, value in fields.items() if name.startswith(META)})
    if metadata:
        out["metadata"] = metadata
    return out


# -- values ----------------------------------------------------------------------------------------------


def _scalar(value: Any) -> Any:
    return value if isinstance(value, (str, int)) and not isinstance(value, bool) else str(value)


def _text(value: Any, pointer: str) -> str:
    if not isinstance(value, str):
        raise ValidationFailed.one(pointer, "must be text")
    return value.strip()


def _integer(value: Any, pointer: str) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and re.fullmatch(r"\s*\d{1,12}\s*", value):
        return int(value)
    raise ValidationFailed.one(pointer, "must be a whole number")


def _boolean(value: Any, pointer: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValidationFailed.one(pointer, "must be true or false (yes/no, 1/0)")


def _items(value: Any, separators: str) -> list[Any]:
    if isinstance(value, list):
        return value
    if isinstance(value, str):
        return [part.strip() for part in re.split(separators, value) if part.strip()]
    return [value]


def _instant(value: Any, zone: ZoneInfo, pointer: str) -> datetime:
    """An instant from RFC 3339 (with an offset) or epoch seconds, or a local date-time in `zone`
    (a wall time in a spring-forward gap moves forward by the gap, as in recurrence)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return parse_instant(value)
    text = _text(value, pointer)
    try:
        return parse_instant(text)
    except ValueError:
        pass
    local = parse_local_datetime(text, zone, pointer)
    return local.replace(tzinfo=zone).astimezone(UTC)


def _end(value: Any, start: datetime, zone: ZoneInfo) -> datetime:
    """`end`: an instant, a local date-time, or a time of day on the start's local date."""
    if isinstance(value, str) and _TIME_OF_DAY.match(value.strip()):
        day = start.astimezone(zone).date()
        clock = time.fromisoformat(value.strip().zfill(5) if len(value.strip()) == 4 else value.strip())
        return datetime.combine(day, clock).replace(tzinfo=zone).astimezone(UTC)
    return _instant(value, zone, "/end")


def _pointer(pointer: str) -> str:
    """A pointer into the API input, as a pointer to the row's own field."""
    parts = pointer.split("/")[1:]
    if not parts:
        return pointer
    head = {"channel_id": "channel", "calendar_id": "calendar"}.get(parts[0], parts[0])
    if head == "recurrence":
        return "/" + (parts[1] if len(parts) > 1 else "frequency")
    if head in ("tags", "source_ids", "days", "exdates", "rdates"):
        return f"/{head}"
    return "/" + "/".join([head, *parts[1:]])
