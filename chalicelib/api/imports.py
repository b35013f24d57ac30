"""Timetable imports: plan and apply a term's timetable (CSV, iCalendar or JSON), follow its progress."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from chalice import Blueprint
from pydantic import Field, field_validator

from chalicelib import bootstrap
from chalicelib.api.http import Call, Reply, endpoint
from chalicelib.api.schemas import Out, PageQuery, Query
from chalicelib.domain.imports import ACTIONS, ImportIn, RowResult
from chalicelib.domain.models import Model, Scope
from chalicelib.domain.time import Instant
from chalicelib.services.common import etag

if TYPE_CHECKING:
    from chalicelib.domain.imports import Import

bp = Blueprint(__name__)


class Progress(Model):
    done: int = Field(description="rows finished (planned, in a dry run)")
    total: int | None = Field(description="rows in all, once the file is read")


class ImportOut(Out):
    source: str
    format: Literal["csv", "ics", "json"]
    status: Literal["awaiting_upload", "queued", "planning", "planned", "applying", "applied", "failed"]
    dry_run: bool
    overwrite_local_edits: bool
    scope: dict[str, Any]
    counts: dict[str, int] = Field(
        description="create, update, cancel, unchanged, error, drift (and `conflict`: rows that overlap)"
    )
    progress: Progress
    errors: list[dict[str, Any]] = Field(
        description="why the file as a whole could not be used (status failed)"
    )
    size: int | None = Field(description="bytes of the file")
    started_at: Instant | None
    finished_at: Instant | None
    upload_url: str | None = Field(default=None, description="PUT the file here, then POST .../start")
    results: list[RowResult] | None = Field(default=None, description="a page of row results, in row order")
    next_cursor: str | None = Field(default=None, description="the next page of `results`")

    @classmethod
    def of(cls, record: Import, **extra: Any) -> ImportOut:
        return cls.model_validate(
            {
                **record.model_dump(),
                "progress": Progress(done=record.done, total=record.total),
                **extra,
            }
        )


class ImportList(Model):
    items: list[ImportOut]
    next_cursor: str | None


class ImportQuery(Query):
    limit: int = Field(default=100, ge=1, le=500, description="row results per page")
    cursor: str | None = Field(default=None, max_length=20)
    action: str | None = Field(
        default=None, description="only these actions, comma-separated (e.g. error,drift)"
    )

    @field_validator("action")
    @classmethod
    def _actions(cls, value: str | None) -> str | None:
        for part in (value or "").split(","):
            if value is not None and part.strip() not in ACTIONS:
                raise ValueError(f"{part.strip()!r} is not an action; use {', '.join(ACTIONS)}")
        return value

    def actions(self) -> frozenset[str]:
        return frozenset(p.strip() for p in self.action.split(",")) if self.action else frozenset()


@endpoint(
    bp,
    "/v1/imports",
    "POST",
    scope=Scope.WRITE,
    tag="Imports",
    summary="Import a timetable",
    body=ImportIn,
    response=ImportOut,
    status=202,
    errors=(400, 422),
    description="Plans the timetable against what earlier imports of the same `source` booked, then applies "
    "it (unless `dry_run`), in the background: follow it with GET. `upload: true` answers with an "
    "`upload_url` for files over the body limit: PUT the file there, then POST /v1/imports/{id}/start.",
)
def create_import(call: Call) -> Reply:
    record, upload_url = bootstrap.services().imports.create(call.principal, call.body, call.now)
    return Reply(ImportOut.of(record, upload_url=upload_url), 202, etag(record))


@endpoint(
    bp,
    "/v1/imports",
    "GET",
    scope=Scope.READ,
    tag="Imports",
    summary="List imports",
    query=PageQuery,
    response=ImportList,
    description="Newest first, without row results.",
)
def list_imports(call: Call) -> Reply:
    items, cursor = bootstrap.services().imports.list(call.principal, call.query.limit, call.query.cursor)
    return Reply(ImportList(items=[ImportOut.of(i) for i in items], next_cursor=cursor))


@endpoint(
    bp,
    "/v1/imports/{import_id}",
    "GET",
    scope=Scope.READ,
    tag="Imports",
    summary="An import's status, counts and row results",
    query=ImportQuery,
    response=ImportOut,
    errors=(404,),
    description="`results` is a page of per-row outcomes in row order (cancelled bookings whose rows are "
    "gone come last, with `row: null`); `next_cursor` continues it, `action` filters it.",
)
def get_import(call: Call) -> Reply:
    imports = bootstrap.services().imports
    q: ImportQuery = call.query
    record = imports.get(call.principal, call.path["import_id"])
    rows, cursor = imports.results(record, q.cursor, q.limit, q.actions())
    results = [RowResult.model_validate(r) for r in rows]
    return Reply(ImportOut.of(record, results=results, next_cursor=cursor), etag=etag(record))


@endpoint(
    bp,
    "/v1/imports/{import_id}/start",
    "POST",
    scope=Scope.WRITE,
    tag="Imports",
    summary="Start an uploaded import",
    response=ImportOut,
    status=202,
    errors=(404, 409, 422),
    description="After the file was PUT to the import's `upload_url`.",
)
def start_import(call: Call) -> Reply:
    record = bootstrap.services().imports.start(call.principal, call.path["import_id"], call.now)
    return Reply(ImportOut.of(record), 202, etag(record))


@endpoint(
    bp,
    "/v1/imports/{import_id}/apply",
    "POST",
    scope=Scope.WRITE,
    tag="Imports",
    summary="Apply a planned import",
    response=ImportOut,
    status=202,
    errors=(404, 409),
    description="Applies a dry run (planned again against what is booked now), or takes up a failed import "
    "where it stopped. Two concurrent calls: one is accepted, the other is 409.",
)
def apply_import(call: Call) -> Reply:
    record = bootstrap.services().imports.apply(call.principal, call.path["import_id"], call.now)
    return Reply(ImportOut.of(record), 202, etag(record))
