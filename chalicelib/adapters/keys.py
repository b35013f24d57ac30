"""Key builders for the main table. The tenant is part of every key (docs/dynamodb.md lists them all)."""

from __future__ import annotations

import hashlib
from datetime import datetime

from chalicelib.domain.time import format_instant

TENANTS_PK = "TENANTS"


def collection(tenant_id: str, kind: str) -> str:
    """Partition holding one tenant's records of one kind (`CHANNEL`, `SOURCE`, `EVENT`, `KEY`...)."""
    return f"T#{tenant_id}#{kind}"


def key_hash_pk(key_hash: str) -> str:
    """Partition of the auth lookup item for an API key's SHA-256."""
    return f"KEYHASH#{key_hash}"


def external_id_pk(tenant_id: str) -> str:
    """Partition of the uniqueness guards for events' `external_id`."""
    return f"T#{tenant_id}#EXTID"


def idempotency_pk(tenant_id: str) -> str:
    return f"T#{tenant_id}#IDEM"


def events_of_tenant(tenant_id: str) -> str:
    return f"T#{tenant_id}#EV"


def events_of_channel(tenant_id: str, channel_id: str) -> str:
    return f"T#{tenant_id}#CH#{channel_id}"


def series_of_channel(tenant_id: str, channel_id: str) -> str:
    """A channel's schedules, in the `channel_by_start` index beside (not among) its events."""
    return f"T#{tenant_id}#CHSER#{channel_id}"


def schedules_of_calendar(tenant_id: str, calendar_id: str) -> str:
    """The schedules that follow a term calendar, in the `ref_by_start` index beside events with a ref."""
    return f"T#{tenant_id}#CAL#{calendar_id}"


def events_of_schedule(tenant_id: str, schedule_id: str) -> str:
    return f"T#{tenant_id}#SCH#{schedule_id}"


def events_with_ref(tenant_id: str, ref_id: str) -> str:
    return f"T#{tenant_id}#REF#{ref_id}"


def deleted_events(tenant_id: str) -> str:
    return f"T#{tenant_id}#DEL"


def at(instant: datetime, record_id: str) -> str:
    """A sort key that orders by instant, then id (unique even when instants tie)."""
    return f"{format_instant(instant)}#{record_id}"


def before(instant: datetime) -> str:
    """Sorts before every `at(instant, id)`."""
    return f"{format_instant(instant)}#"


def after(instant: datetime) -> str:
    """Sorts after every `at(instant, id)` ('$' follows '#')."""
    return f"{format_instant(instant)}$"


# Global secondary indexes: name -> (partition attribute, sort attribute). infra/template.yaml defines them.
INDEXES = {
    "by_start": ("g1pk", "g1sk"),  # a tenant's events by start
    "channel_by_start": ("g2pk", "g2sk"),
    "schedule_by_start": ("g3pk", "g3sk"),
    "ref_by_start": ("g4pk", "g4sk"),
    "deleted_by_start": ("g5pk", "g5sk"),
    "due": ("g6pk", "g6sk"),  # schedules by the instant their next occurrence must be materialised
    "run_due": ("g7pk", "g7sk"),  # events whose lifecycle run starts later, by provision time
}

DUE_PK = "DUE"
RUN_DUE_PK = "RUNDUE"
OPEN_SHARDS = 4  # events not yet settled, spread over a few partitions of the `run_due` index


def open_events(shard: int) -> str:
    """A partition of the events whose lifecycle has not ended, by end (the deadlines job reads them)."""
    return f"OPEN#{shard}"


def open_shard(event_id: str) -> int:
    """The open-events partition an event belongs to (stable: a hash of its id)."""
    return int(hashlib.sha1(event_id.encode()).hexdigest()[:8], 16) % OPEN_SHARDS


def history_pk(tenant_id: str, event_id: str) -> str:
    """Partition of one event's lifecycle history (one item per transition, sorted by time)."""
    return f"T#{tenant_id}#HIST#{event_id}"


def run_marker_pk(tenant_id: str) -> str:
    """Partition of the markers of events whose run is not started yet (outside the run window)."""
    return f"T#{tenant_id}#RUN"


def audit_pk(tenant_id: str) -> str:
    """Partition of a tenant's audit trail (newest last; read newest first)."""
    return f"T#{tenant_id}#AUDIT"


def audit_resource_pk(tenant_id: str, resource_id: str) -> str:
    """One resource's audit trail, in the overloaded `schedule_by_start` index."""
    return f"T#{tenant_id}#AUDR#{resource_id}"
