"""checkov (pinned in requirements-checkov.txt, its own venv) passes the packaged template with the skips in
.checkov.yaml, each of which says why."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parent.parent.parent
CHECKOV = PROJECT / ".venv-checkov" / "bin" / "checkov"
CONFIG = PROJECT / ".checkov.yaml"

pytestmark = pytest.mark.timeout(300)


def test_checkov_passes_the_packaged_template(dist: Path) -> None:
    assert CHECKOV.exists(), (
        "checkov lives in .venv-checkov: `make test` builds it from requirements-checkov.txt"
    )
    run = subprocess.run(
        [str(CHECKOV), "-f", str(dist / "sam.yaml"), "--config-file", str(CONFIG), "-o", "json"],
        capture_output=True,
        text=True,
        cwd=PROJECT,
        timeout=240,
    )
    report = json.loads(run.stdout)
    summary = report["summary"]
    failed = [
        f"{c['check_id']} {c['resource']}: {c['check_name']}"
        for c in report.get("results", {}).get("failed_checks", [])
    ]
    assert summary["failed"] == 0, failed
    assert summary["passed"] > 50 and summary["parsing_errors"] == 0, summary


def test_every_skipped_check_says_why() -> None:
    lines = CONFIG.read_text().splitlines()
    start = lines.index("skip-check:")
    reason: list[str] = []
    skips = 0
    for line in lines[start + 1 :]:
        if line.strip().startswith("#"):
            reason.append(line)
        elif re.fullmatch(r"  - CKV2?_AWS_\d+", line):
            assert reason, f"{line.strip()} has no reason above it"
            reason, skips = [], skips + 1
    assert skips >= 1
