"""The domain's error hierarchy; `chalicelib.api.errors` maps each class to HTTP."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class FieldError:
    """One bad field: a JSON Pointer into the request body (or `/query/<name>`) and why."""

    pointer: str
    detail: str


class DomainError(Exception):
    """Base of every error the domain and services raise on purpose."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class ValidationFailed(DomainError):
    """Input is well-formed JSON but breaks a rule; one `FieldError` per bad field (422)."""

    def __init__(self, errors: list[FieldError], detail: str = "The request has invalid fields.") -> None:
        super().__init__(detail)
        self.errors = errors

    @classmethod
    def one(cls, pointer: str, detail: str) -> ValidationFailed:
        return cls([FieldError(pointer, detail)])


class MalformedRequest(DomainError):
    """The body is not JSON, or not of an accepted content type (400)."""


class PayloadTooLarge(DomainError):
    """The body exceeds the configured size limit (413)."""


class Unauthenticated(DomainError):
    """No API key, or one that is unknown or revoked (401)."""


class AgentUnauthenticated(Unauthenticated):
    """A room recorder's digest credentials are missing or wrong (401 with a fresh digest challenge)."""

    def __init__(self, detail: str, challenge: str) -> None:
        super().__init__(detail)
        self.challenge = challenge


class Forbidden(DomainError):
    """The key lacks the scope the route needs (403)."""


class NotFound(DomainError):
    """The record does not exist in the caller's tenant (404; other tenants' records too)."""


class Conflict(DomainError):
    """A state conflict (409): duplicate external_id, channel busy, invalid transition."""

    def __init__(self, detail: str, extra: dict[str, Any] | None = None) -> None:
        super().__init__(detail)
        self.extra = extra or {}


@dataclass
class BookingConflict(DomainError):
    """The requested booking overlaps others on its channel (409 with `conflicts`)."""

    conflicts: list[dict[str, Any]] = field(default_factory=list)
    suggestion: dict[str, str] | None = None
    detail: str = "The booking overlaps other bookings on this channel."

    def __post_init__(self) -> None:
        DomainError.__init__(self, self.detail)


class PreconditionFailed(DomainError):
    """`If-Match` does not match the record's current ETag (412)."""


class IdempotencyKeyReused(ValidationFailed):
    """The same Idempotency-Key was sent with a different body (422)."""

    def __init__(self) -> None:
        super().__init__(
            [FieldError("/header/Idempotency-Key", "was already used with a different request body")],
            "Idempotency-Key reused with a different request.",
        )


class StaleWrite(Conflict):
    """The record changed or vanished since it was read (optimistic write lost); 409 if it escapes."""

    def __init__(self, detail: str = "The record was changed by another request; retry.") -> None:
        super().__init__(detail)


class AlreadyExists(Conflict):
    """A create found its deterministic id taken (idempotent writers treat it as done)."""


class BookingRaced(StaleWrite):
    """Another booking on the channel was written between the overlap check and this write; check again."""

    def __init__(self) -> None:
        super().__init__("Another booking on this channel was written at the same time; retry.")


class ExternalIdTaken(Conflict):
    """Another event already has this `external_id` (409 with a pointer to it)."""

    def __init__(self) -> None:
        super().__init__(
            "Another event already has this external_id.",
            {"errors": [{"pointer": "/external_id", "detail": "is already used"}]},
        )
