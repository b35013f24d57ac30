"""Contract fuzzing: schemathesis against the live local stack's /v1/openapi.json with an operator key.

Checks: no server error, and every response conforms to the documented schema. Bounded (examples per
operation, a time budget, a fixed seed) so CI stays well inside its time.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.test_local_stack import KEY, free_port, start_stack

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = os.environ.get("ONAIR_FUZZ_EXAMPLES", "15")
BUDGET_SECONDS = os.environ.get("ONAIR_FUZZ_SECONDS", "150")


@pytest.mark.timeout(600)
def test_no_server_error_and_every_response_matches_the_schema():
    cli = shutil.which("schemathesis", path=str(Path(sys.executable).parent))
    assert cli, "schemathesis is pinned in requirements-dev.txt"
    port = free_port()
    process, _ = start_stack(port, {"ONAIR_TICK_SECONDS": "60"})
    try:
        result = subprocess.run(
            [
                cli,
                "run",
                f"http://127.0.0.1:{port}/v1/openapi.json",
                "-H",
                f"Authorization: Bearer {KEY}",
                "--checks",
                "not_a_server_error,response_schema_conformance",
                "--max-examples",
                EXAMPLES,
                "--seed",
                "20261121",
                "--workers",
                "2",
                "--max-time",
                BUDGET_SECONDS,
                "--no-color",
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=540,
        )
    finally:
        process.terminate()
        process.wait(timeout=30)
    summary = result.stdout[-6000:]
    assert result.returncode == 0, summary
    assert "generated" in summary, summary
