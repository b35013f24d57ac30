"""Structured JSON logs: one object per line with the request id, tenant and event id in context.

A stdlib formatter rather than aws-lambda-powertools' Logger: the latter adds 35-50 ms to every cold
import (measured), and the fields we need are few. Secrets are never passed to the logger; as a second
line of defence anything shaped like an onair API key is masked.
"""

from __future__ import annotations

import contextvars
import json
import logging
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

_context: contextvars.ContextVar[dict[str, Any]] = contextvars.ContextVar("onair_log_context", default={})  # noqa: B039
_KEY_SHAPE = re.compile(r"onair_[A-Za-z0-9_-]{8,}")
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}
_configured = False


class JsonFormatter(logging.Formatter):
    """Render a record as one JSON object: time, level, logger, message, context, extras."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": mask(record.getMessage()),
            **_context.get(),
        }
        entry.update({k: v for k, v in vars(record).items() if k not in _STANDARD and not k.startswith("_")})
        if record.exc_info:
            entry["exception"] = mask(self.formatException(record.exc_info))
        return json.dumps(entry, default=str)


def mask(text: str) -> str:
    """Hide anything shaped like an API key."""
    return _KEY_SHAPE.sub("onair_***", text)


def configure() -> None:
    """Format every root handler as JSON (Lambda installs one; elsewhere add stderr). Idempotent."""
    global _configured
    if _configured:
        return
    root = logging.getLogger()
    if not root.handlers:
        root.addHandler(logging.StreamHandler())
    for handler in root.handlers:
        handler.setFormatter(JsonFormatter())
    logging.getLogger("onair").setLevel(os.environ.get("ONAIR_LOG_LEVEL", "INFO").upper())
    _configured = True


def current() -> dict[str, Any]:
    """The fields bound to this request or invocation (`request_id` for an API request)."""
    return dict(_context.get())


def bind(**fields: Any) -> None:
    """Add fields to every later log line of this request or invocation."""
    _context.set({**_context.get(), **{k: v for k, v in fields.items() if v is not None}})


@contextmanager
def scope(**fields: Any) -> Iterator[None]:
    """Fields that hold for one request or task invocation, then are forgotten."""
    token = _context.set({k: v for k, v in fields.items() if v is not None})
    try:
        yield
    finally:
        _context.reset(token)
