"""Form bodies as capture agents send them: multipart/form-data (pyCA, via curl) or urlencoded.

`parse_form` turns a body into fields; a field is text, or a file part with its name and type. Anything
that is not a well-formed form of a declared type is a `MalformedRequest` (400), never an exception.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qsl

from chalicelib.domain.errors import MalformedRequest

MAX_PARTS = 100


@dataclass(frozen=True)
class Part:
    """One form field: its bytes, and the file name and type when it is a file."""

    data: bytes
    filename: str | None = None
    content_type: str | None = None

    @property
    def text(self) -> str:
        try:
            return self.data.decode("utf-8")
        except UnicodeDecodeError:
            raise MalformedRequest("A text field is not UTF-8.") from None


def _params(header: str) -> tuple[str, dict[str, str]]:
    """A header value's main token and its `name=value` parameters (quoted or not)."""
    main, _, rest = header.partition(";")
    params = {}
    for match in re.finditer(r';?\s*([A-Za-z0-9_*-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;]*)', ";" + rest):
        value = match.group(2).strip()
        if value.startswith('"') and value.endswith('"') and len(value) >= 2:
            value = re.sub(r"\\(.)", r"\1", value[1:-1])
        params[match.group(1).lower()] = value
    return main.strip().lower(), params


def parse_form(body: bytes, content_type: str | None) -> dict[str, Part]:
    """The fields of a form body (the first of each name); an empty body is an empty form."""
    if not body:
        return {}
    kind, params = _params(content_type or "")
    if kind == "application/x-www-form-urlencoded":
        try:
            pairs = parse_qsl(
                body.decode("utf-8"), keep_blank_values=True, max_num_fields=MAX_PARTS, errors="strict"
            )
        except (UnicodeDecodeError, ValueError):
            raise MalformedRequest("The form is not valid application/x-www-form-urlencoded.") from None
        fields: dict[str, Part] = {}
        for name, value in pairs:
            fields.setdefault(name, Part(value.encode()))
        return fields
    if kind == "multipart/form-data":
        boundary = params.get("boundary", "")
        if not boundary or len(boundary) > 200:
            raise MalformedRequest("A multipart/form-data body needs a boundary.")
        return _multipart(body, boundary.encode("latin-1", "replace"))
    raise MalformedRequest(
        f"Send multipart/form-data or application/x-www-form-urlencoded (got {kind or 'none'})."
    )


def _multipart(body: bytes, boundary: bytes) -> dict[str, Part]:
    delimiter = b"--" + boundary
    start = body.find(delimiter)
    if start < 0:
        raise MalformedRequest("The multipart body does not contain its boundary.")
    fields: dict[str, Part] = {}
    position = start + len(delimiter)
    for _ in range(MAX_PARTS + 1):
        if body[position : position + 2] == b"--":
            return fields  # the closing delimiter
        if body[position : position + 2] != b"\r\n":
            raise MalformedRequest("The multipart body is malformed after a boundary.")
        header_end = body.find(b"\r\n\r\n", position + 2)
        following = body.find(b"\r\n" + delimiter, position + 2)
        if header_end < 0 or following < 0 or header_end > following:
            raise MalformedRequest("The multipart body has a part without headers or an end.")
        headers = _part_headers(body[position + 2 : header_end])
        disposition, attrs = _params(headers.get("content-disposition", ""))
        if disposition != "form-data" or "name" not in attrs:
            raise MalformedRequest("Every multipart part needs Content-Disposition: form-data; name=...")
        part = Part(body[header_end + 4 : following], attrs.get("filename"), headers.get("content-type"))
        fields.setdefault(attrs["name"], part)
        position = following + 2 + len(delimiter)
    raise MalformedRequest(f"The form has more than {MAX_PARTS} parts.")


def _part_headers(block: bytes) -> dict[str, str]:
    headers = {}
    for line in block.decode("utf-8", "replace").split("\r\n"):
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    return headers
