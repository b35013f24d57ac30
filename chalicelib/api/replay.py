"""Idempotent replay: a POST with an `Idempotency-Key` answers its first response again for 24 hours."""

from __future__ import annotations

import hashlib
import json
import logging
from typing import Any

from chalice import Response

from chalicelib.api.routes import RouteSpec

log = logging.getLogger("onair.api")


def fingerprint(spec: RouteSpec, path: dict[str, str], raw: bytes) -> str:
    try:
        canonical = json.dumps(json.loads(raw), sort_keys=True, separators=(",", ":")) if raw.strip() else ""
    except ValueError:
        canonical = raw.decode("utf-8", "replace")
    text = f"{spec.method} {spec.path} {json.dumps(path, sort_keys=True)} {canonical}"
    return hashlib.sha256(text.encode()).hexdigest()


def snapshot(response: Response, secret_fields: tuple[str, ...] = ()) -> dict[str, Any]:
    """What an idempotent replay returns; secrets shown once are not kept (they come back as null)."""
    body = response.body if isinstance(response.body, str) else json.dumps(response.body)
    if secret_fields and body:
        data = json.loads(body)
        if isinstance(data, dict):
            body = json.dumps({k: (None if k in secret_fields else v) for k, v in data.items()})
    headers = {k: v for k, v in response.headers.items() if k.lower() in ("content-type", "etag", "location")}
    return {"status": response.status_code, "headers": headers, "body": body}


def restore(snapshot: dict[str, Any]) -> Response:
    headers = dict(snapshot.get("headers", {}), **{"Idempotent-Replayed": "true"})
    return Response(body=snapshot.get("body", ""), status_code=int(snapshot["status"]), headers=headers)


def settle(services: Any, spec: RouteSpec, idempotency: tuple[str, str], response: Response) -> None:
    """Store the response for replays (or free the key after our own failure); never fails the request."""
    try:
        if response.status_code >= 500:
            services.idempotency.abandon(*idempotency)
        else:
            services.idempotency.finish(
                *idempotency, snapshot(response, spec.secret_fields), services.clock()
            )
    except Exception:
        log.exception("could not settle the idempotency record", extra={"key": idempotency[1]})
