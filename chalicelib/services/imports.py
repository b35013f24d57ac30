"""Timetable imports, the use cases: start one (inline content or an upload), follow it, apply a dry run.

The work itself is the import job (`chalicelib.services.import_job`), started in the background through
`start_job` (deployed: an asynchronous Lambda invocation; in tests and tools without a function: in-process).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from datetime import datetime
from typing import Any

from chalicelib.adapters.imports import RESULTS_PER_PAGE, ImportStore
from chalicelib.adapters.uploads import UploadStore, upload_key
from chalicelib.domain.errors import Conflict, NotFound, StaleWrite, ValidationFailed
from chalicelib.domain.ids import new_id
from chalicelib.domain.imports import LEASE, RUNNABLE, Import, ImportIn
from chalicelib.domain.models import Principal

StartJob = Callable[[dict[str, Any]], None]


class ImportService:
    def __init__(
        self,
        store: ImportStore,
        uploads: UploadStore,
        start_job: StartJob,
        max_bytes: int,
        upload_url_seconds: int = 3600,
    ) -> None:
        self.store = store
        self.uploads = uploads
        self.start_job = start_job
        self.max_bytes = max_bytes
        self.upload_url_seconds = upload_url_seconds

    # -- reads ----------------------------------------------------------------------------------------

    def get(self, principal: Principal, import_id: str) -> Import:
        record = self.store.get(principal.tenant_id, import_id)
        if record is None:
            raise NotFound(f"No import {import_id}.")
        return record

    def list(self, principal: Principal, limit: int, cursor: str | None) -> tuple[list[Import], str | None]:
        return self.store.list(principal.tenant_id, limit, cursor)

    def results(
        self, record: Import, cursor: str | None, limit: int, actions: frozenset[str] = frozenset()
    ) -> tuple[list[dict[str, Any]], str | None]:
        """A page of row results in row order (cancels of rows that are gone come last): one Query.

        `cursor` is where the page starts; with `actions`, only those results are listed (a page may then
        hold fewer than `limit`, and still have a next one).
        """
        total = record.total or 0
        start = 0
        if cursor is not None:
            if not cursor.isdigit() or int(cursor) >= max(total, 1):
                raise ValidationFailed.one("/query/cursor", "is not a cursor this listing returned")
            start = int(cursor)
        if total == 0:
            return [], None
        first, skip = divmod(start, RESULTS_PER_PAGE)
        pages = math.ceil((skip + limit) / RESULTS_PER_PAGE)
        rows = [r for page in self.store.results(record.tenant_id, record.id, first, pages) for r in page]
        window = rows[skip : skip + limit]
        end = start + len(window)
        chosen = [r for r in window if not actions or r.get("action") in actions]
        return chosen, (str(end) if end < total and window else None)

    # -- writes ---------------------------------------------------------------------------------------

    def create(self, principal: Principal, body: ImportIn, now: datetime) -> tuple[Import, str | None]:
        """A new import: with inline content, stored and started at once; with `upload`, an upload URL."""
        record = Import(
            id=new_id("imp", now),
            tenant_id=principal.tenant_id,
            created_at=now,
            updated_at=now,
            source=body.source,
            format=body.format,
            scope=body.scope.model_dump(mode="json", by_alias=True, exclude_none=True),
            dry_run=body.dry_run,
            overwrite_local_edits=body.overwrite_local_edits,
            upload=body.upload,
            status="awaiting_upload" if body.upload else "queued",
            actor=principal.name,
        )
        key = upload_key(record.tenant_id, record.id)
        if body.upload:
            self.store.create(record)
            return record, self.uploads.upload_url(key, self.upload_url_seconds)
        content = body.content if isinstance(body.content, str) else json.dumps(body.content)
        data = content.encode()
        from chalicelib.domain.timetable import parse  # the parsers load on first use (cold start)

        parse(body.format, data)  # a file that cannot be read at all is refused now, with its reason
        self.uploads.put(key, data)
        record = record.model_copy(update={"size": len(data)})
        self.store.create(record)
        return self._started(record), None

    def start(self, principal: Principal, import_id: str, now: datetime) -> Import:
        """The file is uploaded: plan it (and apply it, unless a dry run)."""
        record = self.get(principal, import_id)
        if record.status != "awaiting_upload":
            raise Conflict(f"The import is {record.status}; only one awaiting its upload can be started.")
        size = self.uploads.size(upload_key(record.tenant_id, record.id))
        if size is None:
            raise ValidationFailed.one(
                "/upload_url", "nothing was uploaded yet: PUT the file to upload_url first"
            )
        if size > self.max_bytes:
            raise ValidationFailed.one(
                "/upload_url", f"the file is {size} bytes; the limit is {self.max_bytes}"
            )
        queued = record.model_copy(
            update={"status": "queued", "size": size, "updated_at": now, "version": record.version + 1}
        )
        self._move(queued, ("awaiting_upload",))
        return self._started(queued)

    def apply(self, principal: Principal, import_id: str, now: datetime) -> Import:
        """Apply a planned dry run (or try a failed import again). Exactly one of two concurrent calls wins;
        the other is told the import is already under way (409). An import whose runner stopped (nothing
        saved for a lease: its Lambda gave up, or the local stack was stopped) goes on from its last
        checkpoint."""
        record = self.get(principal, import_id)
        if record.status in RUNNABLE and now - record.updated_at > LEASE:
            return self._started(record)  # the job's lease lets one run in, however many ask
        if record.status not in ("planned", "failed"):
            raise Conflict(
                f"The import is {record.status}; only a planned (dry run) or failed one can be applied."
            )
        queued = record.model_copy(
            update={
                "status": "queued",
                "dry_run": False,
                "errors": [],
                "finished_at": None,
                "updated_at": now,
                "version": record.version + 1,
                "actor": principal.name,
            }
        )
        self._move(queued, (record.status,))
        return self._started(queued)

    # -- internals ------------------------------------------------------------------------------------

    def _move(self, record: Import, expected: tuple[str, ...]) -> None:
        try:
            self.store.move(record, expected)
        except StaleWrite:
            raise Conflict("The import is already under way.") from None

    def _started(self, record: Import) -> Import:
        """Hand the import to the job, then answer with it as it is now (a job run in-process is done)."""
        self.start_job({"tenant_id": record.tenant_id, "import_id": record.id})
        return self.store.get(record.tenant_id, record.id) or record
