"""The whole local stack in one process: emulator, tables and bus, operator key, API server, clock."""

from __future__ import annotations

import os
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PROJECT = Path(__file__).resolve().parent.parent


@dataclass
class Options:
    port: int = 8000
    host: str = "127.0.0.1"
    api_key: str | None = None
    tick_seconds: float = 10.0

    @classmethod
    def from_env(cls) -> Options:
        return cls(
            port=int(os.environ.get("PORT", "8000")),
            api_key=os.environ.get("ONAIR_API_KEY") or None,
            tick_seconds=float(os.environ.get("ONAIR_TICK_SECONDS", "10")),
        )


def in_background(handle: Callable[[dict[str, Any]], Any]) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """A Lambda handler invoked asynchronously (InvocationType=Event): it runs on a thread of its own."""

    def start(payload: dict[str, Any]) -> dict[str, Any]:
        threading.Thread(target=handle, args=(payload,), name="onair-import", daemon=True).start()
        return {"accepted": True}

    return start


class LocalStack:
    """Start and stop everything `make run` runs."""

    def __init__(self, options: Options) -> None:
        self.options = options
        self.api_key = options.api_key or "onair_" + secrets.token_urlsafe(24)
        self.url = f"http://{options.host}:{options.port}"
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        from local import moto_speed
        from local.emulator import Emulator

        self.emulator = Emulator(self.options.host)
        self.emulator.start()
        moto_speed.install()  # transactions and queries cost what they touch (big imports stay usable)

        from chalice.cli.factory import CLIFactory

        config = CLIFactory(str(PROJECT), environ=dict(os.environ)).create_config_obj(
            chalice_stage_name="local"
        )
        os.environ.update(config.environment_variables)

        from chalicelib import bootstrap
        from chalicelib.adapters import aws
        from chalicelib.config import Settings
        from chalicelib.jobs import imports, tasks
        from local import lambda_bridge
        from local.resources import (
            create_all,
            create_import_function,
            create_imports_bucket,
            create_lifecycle,
            create_recordings_bucket,
        )

        aws.reset()
        stage = Settings.from_env().stage
        create_all(stage, aws.client("dynamodb"), aws.client("events"))
        create_recordings_bucket(Settings.from_env().recordings_bucket, aws.client("s3"))
        # The state machine exists before the services are built, so they start runs on it; its task
        # Lambda is a placeholder that the bridge routes to the project's handler in this process.
        lifecycle = create_lifecycle(
            stage,
            aws.client("iam"),
            aws.client("lambda"),
            aws.client("stepfunctions"),
            os.environ.get("ONAIR_LOCAL_RETRY"),
        )
        os.environ["ONAIR_STATE_MACHINE_ARN"] = lifecycle["state_machine_arn"]
        lambda_bridge.route(lifecycle["function_arn"], tasks.handle)
        # Timetable imports: their bucket, and their Lambda, invoked asynchronously (as in AWS: the bridge
        # answers at once and the job runs on its own thread).
        create_imports_bucket(Settings.from_env().imports_bucket, aws.client("s3"))
        os.environ["ONAIR_IMPORT_FUNCTION"] = create_import_function(
            stage, aws.client("iam"), aws.client("lambda")
        )
        lambda_bridge.route(os.environ["ONAIR_IMPORT_FUNCTION"], in_background(imports.handle))
        bootstrap.override(None)
        services = bootstrap.services()
        services.tenancy.bootstrap_operator(self.api_key, services.clock())

        from app import app
        from chalicelib.jobs.scheduled import tick
        from local.clock import LocalClock
        from local.gateway import create_server

        self.server = create_server(app, config, self.options.host, self.options.port)
        self.url = f"http://{self.options.host}:{self.server.server.server_address[1]}"
        serve = threading.Thread(target=self.server.server.serve_forever, name="onair-api", daemon=True)
        serve.start()
        self.clock = LocalClock(tick, self.options.tick_seconds)
        self.clock.start()
        self._threads = [serve, self.clock]

    def stop(self) -> None:
        self.clock.stop()
        self.server.server.shutdown()
        self.server.server.server_close()
        self.emulator.stop()
