"""Settings read from the environment once, when the services are first built (never at import)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import timedelta


@dataclass(frozen=True)
class Settings:
    stage: str
    table_name: str
    bus_name: str
    max_body_bytes: int
    horizon: timedelta
    conflict_horizon: timedelta
    # The lifecycle state machine; empty means "no runs" (tests and tools that only manage the calendar).
    state_machine_arn: str = ""
    # Runs start when an event's provision time is this close (docs/lifecycle.md, "The run window").
    run_window: timedelta = timedelta(days=7)
    # Room recorders (docs/recorders.md): the bucket, the digest secret (empty: created once in the
    # table), the URLs the service registry hands out (empty: this request's own base URL), and deadlines.
    recordings_bucket: str = "onair-local-recordings"
    agent_secret: str = ""
    agent_base_url: str = ""
    ingest_url: str = ""
    max_ingest_bytes: int = 1024**3
    agent_silence: timedelta = timedelta(minutes=10)
    agent_risk_lead: timedelta = timedelta(minutes=15)
    agent_start_grace: timedelta = timedelta(minutes=5)
    download_url_seconds: int = 3600
    # Nothing stuck (docs/lifecycle.md, "Deadlines"): how long past its end an unsettled event waits for
    # its run before the deadlines job settles it, and how long a manual-end event may run over.
    lifecycle_grace: timedelta = timedelta(minutes=10)
    manual_overrun: timedelta = timedelta(minutes=60)
    # How long audit items are kept (DynamoDB TTL).
    audit_retention: timedelta = timedelta(days=400)
    # Webhooks (chalicelib/adapters/netguard.py): https only outside local and test stages; loopback and
    # private addresses only when ONAIR_WEBHOOK_ALLOW_PRIVATE=true (the local stage's default).
    webhook_https_only: bool = True
    webhook_allow_private: bool = False
    # Timetable imports (docs/imports.md): where files go, the job's function (empty: run in-process),
    # the largest file, and how many channels an apply writes side by side.
    imports_bucket: str = "onair-local-imports"
    import_function: str = ""
    max_import_bytes: int = 20 * 1024**2
    import_workers: int = 4

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if env is None else env)
        stage = env.get("ONAIR_STAGE", "local")
        return cls(
            stage=stage,
            table_name=env.get("ONAIR_TABLE", f"onair-{stage}-main"),
            bus_name=env.get("ONAIR_BUS", f"onair-{stage}"),
            max_body_bytes=int(env.get("ONAIR_MAX_BODY_BYTES", str(256 * 1024))),
            horizon=timedelta(days=float(env.get("ONAIR_HORIZON_DAYS", "30"))),
            conflict_horizon=timedelta(days=float(env.get("ONAIR_CONFLICT_HORIZON_DAYS", "365"))),
            state_machine_arn=env.get("ONAIR_STATE_MACHINE_ARN", ""),
            run_window=timedelta(days=float(env.get("ONAIR_RUN_WINDOW_DAYS", "7"))),
            recordings_bucket=env.get("ONAIR_RECORDINGS_BUCKET", f"onair-{stage}-recordings"),
            agent_secret=env.get("ONAIR_AGENT_SECRET", ""),
            agent_base_url=env.get("ONAIR_AGENT_BASE_URL", "").rstrip("/"),
            ingest_url=env.get("ONAIR_INGEST_URL", "").rstrip("/"),
            max_ingest_bytes=int(env.get("ONAIR_MAX_INGEST_BYTES", str(1024**3))),
            agent_silence=timedelta(seconds=float(env.get("ONAIR_AGENT_SILENCE_SECONDS", "600"))),
            agent_risk_lead=timedelta(seconds=float(env.get("ONAIR_AGENT_RISK_LEAD_SECONDS", "900"))),
            agent_start_grace=timedelta(seconds=float(env.get("ONAIR_AGENT_START_GRACE_SECONDS", "300"))),
            download_url_seconds=int(env.get("ONAIR_DOWNLOAD_URL_SECONDS", "3600")),
            lifecycle_grace=timedelta(minutes=float(env.get("ONAIR_LIFECYCLE_GRACE_MINUTES", "10"))),
            manual_overrun=timedelta(minutes=float(env.get("ONAIR_MANUAL_OVERRUN_MINUTES", "60"))),
            audit_retention=timedelta(days=float(env.get("ONAIR_AUDIT_RETENTION_DAYS", "400"))),
            webhook_https_only=stage not in ("local", "test"),
            webhook_allow_private=env.get("ONAIR_WEBHOOK_ALLOW_PRIVATE", "").lower() == "true",
            imports_bucket=env.get("ONAIR_IMPORTS_BUCKET", f"onair-{stage}-imports"),
            import_function=env.get("ONAIR_IMPORT_FUNCTION", ""),
            max_import_bytes=int(env.get("ONAIR_MAX_IMPORT_BYTES", str(20 * 1024**2))),
            import_workers=int(env.get("ONAIR_IMPORT_WORKERS", "4")),
        )
