"""The whole local stack in one process: emulator, tables and bus, operator key, API server, clock.

`make run` starts it from the environment (`Options.from_env`: a fixed emulator port, data kept in
`.onair-data/`); tests and benchmarks build `Options` themselves (by default: free ports, data in memory).
"""

from __future__ import annotations

import errno
import gc
import logging
import os
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PROJECT = Path(__file__).resolve().parent.parent
EMULATOR_PORT = 4566  # the port AWS emulators customarily use; ONAIR_EMULATOR_PORT moves it
DATA_DIR = ".onair-data"
STOP_WAIT_SECONDS = 5.0  # how long a stop waits for a DynamoDB call in progress before it gives up on it

log = logging.getLogger("onair.local")


class StartupError(Exception):
    """The stack cannot start for a reason the user can fix; the message says how (one line)."""


def _number(env: dict[str, str], name: str, default: str, kind: type = int) -> Any:
    raw = env.get(name, default)
    try:
        return kind(raw)
    except ValueError:
        raise StartupError(f"{name}={raw!r} is not a number") from None


@dataclass
class Options:
    port: int = 8000
    host: str = "127.0.0.1"
    api_key: str | None = None
    tick_seconds: float = 10.0
    emulator_port: int = 0  # 0: any free port
    data_dir: Path | None = None  # None: data lives in memory only
    fresh: bool = False  # forget what data_dir holds

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Options:
        env = dict(os.environ if env is None else env)
        data_dir = env.get("ONAIR_DATA_DIR", DATA_DIR)
        return cls(
            port=_number(env, "PORT", "8000"),
            api_key=env.get("ONAIR_API_KEY") or None,
            tick_seconds=_number(env, "ONAIR_TICK_SECONDS", "10", float),
            emulator_port=_number(env, "ONAIR_EMULATOR_PORT", str(EMULATOR_PORT)),
            data_dir=Path(data_dir).resolve() if data_dir else None,
            fresh=env.get("ONAIR_FRESH", "").lower() in ("1", "true", "yes"),
        )


def in_background(handle: Callable[[dict[str, Any]], Any]) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """A Lambda handler invoked asynchronously (InvocationType=Event): it runs on a thread of its own."""

    def start(payload: dict[str, Any]) -> dict[str, Any]:
        threading.Thread(target=handle, args=(payload,), name="onair-import", daemon=True).start()
        return {"accepted": True}

    return start


def _bind(what: str, port: int, variable: str, bind: Any) -> Any:
    """Run `bind()`; a port that cannot be had becomes a StartupError naming the variable that moves it."""
    try:
        return bind()
    except OSError as error:
        if error.errno == errno.EADDRINUSE:
            reason = f"port {port} is already in use (another onair, or another emulator?)"
        elif error.errno == errno.EACCES:
            reason = f"not allowed to listen on port {port}"
        else:
            reason = f"cannot listen on port {port} ({error.strerror})"
        raise StartupError(f"{what}: {reason}; set {variable} to another port (0 picks a free one)") from None


