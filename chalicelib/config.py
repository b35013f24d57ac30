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
    # Webhooks (chalicelib/adapters/netguard.py): https only outside local and test stages; loopback and
    # private addresses only when ONAIR_WEBHOOK_ALLOW_PRIVATE=true (the local stage's default).
    webhook_https_only: bool = True
    webhook_allow_private: bool = False

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
            webhook_https_only=stage not in ("local", "test"),
            webhook_allow_private=env.get("ONAIR_WEBHOOK_ALLOW_PRIVATE", "").lower() == "true",
        )
