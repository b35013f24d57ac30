"""Start `python -m local` (what `make run` runs) in a subprocess: the one helper tests and benchmarks use.

By default the child keeps its data in memory and takes free ports (an API port can be given), so
several stacks, or a stack beside a developer's `make run`, never collide. Its output is drained on a
thread into `output` (a child writing to a full pipe would stop), unless `drain=False` leaves
`process.stdout` to the caller.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BANNER_END = "Docs:"  # the banner's last line starts with this


class StackFailed(RuntimeError):
    """The stack exited or did not finish its banner in time; the message holds its output."""


@dataclass
class StackProcess:
    process: subprocess.Popen
    url: str
    emulator_url: str
    banner: str
    lines: list[str] = field(default_factory=list)

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def output(self) -> str:
        """Everything the stack printed so far (banner included; later lines only when drained)."""
        return "".join(self.lines)

    def rss_bytes(self) -> int:
        """The stack's resident memory now (Linux /proc)."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise RuntimeError("no VmRSS")

    def cpu_seconds(self) -> float:
        """CPU time the stack has used so far, user + system (Linux /proc)."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def terminate(self, timeout: float = 30) -> int:
        """SIGTERM, then wait; returns the exit code (kills it if it does not exit in time)."""
        return self._stop(signal.SIGTERM, timeout)

    def kill(self, timeout: float = 30) -> int:
        """SIGKILL (a crash), then wait for it to be gone."""
        return self._stop(signal.SIGKILL, timeout)

    def _stop(self, signum: int, timeout: float) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signum)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)
            raise

    def wait_for_output(self, text: str, timeout: float) -> bool:
        """Wait until the drained output contains `text`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.output:
                return True
            time.sleep(0.05)
        return text in self.output


def stack_env(port: int, key: str, extra: dict[str, str] | None = None) -> dict[str, str]:
    """The child's environment: in memory, free emulator port, 1 s tick; `extra` overrides any of it."""
    env = {
        **os.environ,
        "PORT": str(port),
        "ONAIR_API_KEY": key,
        "ONAIR_TICK_SECONDS": "1",
        "ONAIR_EMULATOR_PORT": "0",
        "ONAIR_DATA_DIR": "",
    }
    env.pop("AWS_ENDPOINT_URL", None)
    env.pop("ONAIR_FRESH", None)
    env.update(extra or {})
    return env


def start(
    key: str,
    port: int = 0,
    env: dict[str, str] | None = None,
    timeout: float = 90,
    drain: bool = True,
) -> StackProcess:
    """Start a stack and return once it printed its whole banner (StackFailed otherwise)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "local"],
        cwd=ROOT,
        env=stack_env(port, key, env),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    threading.Thread(target=_read, args=(process, lines, not drain), daemon=True).start()
    deadline = time.monotonic() + timeout
    while not any(line.startswith(BANNER_END) for line in lines):
        if process.poll() is not None:
            time.sleep(0.2)  # let the reader catch the last lines
            raise StackFailed("the local stack exited:\n" + "".join(lines))
        if time.monotonic() > deadline:
            process.kill()
            raise StackFailed("the local stack did not start in time:\n" + "".join(lines))
        time.sleep(0.02)
    end = next(i for i, line in enumerate(lines) if line.startswith(BANNER_END)) + 1
    banner = lines[:end]
    url = next(line for line in banner if line.startswith("onair is running at ")).rsplit(" ", 1)[1].strip()
    emulator = next(line for line in banner if line.startswith("AWS emulator")).rsplit(" ", 1)[1].strip()
    return StackProcess(process, url, emulator, "".join(banner), lines)


def _read(process: subprocess.Popen, lines: list[str], banner_only: bool) -> None:
    """Collect the child's output: all of it, or (`banner_only`) up to the banner's last line."""
    assert process.stdout is not None
    for line in process.stdout:
        lines.append(line)
        if banner_only and line.startswith(BANNER_END):
            return
