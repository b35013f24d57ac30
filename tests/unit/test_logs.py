"""Structured logs: JSON lines with request context, and no API key ever written out."""

import json
import logging

from chalicelib import logs


def render(message: str, **extra) -> dict:
    record = logging.LogRecord("onair.api", logging.INFO, __file__, 1, message, (), None)
    for key, value in extra.items():
        setattr(record, key, value)
    return json.loads(logs.JsonFormatter().format(record))


def test_a_line_carries_the_request_context_and_extras():
    with logs.scope(request_id="req-1", event_id="evt_1"):
        logs.bind(tenant_id="ten_1")
        line = render("request", status=201)
    assert line["message"] == "request" and line["level"] == "INFO"
    assert (line["request_id"], line["tenant_id"], line["event_id"], line["status"]) == (
        "req-1",
        "ten_1",
        "evt_1",
        201,
    )
    assert "request_id" not in render("after the request"), "context ends with its request"


def test_anything_shaped_like_a_key_is_masked():
    line = render("auth failed for onair_Abc123def456ghi789")
    assert "Abc123def456" not in json.dumps(line) and "onair_***" in line["message"]
