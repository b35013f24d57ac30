"""Answers for requests no handler takes: 405 problem+json for a known path with another method."""

from __future__ import annotations

from chalice import Chalice

from chalicelib.api.http import method_not_allowed

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def add_method_not_allowed(app: Chalice) -> None:
    """Register, for every path, the methods it lacks, answering 405 with an `Allow` header."""
    for path, views in list(app.routes.items()):
        allowed = sorted(views)
        missing = [m for m in METHODS if m not in views]
        if missing:
            app.route(
                path, methods=missing, content_types=["*/*"], name=f"not_allowed_{len(app.routes)}_{path}"
            )(method_not_allowed(allowed, lambda: app.current_request))
