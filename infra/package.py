"""Build the deployable template: `chalice package` with infra/template.yaml merged, then the ASL inlined.

    python -m infra.package [--stage prod] [--no-dependencies] dist

writes `dist/sam.yaml` (SAM/CloudFormation; `make deploy` deploys it) and `dist/deployment.zip` (the code of
every function). `--no-dependencies` leaves requirements.txt out of the zip, so packaging needs no network:
the template is the same either way (the tests use it).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml

PROJECT = Path(__file__).resolve().parent.parent
INFRA = PROJECT / "infra"
MERGE_TEMPLATE = "infra/template.yaml"
TEMPLATE_NAME = "sam.yaml"  # what chalice package writes when the merge template is YAML
FILE_PREFIX = "file:"  # DefinitionString placeholders in infra/template.yaml: "file:<name under infra/>"
# What `chalice package` reads from a project; everything else (tests, local/, docs) stays out of the copy.
PROJECT_FILES = ("app.py", "chalicelib", ".chalice", "infra", "vendor", "requirements.txt")


def chalice_command() -> str:
    """The chalice next to this interpreter (the project's .venv), else the one on PATH."""
    beside = Path(sys.executable).parent / "chalice"
    return str(beside) if beside.exists() else shutil.which("chalice") or "chalice"


def inline_definitions(template: dict[str, Any], base: Path = INFRA) -> int:
    """Replace each state machine's `DefinitionString: file:<name>` with that file's compact JSON.

    The result keeps `${TaskFunctionArn}` for CloudFormation's DefinitionSubstitutions; returns the count.
    """
    count = 0
    for resource in template.get("Resources", {}).values():
        if resource.get("Type") != "AWS::StepFunctions::StateMachine":
            continue
        props = resource.get("Properties", {})
        placeholder = props.get("DefinitionString")
        if isinstance(placeholder, str) and placeholder.startswith(FILE_PREFIX):
            definition = json.loads((base / placeholder[len(FILE_PREFIX) :]).read_text())
            props["DefinitionString"] = json.dumps(definition, separators=(",", ":"))
            count += 1
    return count


def _copy_project(target: Path, dependencies: bool) -> None:
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "deployments", "venv")
    for name in PROJECT_FILES:
        source = PROJECT / name
        if not source.exists() or (name == "requirements.txt" and not dependencies):
            continue
        if source.is_dir():
            shutil.copytree(source, target / name, ignore=ignore)
        else:
            shutil.copy2(source, target / name)


def package(out_dir: Path, stage: str = "prod", dependencies: bool = True) -> Path:
    """Write `sam.yaml` and `deployment.zip` into `out_dir`; returns the template's path."""
    out_dir = out_dir.resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    for stale in ("sam.yaml", "sam.json", "deployment.zip"):
        (out_dir / stale).unlink(missing_ok=True)
    # chalice only needs a region to name the partition; nothing here calls AWS.
    env = {**os.environ, "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION", "us-east-1")}
    with tempfile.TemporaryDirectory(prefix="onair-package-") as staging:
        project = PROJECT
        if not dependencies:
            project = Path(staging)
            _copy_project(project, dependencies=False)
        subprocess.run(
            [
                chalice_command(),
                "--project-dir",
                str(project),
                "package",
                "--stage",
                stage,
                "--merge-template",
                str(project / MERGE_TEMPLATE),
                str(out_dir),
            ],
            check=True,
            env=env,
            cwd=project,
        )
    path = out_dir / TEMPLATE_NAME
    template = yaml.safe_load(path.read_text())
    if not inline_definitions(template):
        raise SystemExit(f"no state machine definition to inline in {path}")
    path.write_text(yaml.safe_dump(template, sort_keys=False, width=110))
    return path


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", type=Path, nargs="?", default=PROJECT / "dist")
    parser.add_argument("--stage", default="prod")
    parser.add_argument("--no-dependencies", action="store_true", help="zip without requirements.txt")
    args = parser.parse_args(argv)
    path = package(args.out_dir, args.stage, dependencies=not args.no_dependencies)
    print(f"wrote {path} and {path.parent / 'deployment.zip'}")


if __name__ == "__main__":
    main()
