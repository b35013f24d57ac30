"""The README's walk-through is a test: its ```sh walkthrough blocks run in order, in one bash, against a
fresh `python -m local` stack, and each block prints exactly the ```text output block shown under it
(HTTP statuses included), so the README cannot drift from what onair does.

`<id>` in an expected line stands for any record id. The walk-through never double-books: no booking it
makes carries an accepted overlap, and the only 409 it meets is the clash it shows on purpose.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.e2e.test_local_stack import KEY, free_port, start_stack

ROOT = Path(__file__).resolve().parents[2]

README = ROOT / "README.md"
BLOCK = re.compile(r"```sh walkthrough\n(.*?)```\s*```text output\n(.*?)```", re.S)
MARK = "@@walkthrough-block@@"
ID = re.compile(r"\b[a-z]{2,4}_[0-9a-z]{20,30}\b")


@dataclass(frozen=True)
class Step:
    script: str
    expected: list[str]


def steps(text: str) -> list[Step]:
    """Every walk-through block with the output shown under it."""
    return [Step(script, expected.rstrip("\n").split("\n")) for script, expected in BLOCK.findall(text)]


def script_for(found: list[Step], url: str, key: str, state: Path) -> str:
    """One bash script: the blocks in order, a marker between them, the README's URL and key replaced."""
    first = found[0].script
    assert "URL=http://127.0.0.1:8000\n" in first and "OP=onair_dev " in first, (
        "the README's first block sets them"
    )
    parts = ["exec 2>&1"]
    for i, step in enumerate(found):
        text = step.script
        if i == 0:
            text = text.replace("URL=http://127.0.0.1:8000\n", f"URL={url}\n").replace(
                "OP=onair_dev ", f"OP={key} "
            )
        parts += [f"echo {MARK}", text]
    # What the test checks afterwards: the tenant's key and the channel.
    parts.append(f'printf \'%s\\n%s\\n\' "$KEY" "$CH" > {state}')
    return "\n".join(parts) + "\n"


def matches(expected: str, actual: str) -> bool:
    return re.fullmatch(re.escape(expected).replace(re.escape("<id>"), ID.pattern), actual) is not None


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    data = tmp_path_factory.mktemp("data")
    process, _ = start_stack(port, {"ONAIR_TICK_SECONDS": "5", "ONAIR_DATA_DIR": str(data)})
    yield f"http://127.0.0.1:{port}"
    process.terminate()
    process.wait(timeout=30)


def test_the_walkthrough_needs_only_what_the_readme_says() -> None:
    text = README.read_text()
    assert "`bash`, `curl` (7.84 or later) and `jq`" in text
    for tool in ("bash", "curl", "jq"):
        assert shutil.which(tool), f"the README's walk-through needs {tool}; install it to run this test"
    found = steps(text)
    assert len(found) >= 8, "the README has its walk-through blocks"
    for step in found:
        for line in step.script.splitlines():
            assert not ("json[@]" in line and "Content-Type" in line), f"two Content-Type headers: {line}"
            assert "curl -s " not in line and "-s -" not in line, f"statuses hidden: {line}"


def test_the_readme_walkthrough_runs_as_shown(stack: str, tmp_path: Path) -> None:
    found = steps(README.read_text())
    state = tmp_path / "state"
    script = tmp_path / "walkthrough.sh"
    script.write_text(script_for(found, stack, KEY, state))
    result = subprocess.run(
        ["bash", str(script)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
        env=os.environ.copy(),
    )
    outputs = result.stdout.split(MARK + "\n")[1:]
    assert len(outputs) == len(found), result.stdout + result.stderr
    for number, (step, output) in enumerate(zip(found, outputs, strict=True), start=1):
        actual = output.rstrip("\n").split("\n") if output.strip() else []
        shown = "\n".join(step.expected)
        assert len(actual) == len(step.expected) and all(
            matches(e, a) for e, a in zip(step.expected, actual, strict=True)
        ), (
            f"walk-through block {number} printed\n{output}\nbut the README shows\n{shown}\n"
            f"--- its script:\n{step.script}"
        )

    # Never double-booked: every booking on the room was accepted without an overlap.
    key, channel = state.read_text().split()
    request = urllib.request.Request(
        f"{stack}/v1/events?channel_id={channel}&limit=500", headers={"Authorization": f"Bearer {key}"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        events = json.load(response)["items"]
    assert events and all(e["overlaps"] == [] for e in events), events
    statuses = [line for out in outputs for line in out.split("\n") if re.fullmatch(r"\d{3}", line)]
    assert statuses.count("409") == 2, "the clash shown on purpose and the refused action, nothing else"
