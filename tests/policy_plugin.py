"""Records every AWS call the code makes in a test session, for the policy proof (tests/deploy/test_policy).

A botocore `before-parameter-build` hook sits on every client `chalicelib.adapters.aws` creates. A call
counts when the code made it: a frame of `chalicelib/` is on the stack (test setup, moto's own calls and
the deploy tooling in `infra/`, which runs with the deployer's credentials, are left out). Each call is
kept as the IAM (action, resource) pairs it needs, with the tests that caused it.

The check runs as the session's last test. It knows whether the whole suite ran: only then can it say that
an allowed action is unused; any run can say that a used action is not allowed. tests/conftest.py loads
this module's hooks.
"""

from __future__ import annotations

import sys
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.policy import iam_requests

PROJECT = Path(__file__).resolve().parent.parent
CODE = str(PROJECT / "chalicelib") + "/"
TOOLING = str(PROJECT / "infra") + "/"
CHECK = "tests/deploy/test_policy.py::test_the_packaged_policy_allows_exactly_what_the_code_does"


class Recorder:
    """What the session's code called: (action, resource) -> the tests that did it."""

    def __init__(self) -> None:
        self.calls: dict[tuple[str, str], set[str]] = defaultdict(set)
        self.operations = 0
        self.current = ""
        self.test_files: set[str] = set()
        self.ran_files: set[str] = set()
        self.deselected = 0

    def __call__(self, params: dict[str, Any], model: Any, **kwargs: Any) -> None:
        if not _called_by_the_code():
            return
        self.operations += 1
        prefix = model.service_model.signing_name
        for pair in iam_requests(prefix, model.name, params):
            self.calls[pair].add(self.current)

    @property
    def whole_suite(self) -> bool:
        """Every test file of the suite had tests in this session, and none were deselected."""
        return bool(self.test_files) and self.ran_files >= self.test_files and not self.deselected


RECORDER = Recorder()


def _called_by_the_code() -> bool:
    frame = sys._getframe(2)
    seen = False
    while frame is not None:
        name = frame.f_code.co_filename
        if name.startswith(TOOLING):
            return False
        seen = seen or name.startswith(CODE)
        frame = frame.f_back  # type: ignore[assignment]
    return seen


@pytest.fixture(scope="session", autouse=True)
def _record_aws_calls() -> Iterator[Recorder]:
    from chalicelib.adapters import aws

    aws.add_hook("before-parameter-build", RECORDER)
    yield RECORDER
    aws.remove_hook("before-parameter-build", RECORDER)


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[Any]) -> None:
    """The check goes last, after every test that calls AWS; note which test files are in the session."""
    checks = [item for item in items if item.nodeid == CHECK]
    for item in checks:
        items.remove(item)
        items.append(item)
    RECORDER.test_files = {str(p.relative_to(PROJECT)) for p in (PROJECT / "tests").rglob("test_*.py")}
    RECORDER.ran_files = {item.nodeid.split("::", 1)[0] for item in items}


def pytest_deselected(items: list[Any]) -> None:
    RECORDER.deselected += len(items)


def pytest_runtest_setup(item: Any) -> None:
    RECORDER.current = item.nodeid


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if RECORDER.operations:
        scope = "the whole suite" if RECORDER.whole_suite else "part of the suite"
        terminalreporter.write_line(
            f"policy proof: {RECORDER.operations} AWS calls by the code, {len(RECORDER.calls)} distinct "
            f"(action, resource) pairs, from {scope}"
        )
