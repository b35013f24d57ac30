"""Importing `app` registers routes and handlers and defers the rest to first use (Lambda cold start)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# Run in a fresh interpreter: this test process has long since imported everything.
PROBE = """
import json, sys
import pydantic
import app

def models(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from models(sub)

ours = {m for m in models(pydantic.BaseModel) if m.__module__.startswith("chalicelib")}
deferred = ("boto3", "botocore", "dateutil", "chalicelib.adapters", "chalicelib.domain.recurrence",
            "chalicelib.api.openapi")
print(json.dumps({
    "models": len(ours),
    "built": sorted(m.__qualname__ for m in ours if m.__pydantic_complete__),
    "loaded": sorted(name for name in sys.modules if name.startswith(deferred)),
    "routes": len(app.app.routes),
    "handlers": [f.name for f in app.app.pure_lambda_functions] + [s.name for s in app.app.event_sources],
}))
"""


def probe() -> dict:
    out = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def test_importing_app_registers_everything_but_builds_and_loads_nothing_heavy() -> None:
    found = probe()
    assert found["routes"] > 20 and sorted(found["handlers"]) == ["import_apply", "lifecycle_task", "tick"]
    assert found["models"] > 50, "the probe should see the project's models"
    assert found["built"] == [], "built at import: derive the model from chalicelib.domain.models.Model"
    assert found["loaded"] == [], "loaded at import: import it where it is first used (bootstrap, a handler)"