class LocalStack:
    """Start and stop everything `make run` runs."""

    def __init__(self, options: Options) -> None:
        self.options = options
        self.api_key = options.api_key or ""
        self.url = f"http://{options.host}:{options.port}"
        self.data: Any = None
        self.restored: Any = None
        self.resumed: dict[str, int] = {}
        self._threads: list[threading.Thread] = []
        self._stopped = False

    def start(self) -> None:
        from chalice.cli.factory import CLIFactory

        from app import app
        from chalicelib.config import Settings
        from local.emulator import Emulator
        from local.gateway import create_server

        options = self.options
        self._open_data()
        if not self.api_key:
            self.api_key = self.data.operator_key() if self.data else "onair_" + secrets.token_urlsafe(24)
        config = CLIFactory(str(PROJECT), environ=dict(os.environ)).create_config_obj(
            chalice_stage_name="local"
        )
        # Both ports are taken before anything else happens, so a busy one fails at once.
        settings = Settings.from_env()
        self.server = _bind(
            "API",
            options.port,
            "PORT",
            lambda: create_server(
                app, config, options.host, options.port, settings.max_body_bytes, settings.max_ingest_bytes
            ),
        )
        self.url = f"http://{options.host}:{self.server.server.server_address[1]}"
        self.emulator = Emulator(options.host, options.emulator_port)
        _bind("AWS emulator", options.emulator_port, "ONAIR_EMULATOR_PORT", self.emulator.start)
        os.environ.update(config.environment_variables)
        self._create_resources()
        self._restore_data()

        from chalicelib import bootstrap
        from chalicelib.jobs.scheduled import tick
        from local.clock import LocalClock

        bootstrap.override(None)
        services = bootstrap.services()
        services.tenancy.bootstrap_operator(self.api_key, services.clock())
        if self.restored is not None and self.restored.last_seen is not None:
            from local.resume import resume_runs

            self.resumed = resume_runs(services, services.clock(), self.restored.last_seen)
        serve = threading.Thread(target=self.server.server.serve_forever, name="onair-api", daemon=True)
        serve.start()
        self.clock = LocalClock(tick, options.tick_seconds)
        self.clock.start()
        self._threads = [serve, self.clock]
        settle_heap()

    def _open_data(self) -> None:
        if self.options.data_dir is None:
            return
        from local.persistence import DataDir, DataDirBusy

        self.data = DataDir(self.options.data_dir)
        try:
            self.data.lock()
        except DataDirBusy as busy:
            raise StartupError(
                f"{self.options.data_dir} is in use by another onair ({busy}); stop it, "
                "or set ONAIR_DATA_DIR to another directory"
            ) from None
        except OSError as error:
            raise StartupError(f"cannot use {self.options.data_dir}: {error.strerror}") from None
        if self.options.fresh:
            self.data.clear()

    def _create_resources(self) -> None:
        from chalicelib.adapters import aws
        from chalicelib.config import Settings
        from chalicelib.jobs import imports, tasks
        from local import lambda_bridge, priority
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
        lambda_bridge.route(lifecycle["function_arn"], priority.step(tasks.handle))
        # Timetable imports: their bucket, and their Lambda, invoked asynchronously (as in AWS: the bridge
        # answers at once and the job runs on its own thread).
        create_imports_bucket(Settings.from_env().imports_bucket, aws.client("s3"))
        os.environ["ONAIR_IMPORT_FUNCTION"] = create_import_function(
            stage, aws.client("iam"), aws.client("lambda")
        )
        lambda_bridge.route(os.environ["ONAIR_IMPORT_FUNCTION"], in_background(imports.handle))

    def _restore_data(self) -> None:
        """Load what the data directory holds, then compact it and journal every write from now on."""
        if self.data is None:
            return
        from local.emulator import attach_journal

        try:
            self.restored = self.data.restore(self.emulator.dispatch)
        except (ValueError, KeyError) as error:
            raise StartupError(
                f"cannot read the data in {self.data.path} ({type(error).__name__}: {error}); "
                "start empty with ONAIR_FRESH=1 (make run FRESH=1)"
            ) from None
        self.data.compact()
        attach_journal(self.data)

    @property
    def data_summary(self) -> str:
        """One line on where the data lives and what was restored."""
        if self.data is None:
            return "data lives in memory and is gone when this stops"
        restored = self.restored
        where = _shown(self.data.path)
        if restored is None or restored.last_seen is None:
            return f"data is kept in {where} (empty)"
        runs = self.resumed.get("started", 0)
        return (
            f"data is kept in {where} (restored {restored.items} items and {restored.replayed} "
            f"journalled writes, resumed {runs} runs)"
        )

    def stop(self) -> None:
        """Stop serving, save the data (snapshot), stop the emulator; returns within a few seconds."""
        if self._stopped:
            return
        self._stopped = True
        from local.emulator import attach_journal, writes_paused

        self.clock.stop()
        self.server.server.shutdown()
        self.server.server.server_close()
        self.emulator.stop()
        if self.data is not None:
            with writes_paused(STOP_WAIT_SECONDS) as paused:
                if paused:
                    attach_journal(None)
                    self.data.compact()
                else:  # the journal already holds every acknowledged write; the next start replays it
                    log.warning("a DynamoDB call did not finish; the data is kept in the journal")
            self.data.close()


def settle_heap() -> None:
    """Keep the garbage collector off what start-up built (modules, the restored tables).

    That heap lives as long as the process, yet every full collection walked it again: with a
    10,000-item table, collections paused every thread for up to 0.75 s under load (2.3 s a minute).
    Frozen objects are still freed when nothing refers to them; only reference cycles among them would
    stay, and start-up leaves none that matter. Young objects are collected less often, too: a request
    allocates thousands of short-lived objects and frees them itself.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000, 10, 10)


def _shown(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd())) + "/"
    except ValueError:
        return str(path) + "/"
