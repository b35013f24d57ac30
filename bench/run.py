"""`python -m bench [--full]`: every figure side by side in one run; one table, and bench/results.json."""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from bench.common import Figure

RESULTS = Path(__file__).resolve().parent / "results.json"

QUICK = {
    "import_runs": 5,
    "repeats": 3,
    "creates": 20,
    "lifecycle_events": 3,
    "preview": 10_000,
    "load_minutes": 1,
}
FULL = {
    "import_runs": 15,
    "repeats": 9,
    "creates": 100,
    "lifecycle_events": 10,
    "preview": 10_000,
    "load_minutes": 10,
}


def machine() -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def figures(full: bool) -> list[Figure]:
    from bench import dynamo, feeds, importing, load, pure, roundtrips, stack, timetable

    settings = FULL if full else QUICK
    found: list[Figure] = []

    def run(label: str, make: Any) -> None:
        t = time.perf_counter()
        print(f"… {label}", file=sys.stderr, flush=True)
        figure = make()
        figure.details["seconds"] = round(time.perf_counter() - t, 1)
        found.append(figure)

    run("cold import", lambda: importing.cold_import(settings["import_runs"]))
    run("round trips", roundtrips.figure)
    with stack.local_stack() as (base, emulator):
        run("create latency", lambda: stack.create_latency(base, emulator, settings["creates"]))
        run("lifecycle accuracy", lambda: stack.lifecycle_accuracy(base, settings["lifecycle_events"]))
    run("list page", dynamo.list_page)
    run("preview", lambda: pure.preview(settings["preview"], settings["repeats"]))
    run("conflict sweep", lambda: pure.conflict_sweep(repeats=settings["repeats"], pair_repeats=1 + full * 2))
    run("materialiser tick", dynamo.tick)
    run("far create among series", lambda: dynamo.far_create(repeats=settings["repeats"] * 2))
    run("calendar feed", lambda: feeds.figure(50 if full else 10))
    run("sustained load", lambda: load.sustained_load(settings["load_minutes"]))
    run("import planning", lambda: timetable.planning(repeats=settings["repeats"]))
    run("import re-applied", timetable.unchanged_reads)
    order = ["cold import", "DynamoDB round trips", "create-event", "items read, one", "preview", "conflict"]
    order += ["items read by one materialiser", "create an event 400 days", "calendar feed", "lifecycle"]
    order += ["sustained load", "plan an import", "items read per row"]
    return sorted(found, key=lambda f: next(i for i, p in enumerate(order) if f.name.startswith(p)))


def table(found: list[Figure]) -> str:
    rows = [("figure", "compared with", "measured", "ratio", "goal", "holds")]
    for f in found:
        ratio = "" if f.ratio is None else f"{f.ratio:.2f}"
        rows.append((f.name, f.compared_with, f.measured, ratio, f.goal, "yes" if f.holds else "NO"))
    lines = ["| " + " | ".join(row) + " |" for row in rows]
    lines.insert(1, "|" + "|".join("---" for _ in rows[0]) + "|")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--full", action="store_true", help="more runs and events, for the README figures")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    found = figures(args.full)
    print(table(found))
    held = sum(f.holds for f in found)
    took = time.perf_counter() - started
    print(f"\n{held} of {len(found)} goals hold · {'full' if args.full else 'quick'} mode · {took:.0f} s")
    RESULTS.write_text(
        json.dumps(
            {
                "mode": "full" if args.full else "quick",
                "machine": machine(),
                "seconds": round(took, 1),
                "figures": [asdict(f) for f in found],
            },
            indent=2,
            default=str,
        )
        + "\n"
    )
    print(f"wrote {RESULTS.relative_to(Path.cwd()) if RESULTS.is_relative_to(Path.cwd()) else RESULTS}")
    return 0
