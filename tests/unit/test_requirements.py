"""Runtime dependencies earn their place: every line of requirements.txt goes into every Lambda function.

A requirement is there because chalicelib/ or app.py imports it, or because something they import needs
it (its `Requires-Dist`, read with importlib.metadata); and everything they import from outside the
standard library is in requirements.txt.
"""

from __future__ import annotations

import ast
import importlib.metadata as metadata
import re
import sys
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[2]

# Needed though no module of ours names it, with the reason.
NOT_IMPORTED_BY_NAME = {
    # zoneinfo (standard library) reads its zones from this package where the system has none: Lambda.
    "tzdata": "zoneinfo's time zone database on Lambda",
}
# Imported by our code but not packaged from requirements.txt, with the reason.
PROVIDED = {
    "chalice": "`chalice package` adds its own runtime (chalice/app.py) to every function",
}


def normalise(name: str) -> str:
    """A distribution name as PEP 503 compares it."""
    return re.sub(r"[-_.]+", "-", name).lower()


def runtime_requirements() -> dict[str, str]:
    """requirements.txt as {normalised name: the line}."""
    found = {}
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            found[normalise(Requirement(line).name)] = line
    return found


def imported_modules() -> set[str]:
    """Top-level names of every module chalicelib/ and app.py import (absolute imports)."""
    names: set[str] = set()
    for path in [ROOT / "app.py", *sorted((ROOT / "chalicelib").rglob("*.py"))]:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
    return names


def third_party(modules: set[str]) -> dict[str, set[str]]:
    """The distributions that provide the modules outside the standard library and this project."""
    ours = {"app", "chalicelib"}
    providers = metadata.packages_distributions()
    found: dict[str, set[str]] = {}
    for module in sorted(modules - ours - set(sys.stdlib_module_names)):
        assert module in providers, f"`import {module}`: no installed distribution provides it"
        for dist in providers[module]:
            found.setdefault(normalise(dist), set()).add(module)
    return found


def needs(dist: str) -> set[str]:
    """The distributions `dist` requires to be installed (extras and other platforms' markers left out)."""
    wanted = set()
    for line in metadata.requires(dist) or []:
        requirement = Requirement(line)
        if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
            wanted.add(normalise(requirement.name))
    return wanted


def closure(roots: set[str]) -> set[str]:
    """The distributions `roots` need, transitively, `roots` included."""
    seen: set[str] = set()
    todo = list(roots)
    while todo:
        dist = todo.pop()
        if dist not in seen:
            seen.add(dist)
            todo.extend(needs(dist))
    return seen


def test_every_runtime_requirement_is_imported_or_needed_by_what_is() -> None:
    requirements = runtime_requirements()
    imported = set(third_party(imported_modules())) - set(PROVIDED)
    needed = closure(imported)
    unused = sorted(set(requirements) - needed - set(NOT_IMPORTED_BY_NAME))
    assert unused == [], (
        f"requirements.txt pins {unused}, which neither chalicelib/ nor app.py imports, and nothing they "
        "import requires: every line is packaged into every Lambda function, so drop it"
    )


def test_everything_the_code_imports_is_a_runtime_requirement() -> None:
    requirements = runtime_requirements()
    imported = third_party(imported_modules())
    missing = {dist: modules for dist, modules in imported.items() if dist not in requirements}
    missing = {dist: modules for dist, modules in missing.items() if dist not in PROVIDED}
    assert missing == {}, f"imported by chalicelib/ or app.py but not in requirements.txt: {missing}"


def test_the_closure_of_what_is_imported_is_pinned_too() -> None:
    """Lambda gets exactly requirements.txt: a package an import needs must be pinned there as well."""
    requirements = runtime_requirements()
    imported = set(third_party(imported_modules())) - set(PROVIDED)
    unpinned = sorted(closure(imported) - set(requirements))
    assert unpinned == [], f"needed at run time but not pinned in requirements.txt: {unpinned}"


def test_the_checks_see_what_they_check() -> None:
    """The scan finds the imports it must (a scan that found nothing would pass the checks above)."""
    imported = third_party(imported_modules())
    assert {"boto3", "pydantic", "python-dateutil", "jsonpatch"} <= set(imported), imported
    assert normalise("pydantic_core") in closure({"pydantic"})
    assert normalise("aws_lambda_powertools") not in runtime_requirements()
