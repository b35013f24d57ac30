"""The docs page (`/v1/docs`) in a real browser: every schema has a body under its heading, every keyword
with a value shows it (boolean defaults included), descriptions render their code spans, nothing fails."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.test_console import CHROMIUM, CHROMIUM_ARGS, chromium_or_fail
from tests.e2e.test_local_stack import free_port, start_stack


@pytest.fixture(scope="module")
def page() -> Iterator[Any]:
    chromium_or_fail()
    from playwright.sync_api import sync_playwright

    port = free_port()
    process, _ = start_stack(port, {"ONAIR_TICK_SECONDS": "60"})
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page()
            problems: list[str] = []
            page.on("pageerror", lambda error: problems.append(str(error)))
            page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
            page.goto(f"http://127.0.0.1:{port}/v1/docs")
            page.wait_for_selector("#schemas details.component")
            page.evaluate("() => document.querySelectorAll('details').forEach(d => { d.open = true; })")
            page.wait_for_timeout(500)
            page.problems = problems
            yield page
            browser.close()
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_every_schema_has_a_body_under_its_heading(page: Any) -> None:
    found = page.evaluate(
        """() => [...document.querySelectorAll('#schemas details.component')].map(d => [
             d.querySelector('.cname').textContent,
             (d.querySelector('.obody') || {textContent: ''}).textContent.trim().length])"""
    )
    assert len(found) >= 40, "the Schemas section lists the components"
    assert [name for name, size in found if size == 0] == []
    assert page.problems == []


def test_defaults_show_their_values_booleans_included(page: Any) -> None:
    chips = page.evaluate("() => [...document.querySelectorAll('.chip')].map(c => c.textContent.trim())")
    assert "default" not in chips, "a default never shows without its value"
    assert "default: true" in chips and "default: false" in chips


def test_code_spans_in_descriptions_render_as_code(page: Any) -> None:
    text = page.evaluate("() => document.querySelector('.desc').innerText")
    assert "`" not in text
    assert page.evaluate("() => document.querySelectorAll('.desc code').length") > 10
