"""Cold import of `app` vs `import boto3`, each in fresh interpreters (median), and what dominates."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

from bench import coldstart
from bench.common import Figure, median

ROOT = Path(__file__).resolve().parent.parent
SNIPPET = "import time; t = time.perf_counter(); import {0}; print(time.perf_counter() - t)"
# What serving any request needs, eagerly: the SDK, the framework and pydantic's BaseModel (a bare
# `import pydantic` loads almost nothing, so it would understate the floor).
FLOOR = "boto3, chalice, pydantic.main"


def _env(cache: str | None) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.pop("PYTHONPYCACHEPREFIX", None)
    if cache is None:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    else:
        env["PYTHONPYCACHEPREFIX"] = cache
    return env


def _once(module: str, env: dict[str, str]) -> float:
    out = subprocess.run(
        [sys.executable, "-c", SNIPPET.format(module)], cwd=ROOT, env=env, capture_output=True, text=True
    )
    if out.returncode:
        raise RuntimeError(out.stderr)
    return float(out.stdout.strip().splitlines()[-1])


def import_breakdown(env: dict[str, str]) -> dict[str, object]:
    """`-X importtime` self times of `import app`, grouped: the project's modules and third-party packages."""
    out = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import app"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    by_package: Counter[str] = Counter()
    project: Counter[str] = Counter()
    for line in out.stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        self_us, _, name = (part.strip() for part in line.split(":", 1)[1].split("|"))
        top = name.split(".")[0]
        by_package[top] += int(self_us)
        if top in ("app", "chalicelib"):
            project[name] += int(self_us)
    total = sum(by_package.values())
    return {
        "total_ms": total / 1000,
        "packages_ms": {k: v / 1000 for k, v in by_package.most_common(8)},
        "project_modules_ms": {k: v / 1000 for k, v in project.most_common(8)},
    }


def cold_import(runs: int = 7) -> Figure:
    """Bytecode cached for both sides (a warm-up run writes it to a private cache dir), as after install."""
    with tempfile.TemporaryDirectory(prefix="onair-bench-pyc-") as cache:
        env = _env(cache)
        modules = {"boto3": "boto3", "app": "app", "floor": FLOOR}
        for module in modules.values():
            _once(module, env)  # compile once
        times: dict[str, list[float]] = {name: [] for name in modules}
        for _ in range(runs):  # interleaved
            for name, module in modules.items():
                times[name].append(_once(module, env))
        breakdown = import_breakdown(env)
    # The same without any bytecode for the project (PYTHONDONTWRITEBYTECODE, this machine's default).
    nopyc = _env(None)
    no_cache = [_once("app", nopyc) for _ in range(max(3, runs // 2))]
    boto3_s, app_s, floor_s = (median(times[n]) for n in ("boto3", "app", "floor"))
    ratio = app_s / boto3_s
    # `import app` defers boto3 and the rest to the first request: say what the whole cold start costs.
    whole = coldstart.measure(max(3, runs // 2))
    ours, base = whole["ours"], whole["baseline"]
    return Figure(
        "cold import of `app`",
        "`import boto3` alone (fresh interpreters)",
        f"{app_s * 1000:.0f} ms vs {boto3_s * 1000:.0f} ms (median of {runs}); boto3 loads on first use: "
        f"import + first POST /v1/events {ours['total_s'] * 1000:.0f} ms vs import boto3 + first GetItem "
        f"{base['total_s'] * 1000:.0f} ms",
        "≤ 1.3x",
        ratio <= 1.3,
        ratio,
        {
            "app_s": times["app"],
            "boto3_s": times["boto3"],
            "third_party_floor": FLOOR,
            "third_party_floor_s": times["floor"],
            "third_party_floor_ratio": floor_s / boto3_s,
            "app_without_bytecode_cache_s": no_cache,
            "importtime": breakdown,
            "whole_cold_start": whole,
        },
    )
