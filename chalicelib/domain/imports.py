"""Timetable imports: what a client asks for, the stored import, and its per-row results (docs/imports.md).

Light on purpose (the API imports it): parsing is `chalicelib.domain.timetable`, planning
`chalicelib.domain.import_plan`.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, StringConstraints, model_validator

from chalicelib.domain.errors import ValidationFailed
from chalicelib.domain.inputs import Bool, Label, Strict
from chalicelib.domain.models import Record
from chalicelib.domain.time import Instant

MAX_INLINE_CHARS = 262_144  # the API's body limit bounds it anyway
ACTIONS = ("create", "update", "cancel", "unchanged", "error", "drift")
STATUSES = ("awaiting_upload", "queued", "planning", "planned", "applying", "applied", "failed")
# A job may pick up an import in these states (a queued one, or one whose runner stopped or handed over).
RUNNABLE = ("queued", "planning", "applying")
# How long a runner holds an import between two checkpoints: longer than a Lambda can run, so a runner that
# died lets go by itself, and an import not saved for this long has no runner left.
LEASE = timedelta(minutes=16)

SourceName = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,47}$"),
    Field(
        description="names the timetable: rows are keyed by external_id within it (1-48 of A-Z a-z 0-9 . _ -)"
    ),
]


class ScopeIn(Strict):
    """Which bookings of the source an import manages: only these are ever cancelled when rows go."""

    model_config = ConfigDict(populate_by_name=True)

    from_: Instant | None = Field(default=None, alias="from", description="bookings starting at or after")
    to: Instant | None = Field(default=None, description="bookings starting before")
    channel_ids: list[Label] | None = Field(default=None, max_length=1000, description="only these channels")

    @model_validator(mode="after")
    def _window(self) -> ScopeIn:
        if self.from_ is not None and self.to is not None and self.to <= self.from_:
            raise ValidationFailed.one("/scope/to", "must be after `from`")
        return self

    def holds(self, channel_id: str, start: datetime) -> bool:
        """Whether a booking on `channel_id` starting at `start` (a series: its first occurrence) is in it."""
        return (
            (self.channel_ids is None or channel_id in self.channel_ids)
            and (self.from_ is None or start >= self.from_)
            and (self.to is None or start < self.to)
        )


class ImportIn(Strict):
    source: SourceName
    format: Literal["csv", "ics", "json"]
    content: (
        Annotated[str, StringConstraints(max_length=MAX_INLINE_CHARS)] | list[Any] | dict[str, Any] | None
    ) = Field(default=None, description="the timetable itself (JSON may also be given as an array of rows)")
    upload: Bool = Field(default=False, description="true: answer with an upload_url to PUT the file to")
    scope: ScopeIn = Field(default_factory=ScopeIn)
    dry_run: Bool = Field(default=False, description="plan only: write nothing")
    overwrite_local_edits: Bool = Field(
        default=False,
        description="bring bookings changed in onair since the last import back to the timetable",
    )

    @model_validator(mode="after")
    def _content_or_upload(self) -> ImportIn:
        if (self.content is None) == (not self.upload):
            raise ValidationFailed.one("/content", "give `content`, or `upload: true` and PUT the file")
        if self.content is not None and not isinstance(self.content, str) and self.format != "json":
            raise ValidationFailed.one("/content", f"must be a string of {self.format.upper()} text")
        return self


class Import(Record):
    """A stored import. `status` moves awaiting_upload → queued → planning → planned (dry run) or applying →
    applied; `failed` when the file itself cannot be read (see `errors`)."""

    source: str
    format: str
    scope: dict[str, Any] = Field(default_factory=dict)
    dry_run: bool = False
    overwrite_local_edits: bool = False
    upload: bool = False
    status: str = "queued"
    actor: str = ""  # the key that started it (its name), for the record
    size: int | None = None
    rows: int | None = None
    done: int = 0
    total: int | None = None
    counts: dict[str, int] = Field(default_factory=lambda: dict.fromkeys(ACTIONS, 0))
    errors: list[dict[str, Any]] = Field(default_factory=list)
    started_at: Instant | None = None
    finished_at: Instant | None = None

    def scope_in(self) -> ScopeIn:
        return ScopeIn.model_validate(self.scope)


class RowResult(Strict):
    """One row's outcome (or a cancelled booking's, whose row is gone: `row` null)."""

    model_config = ConfigDict(extra="ignore")

    row: int | None = None
    line: int | None = None
    external_id: str
    kind: Literal["event", "series"] | None = None
    action: Literal["create", "update", "cancel", "unchanged", "error", "drift"]
    state: Literal["planned", "done"] = "done"
    event_id: str | None = None
    schedule_id: str | None = None
    errors: list[dict[str, str]] = Field(default_factory=list)
    conflicts: list[dict[str, Any]] = Field(default_factory=list)
    suggestion: dict[str, str] | None = None
    detail: str | None = None
