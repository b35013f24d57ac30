"""Timetables in, pure: CSV, iCalendar or JSON text → rows of named fields, each with its row number.

Every format yields the same fields (the CSV columns of docs/imports.md), as strings from CSV and
iCalendar, typed values from JSON; `chalicelib.domain.timetable_rows` turns them into bookings. A file that
cannot be read at all raises `ValidationFailed` at `/content`; anything wrong with one row is that row's
error, and the other rows stand.

Rows are numbered from 1 in the order they appear: CSV data rows (the header is not a row), iCalendar
VEVENTs, JSON array items. `line` is where the row starts in the text (CSV, iCalendar).
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass, field
from typing import Any

from chalicelib.domain.errors import FieldError, ValidationFailed

MAX_ROWS = 50_000
FIELDS = (
    "external_id",
    "title",
    "channel",
    "start",
    "end",
    "duration",
    "timezone",
    "frequency",
    "interval",
    "days",
    "until",
    "count",
    "rrule",
    "exdates",
    "rdates",
    "calendar",
    "weeks",
    "ref_id",
    "category",
    "tags",
    "source_ids",
    "record",
    "publish",
    "start_mode",
    "end_mode",
    "status",
    "metadata",
)
REQUIRED = ("external_id", "title", "channel", "start")
META = "meta."  # CSV columns `meta.<key>` fill `metadata.<key>`


@dataclass
class RawRow:
    """One row as the file gave it: field name → value (str, or JSON's own types), before any checks."""

    row: int
    fields: dict[str, Any]
    line: int | None = None
    errors: list[FieldError] = field(default_factory=list)


def parse(fmt: str, content: Any) -> list[RawRow]:
    """The rows of a timetable in `fmt` ("csv", "ics" or "json"); `content` is text (or JSON data)."""
    if isinstance(content, bytes):
        try:
            content = content.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise ValidationFailed.one("/content", f"is not UTF-8 text (byte {exc.start})") from None
    if fmt == "json":
        rows = parse_json(content)
    elif not isinstance(content, str):
        raise ValidationFailed.one("/content", f"must be {fmt.upper()} text")
    elif fmt == "csv":
        rows = parse_csv(content)
    elif fmt == "ics":
        rows = parse_ics(content)
    else:
        raise ValidationFailed.one("/format", "must be csv, ics or json")
    if len(rows) > MAX_ROWS:
        raise ValidationFailed.one("/content", f"has {len(rows)} rows; an import takes at most {MAX_ROWS}")
    return rows


# -- CSV -------------------------------------------------------------------------------------------------


def column_name(header: str) -> str:
    """A header cell as a field name: trimmed, lower case, spaces and hyphens as underscores (a `meta.`
    column keeps its key as written)."""
    text = header.strip()
    if text.lower().startswith(META):
        return META + text[len(META) :].strip()
    return re.sub(r"[\s-]+", "_", text.lower())


def parse_csv(text: str) -> list[RawRow]:
    """RFC 4180 CSV with a header row; `,` or (for spreadsheets set up that way) `;` between cells.

    Empty cells are absent fields. Unknown or repeated columns, or a missing required one, fail the file.
    """
    text = text.lstrip("\ufeff")
    first = text.split("\n", 1)[0]
    delimiter = ";" if first.count(";") > first.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next(reader, None)
        if header is None or not any(cell.strip() for cell in header):
            raise ValidationFailed.one("/content", "is empty: the first line must name the columns")
        names = [column_name(cell) for cell in header]
        _check_columns(names)
        rows: list[RawRow] = []
        line = reader.line_num + 1
        for cells in reader:
            start_line, line = line, reader.line_num + 1
            if not any(cell.strip() for cell in cells):
                continue  # blank lines are not rows
            raw = RawRow(len(rows) + 1, {}, start_line)
            if len(cells) > len(names):
                raw.errors.append(FieldError("", f"has {len(cells)} cells; the header names {len(names)}"))
            for name, cell in zip(names, cells, strict=False):
                if cell.strip():
                    raw.fields[name] = cell.strip()
            rows.append(raw)
            if len(rows) > MAX_ROWS:
                break
    except csv.Error as exc:
        raise ValidationFailed.one("/content", f"is not CSV (line {reader.line_num}: {exc})") from None
    return rows


def _check_columns(names: list[str]) -> None:
    errors = []
    for index, name in enumerate(names):
        if not name:
            errors.append(f"column {index + 1} has no name")
        elif name in names[:index]:
            errors.append(f"column `{name}` appears twice")
        elif name == "metadata" or (
            name not in FIELDS and not (name.startswith(META) and len(name) > len(META))
        ):
            errors.append(f"`{name}` is not a column onair knows (keep extra data as `meta.<key>`)")
    missing = [name for name in REQUIRED if name not in names]
    if missing:
        errors.append("the required columns " + ", ".join(missing) + " are missing")
    if errors:
        raise ValidationFailed(
            [FieldError("/content", detail) for detail in errors], "The file cannot be read."
        )


# -- JSON ------------------------------------------------------------------------------------------------


def parse_json(content: Any) -> list[RawRow]:
    """An array of row objects, or `{"rows": [...]}`; keys are the CSV column names (and `metadata`)."""
    data = content
    if isinstance(content, str):
        try:
            data = json.loads(content)
        except (ValueError, RecursionError) as exc:
            raise ValidationFailed.one("/content", f"is not JSON: {exc}") from None
    if isinstance(data, dict) and set(data) == {"rows"}:
        data = data["rows"]
    if not isinstance(data, list):
        raise ValidationFailed.one("/content", 'must be an array of rows, or {"rows": [...]}')
    if len(data) > MAX_ROWS:
        raise ValidationFailed.one("/content", f"has {len(data)} rows; an import takes at most {MAX_ROWS}")
    rows = []
    for index, item in enumerate(data, start=1):
        raw = RawRow(index, {})
        if not isinstance(item, dict):
            raw.errors.append(FieldError("", "must be an object"))
        else:
            for key, value in item.items():
                if key not in FIELDS and not key.startswith(META):
                    raw.errors.append(FieldError(f"/{key}", "is not a known field"))
                elif value is not None and value != "":
                    raw.fields[key] = value
        rows.append(raw)
    return rows


# -- iCalendar -------------------------------------------------------------------------------------------


@dataclass
class Property:
    name: str
    params: dict[str, str]
    value: str


@dataclass
class VEvent:
    index: int
    line: int
    props: list[Property] = field(default_factory=list)

    def first(self, name: str) -> Property | None:
        return next((p for p in self.props if p.name == name), None)

    def all(self, name: str) -> list[Property]:
        return [p for p in self.props if p.name == name]


_PROPERTY = re.compile(r"^([A-Za-z0-9-]+)((?:;[^:]*)?):(.*)$", re.S)
_PARAM = re.compile(r';([A-Za-z0-9-]+)=("[^"]*"|[^;:]*)')
_DATE_TIME = re.compile(r"^(\d{4})(\d{2})(\d{2})(?:T(\d{2})(\d{2})(\d{2})(Z?))?$")
_DURATION = re.compile(r"^([+-])?P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$")
# Properties whose value maps to a row field directly (TEXT values are unescaped first).
_TEXT = {
    "UID": "external_id",
    "SUMMARY": "title",
    "LOCATION": "channel",
    "RRULE": "rrule",
    "STATUS": "status",
}


def content_lines(text: str) -> list[tuple[int, str]]:
    """RFC 5545 §3.1: unfold (a line starting with a space or tab continues the previous one); keeps
    each logical line's first physical line number."""
    lines: list[tuple[int, str]] = []
    for number, physical in enumerate(text.replace("\r\n", "\n").replace("\r", "\n").split("\n"), start=1):
        if physical[:1] in (" ", "\t") and lines:
            lines[-1] = (lines[-1][0], lines[-1][1] + physical[1:])
        elif physical.strip():
            lines.append((number, physical))
    return lines


def unescape(value: str) -> str:
    """RFC 5545 TEXT: `\\n`, `\\,`, `\\;` and `\\\\`."""
    return re.sub(r"\\([nN,;\\])", lambda m: "\n" if m.group(1) in "nN" else m.group(1), value)


def parse_ics(text: str) -> list[RawRow]:
    """Each VEVENT of a VCALENDAR is a row (docs/imports.md maps its properties onto the fields).

    A VEVENT with a RECURRENCE-ID changes one instance of a series: that instance leaves the series
    (an EXDATE) and becomes a one-off row of its own, keyed `<UID>#<RECURRENCE-ID>`; one with
    STATUS:CANCELLED just leaves it.
    """
    lines = content_lines(text.lstrip("\ufeff"))
    if not lines or lines[0][1].strip().upper() != "BEGIN:VCALENDAR":
        raise ValidationFailed.one("/content", "is not iCalendar: it must begin with BEGIN:VCALENDAR")
    events: list[VEvent] = []
    stack: list[str] = []
    current: VEvent | None = None
    for number, line in lines:
        match = _PROPERTY.match(line)
        if match is None:
            raise ValidationFailed.one("/content", f"line {number} is not an iCalendar content line")
        name, raw_params, value = match.group(1).upper(), match.group(2), match.group(3)
        if name == "BEGIN":
            stack.append(value.strip().upper())
            if stack[-1] == "VEVENT":
                current = VEvent(len(events) + 1, number)
                events.append(current)
        elif name == "END":
            if not stack or stack[-1] != value.strip().upper():
                raise ValidationFailed.one(
                    "/content", f"line {number}: END:{value.strip()} closes nothing open"
                )
            if stack.pop() == "VEVENT":
                current = None
        elif current is not None and stack and stack[-1] == "VEVENT":
            params = {k.upper(): v.strip('"') for k, v in _PARAM.findall(raw_params)}
            current.props.append(Property(name, params, value))
    if stack:
        raise ValidationFailed.one("/content", f"ends inside {stack[-1]} (END:{stack[-1]} is missing)")
    if len(events) > MAX_ROWS:
        raise ValidationFailed.one(
            "/content", f"has {len(events)} events; an import takes at most {MAX_ROWS}"
        )
    rows = [_vevent_row(event) for event in events]
    return _instances(rows, events)


def _vevent_row(event: VEvent) -> RawRow:
    raw = RawRow(event.index, {}, event.line)
    fields = raw.fields
    for prop in event.props:
        if prop.name in _TEXT:
            target = _TEXT[prop.name]
            if target not in fields:
                fields[target] = unescape(prop.value).strip()
        elif prop.name in ("DTSTART", "DTEND"):
            target = "start" if prop.name == "DTSTART" else "end"
            try:
                fields[target], zone = ics_time(prop)
                if zone and "timezone" not in fields:
                    fields["timezone"] = zone
            except ValueError as exc:
                raw.errors.append(FieldError(f"/{target}", str(exc)))
        elif prop.name == "DURATION":
            try:
                fields["duration"] = str(ics_duration(prop.value))
            except ValueError as exc:
                raw.errors.append(FieldError("/duration", str(exc)))
        elif prop.name in ("EXDATE", "RDATE"):
            target = prop.name.lower() + "s"
            try:
                for part in prop.value.split(","):
                    value, _ = ics_time(Property(prop.name, prop.params, part))
                    fields.setdefault(target, []).append(value)
            except ValueError as exc:
                raw.errors.append(FieldError(f"/{target}", str(exc)))
        elif prop.name == "CATEGORIES":
            tags = [unescape(t).strip() for t in re.split(r"(?<!\\),", prop.value) if t.strip()]
            fields.setdefault("tags", []).extend(tags)
        elif prop.name.startswith("X-ONAIR-"):
            target = prop.name[len("X-ONAIR-") :].lower().replace("-", "_")
            if target in FIELDS:
                fields[target] = unescape(prop.value).strip()
            elif target.startswith("meta_") or target.startswith("meta."):
                fields[META + target[5:]] = unescape(prop.value).strip()
    # X-ONAIR-CHANNEL names the channel when LOCATION is a room's human description.
    override = event.first("X-ONAIR-CHANNEL")
    if override is not None:
        fields["channel"] = unescape(override.value).strip()
    if "status" in fields:
        fields["status"] = fields["status"].lower()
    return raw


def _instances(rows: list[RawRow], events: list[VEvent]) -> list[RawRow]:
    """Apply RECURRENCE-ID instances to their series (see `parse_ics`)."""
    masters = {
        row.fields.get("external_id"): row
        for row, event in zip(rows, events, strict=True)
        if event.first("RECURRENCE-ID") is None and row.fields.get("external_id")
    }
    kept: list[RawRow] = []
    for row, event in zip(rows, events, strict=True):
        instance = event.first("RECURRENCE-ID")
        if instance is None:
            kept.append(row)
            continue
        try:
            named, _ = ics_time(instance)
        except ValueError as exc:
            row.errors.append(FieldError("/recurrence_id", str(exc)))
            kept.append(row)
            continue
        uid = row.fields.get("external_id", "")
        master = masters.get(uid)
        if master is not None:
            master.fields.setdefault("exdates", []).append(named)
            for name in ("title", "channel", "timezone", "tags", "category", "ref_id", "calendar"):
                if name in master.fields and name not in row.fields:
                    row.fields[name] = master.fields[name]
        if row.fields.get("status") == "cancelled" and master is not None:
            continue
        row.fields["external_id"] = f"{uid}#{re.sub(r'[^0-9TZ]', '', named)}"
        kept.append(row)
    return kept


def ics_time(prop: Property) -> tuple[str, str | None]:
    """DTSTART/DTEND/EXDATE/RDATE/RECURRENCE-ID as (ISO text, TZID): `...Z` is an instant, otherwise local
    wall time in TZID (or, floating, in the row's or channel's zone). All-day dates are not bookings."""
    value = prop.value.strip()
    match = _DATE_TIME.match(value)
    if match is None:
        raise ValueError(f"{value!r} is not an iCalendar DATE-TIME (e.g. 20270927T090000)")
    year, month, day, hour, minute, second, utc = match.groups()
    if hour is None or prop.params.get("VALUE", "").upper() == "DATE":
        raise ValueError("is a whole day; a booking needs a time of day")
    text = f"{year}-{month}-{day}T{hour}:{minute}:{second}"
    if utc:
        return text + "Z", None
    return text, prop.params.get("TZID") or None


def ics_duration(value: str) -> int:
    """An RFC 5545 DURATION (P1W, PT1H30M, P1DT2H) in seconds; must be positive."""
    match = _DURATION.match(value.strip().upper())
    if match is None or value.strip().upper() in ("P", "PT"):
        raise ValueError(f"{value!r} is not an iCalendar DURATION (e.g. PT1H30M)")
    sign, weeks, days, hours, minutes, seconds = match.groups()
    total = (
        int(weeks or 0) * 604800 + int(days or 0) * 86400 + int(hours or 0) * 3600 + int(minutes or 0) * 60
    ) + int(seconds or 0)
    if sign == "-" or total <= 0:
        raise ValueError("must be positive")
    return total
