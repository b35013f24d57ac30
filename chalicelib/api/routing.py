"""Answers for requests no handler takes: 405 problem+json for a known path with another method."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chalice import Chalice

from chalicelib.api.http import method_not_allowed

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
NOT_ALLOWED = "not_allowed_"  # the view name of every 405 placeholder starts with this


def allowed_methods(views: Mapping[str, Any]) -> list[str]:
    """The methods a path really serves, from its `app.routes[path]` (405 placeholders left out)."""
    return sorted(method for method, entry in views.items() if not entry.view_name.startswith(NOT_ALLOWED))


def add_method_not_allowed(app: Chalice) -> None:
    """Register, for every path, the methods it lacks, answering 405 with an `Allow` header."""
    for path, views in list(app.routes.items()):
        allowed = allowed_methods(views)
        missing = [m for m in METHODS if m not in views]
        if missing:
            app.route(
                path, methods=missing, content_types=["*/*"], name=f"{NOT_ALLOWED}{len(app.routes)}_{path}"
            )(method_not_allowed(allowed, lambda: app.current_request))
