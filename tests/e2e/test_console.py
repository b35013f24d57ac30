"""The web console in a real browser: Debian's Chromium, headless, Playwright, against `python -m local`.

Every test signs in with a fresh tenant's key and seeds its own day through the API. Screenshots of each
view go to test-artifacts/console/ (git-ignored). Without /usr/bin/chromium these tests fail and say how
to install it; a developer may deselect them with ONAIR_SKIP_BROWSER_TESTS=1 (CI never sets it).
"""

from __future__ import annotations

import gzip
import os
import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from tests.e2e.test_local_stack import Http, free_port, start_stack

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "console"
CHROMIUM = os.environ.get("ONAIR_CHROMIUM", "/usr/bin/chromium")
OPT_OUT = "ONAIR_SKIP_BROWSER_TESTS"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
KEY = "onair_e2e-console-operator-0123456789"
DAY = "2031-03-10"  # a Monday; London is on GMT, New York already on EDT (since 9 March)
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 375, "height": 800}
WEIGHT_LIMIT = 300_000
DASH = "\u2013"  # the console writes time ranges with an en dash


def chromium_or_fail() -> None:
    """Fail (never skip silently) without Chromium, unless a developer opted out explicitly outside CI."""
    if Path(CHROMIUM).exists():
        return
    if os.environ.get(OPT_OUT) == "1" and not os.environ.get("CI"):
        pytest.skip(f"{OPT_OUT}=1: browser tests deselected by request")
    pytest.fail(
        f"Chromium is missing at {CHROMIUM}: install it with `apt-get install -y chromium` (Debian), "
        f"or deselect the browser tests locally with {OPT_OUT}=1 (CI never does)."
    )


@pytest.fixture(scope="module")
def stack() -> Iterator[dict[str, Any]]:
    port = free_port()
    process, _ = start_stack(port, key=KEY)
    base = f"http://127.0.0.1:{port}"
    yield {"base": base, "http": Http(base, KEY)}
    process.terminate()
    process.wait(timeout=30)


@pytest.fixture(scope="module")
def browser(stack: dict[str, Any]) -> Iterator[Any]:
    chromium_or_fail()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


class Console:
    """One browser page on the console, with its tenant's API, and what the page logged."""

    def __init__(self, page: Any, base: str, http: Http, key: str, channels: dict[str, str]) -> None:
        self.page = page
        self.base = base
        self.http = http
        self.key = key
        self.channels = channels
        self.errors: list[str] = []
        page.on("pageerror", lambda error: self.errors.append(f"page error: {error}"))
        page.on("console", self._console)

    def _console(self, message: Any) -> None:
        # The browser logs every non-2xx fetch; the tests provoke 401, 409 and 412 on purpose.
        if message.type == "error" and "Failed to load resource" not in message.text:
            self.errors.append(message.text)

    def open(self, route: str = f"#/day/{DAY}") -> None:
        self.page.goto(f"{self.base}/{route}")

    def sign_in(self, route: str = f"#/day/{DAY}") -> None:
        self.open(route)
        self.page.get_by_label("API key").fill(self.key)
        self.page.get_by_role("button", name="Sign in").click()
        self.page.locator(".booking").first.wait_for()

    def booking(self, title: str) -> Any:
        return self.page.locator(f'.booking[aria-label^="{title},"]')

    def row(self, channel: str) -> Any:
        return self.page.locator(f'[role=group][aria-label^="{channel},"] .track')

    def x_of(self, channel: str, hour: float) -> tuple[float, float]:
        """Where `hour` (on DAY, in the day view's zone) is on a room's row, in page coordinates."""
        box = self.row(channel).bounding_box()
        return box["x"] + box["width"] * hour / 24, box["y"] + box["height"] / 2

    def show_hours_from(self, hour: float) -> None:
        """Scroll the day view so that `hour` is at the left edge (pointer gestures need it on screen)."""
        self.page.evaluate(
            "h => { const d = document.querySelector('.day');"
            " d.scrollLeft = d.querySelector('.axis').offsetWidth * h / 24; }",
            hour,
        )

    def drag(self, start: tuple[float, float], end: tuple[float, float]) -> None:
        mouse = self.page.mouse
        mouse.move(*start)
        mouse.down()
        mouse.move(*end, steps=8)
        mouse.up()

    def dialog(self) -> Any:
        return self.page.locator("dialog[open]")

    def week_of(self, room: str, day: date) -> None:
        self.page.get_by_role("button", name=f"Week of {room}").click()
        self.page.get_by_label("Go to date").fill(str(day))

    def edit_occurrence(self, booking: Any, scope: str, title: str, saved: str = "Saved.") -> None:
        """Retitle a series occurrence for `scope` (the radio button's name) and close its dialog."""
        booking.click()
        dialog = self.dialog()
        dialog.get_by_role("radio", name=scope).check()
        dialog.get_by_label("Title").fill(title)
        dialog.get_by_role("button", name="Save").click()
        dialog.get_by_text(saved).wait_for()
        self.page.keyboard.press("Escape")
        self.booking(title).first.wait_for()

    def set_visible(self, visible: bool) -> None:
        """Pretend the tab is hidden or shown again (the console polls only while it is visible)."""
        self.page.evaluate(
            "v => { Object.defineProperty(document, 'visibilityState', {value: v ? 'visible' : 'hidden',"
            " configurable: true}); document.dispatchEvent(new Event('visibilitychange')); }",
            visible,
        )

    def shot(self, name: str) -> None:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(ARTIFACTS / f"{name}.png"))

    def event(self, title: str) -> dict[str, Any]:
        items = self.http("GET", f"/v1/events?q={quote(title)}", key=self.key)[2]["items"]
        assert len(items) == 1, items
        return items[0]


def seed(http: Http) -> tuple[str, dict[str, str]]:
    """A fresh tenant with two rooms, a day of bookings (one accepted overlap) and a daily series."""
    status, _, tenant = http("POST", "/v1/tenants", {"name": f"console {time.monotonic_ns()}"})
    assert status == 201, tenant
    key = tenant["admin_key"]

    def post(path: str, body: dict[str, Any]) -> dict[str, Any]:
        status, _, created = http("POST", path, body, key=key)
        assert status == 201, created
        return created

    rooms = {
        "Room 101": post("/v1/channels", {"name": "Room 101", "timezone": "Europe/London"})["id"],
        "Studio A": post("/v1/channels", {"name": "Studio A", "timezone": "America/New_York"})["id"],
    }
    manual = {"start_mode": "manual", "end_mode": "manual"}
    for title, room, start, minutes, extra in [
        ("Algorithms", "Room 101", "09:00", 60, manual),
        ("Databases", "Room 101", "11:00", 90, manual),
        ("Newsroom", "Studio A", "14:00", 60, {}),
        ("Overrun", "Studio A", "14:30", 60, {"allow_conflict": True}),
    ]:
        body = {
            "title": title,
            "channel_id": rooms[room],
            "start": f"{DAY}T{start}:00Z",
            "duration": minutes * 60,
        }
        post("/v1/events", {**body, **extra})
    post(
        "/v1/schedules",
        {
            "title": "Seminar",
            "channel_id": rooms["Room 101"],
            "start": "2031-03-09T15:00:00",
            "duration": 3600,
            "recurrence": {"frequency": "daily", "count": 5},
        },
    )
    return key, rooms


@pytest.fixture
def console(stack: dict[str, Any], browser: Any, request: Any) -> Iterator[Callable[..., Console]]:
    """Open a console page (desktop unless a viewport is given) on a freshly seeded tenant."""
    contexts: list[Any] = []
    pages: list[Console] = []

    def make(viewport: dict[str, int] = DESKTOP) -> Console:
        context = browser.new_context(viewport=viewport, timezone_id="Europe/London", locale="en-GB")
        contexts.append(context)
        key, rooms = seed(stack["http"])
        page = Console(context.new_page(), stack["base"], stack["http"], key, rooms)
        pages.append(page)
        return page

    yield make
    for n, page in enumerate(pages):  # how each test left the page, to look at when one fails
        page.shot(f"last-{request.node.name}-{n}")
    for context in contexts:
        context.close()
    for page in pages:
        assert page.errors == [], "the console logged errors (a CSP violation or a script error?)"


# -- served like a static site -------------------------------------------------------------------------


def test_the_page_is_public_its_assets_are_versioned_and_the_api_still_needs_a_key(stack):
    http = stack["http"]
    status, head, page = http("GET", "/", key="not-a-key")
    assert status == 200 and head["Content-Type"].startswith("text/html")
    assert head["Cache-Control"] == "no-cache" and "default-src 'none'" in head["Content-Security-Policy"]
    assert http("GET", "/", headers={"If-None-Match": head["ETag"]})[0] == 304
    version = page.split('src="console/')[1].split("/")[0]
    for name, kind in [
        ("app.js", "text/javascript"),
        ("console.css", "text/css"),
        ("vendor/preact.js", "text/javascript"),
    ]:
        status, asset_head, _ = http("GET", f"/console/{version}/{name}")
        assert status == 200 and asset_head["Content-Type"].startswith(kind), name
        assert "immutable" in asset_head["Cache-Control"], name
    status, head, _ = http("GET", "/console/0000deadbeef/app.js")
    assert status == 404 and head["Content-Type"] == "application/problem+json", (
        "another version is not served"
    )
    assert http("GET", f"/console/{version}/secrets.py")[0] == 404
    status, head, _ = http("GET", "/nowhere")
    assert status == 404 and head["Content-Type"] == "application/problem+json", "unknown paths as before"
    assert http("GET", "/v1/events", key="not-a-key")[0] == 401, "the page is public, the data is not"


def test_first_load_weighs_under_300_kb(console):
    c = console()
    sizes: dict[str, int] = {}
    zipped: dict[str, int] = {}

    def record(response: Any) -> None:
        path = response.url.split("/", 3)[3]
        if not path.startswith("v1/") and response.status == 200:
            body = response.body()
            sizes[path] = len(body)
            zipped[path] = len(gzip.compress(body))

    c.page.on("response", record)
    c.sign_in()
    total, total_gzip = sum(sizes.values()), sum(zipped.values())
    print(f"\nconsole first load: {len(sizes)} files, {total} bytes uncompressed, {total_gzip} gzipped")
    assert len(sizes) >= 8, sizes
    assert total < WEIGHT_LIMIT, sizes


# -- the views -------------------------------------------------------------------------------------------


def test_sign_in_and_see_the_seeded_day_with_its_series_and_overlap(console):
    c = console()
    c.open()
    c.page.get_by_label("API key").fill("onair_wrong")
    c.page.get_by_role("button", name="Sign in").click()
    assert "refused" in c.page.get_by_role("alert").inner_text()
    c.sign_in()
    assert c.key not in c.page.url, "the key never goes in a URL"
    assert c.page.evaluate("sessionStorage.getItem('onair.apiKey')") == c.key
    assert c.page.evaluate("localStorage.length") == 0

    rows = c.page.locator(".row-label")
    assert rows.nth(0).inner_text().startswith("Room 101") and "Europe/London" in rows.nth(0).inner_text()
    assert "America/New_York · UTC-04:00" in rows.nth(1).inner_text(), "each room's zone and offset that day"
    assert (
        c.booking("Algorithms").get_attribute("aria-label")
        == "Algorithms, 09:00 to 10:00, scheduled, Room 101"
    )
    seminar = c.booking("Seminar")
    assert seminar.count() == 1 and "planned" in seminar.get_attribute("aria-label"), "a series occurrence"
    assert "st-planned" in seminar.get_attribute("class")
    for title in ("Newsroom", "Overrun"):
        assert "overlap" in c.booking(title).get_attribute("class").split(), (
            f"{title}: accepted overlap marked"
        )
    assert "overlap" not in c.booking("Algorithms").get_attribute("class").split()
    c.shot("day-1280")

    c.page.get_by_role("button", name="Next day").click()
    assert "#/day/2031-03-11" in c.page.url
    c.booking("Seminar").wait_for()
    c.page.get_by_role("button", name="Previous day").click()
    c.booking("Algorithms").wait_for()


def test_week_view_of_one_room_in_its_time_zone(console):
    c = console()
    c.sign_in()
    c.page.get_by_role("button", name="Week of Studio A").click()
    week = c.page.locator(".week")
    assert "Studio A · times in America/New_York (UTC-04:00)" in week.locator(".week-zone").inner_text()
    assert c.page.locator(".week-day").count() == 7
    assert c.booking("Newsroom").get_attribute("aria-label").startswith("Newsroom, 10:00 to 11:00"), (
        "New York time"
    )
    c.page.get_by_label("Room", exact=True).select_option(label="Room 101")
    # The daily series from Monday to Thursday (its Sunday is in the week before).
    expect(c.booking("Seminar")).to_have_count(4)
    c.shot("week-1280")


# -- acting on bookings ----------------------------------------------------------------------------------


def test_create_by_dragging_hit_a_conflict_and_take_the_suggested_slot(console):
    c = console()
    c.sign_in()
    c.show_hours_from(6)
    c.drag(c.x_of("Room 101", 10.5), c.x_of("Room 101", 11.5))  # from free time onto "Databases"
    dialog = c.dialog()
    assert dialog.get_by_label("Start (Europe/London)").input_value() == f"{DAY}T10:30"
    assert dialog.get_by_label("End (Europe/London)").input_value() == f"{DAY}T11:30"
    dialog.get_by_label("Title").fill("Clash")
    dialog.get_by_role("button", name="Book").click()
    conflict = dialog.locator(".conflicts")
    assert "Databases" in conflict.inner_text()
    c.shot("conflict-1280")
    dialog.get_by_role("button", name=f"Take the free slot 2031-03-10 12:30{DASH}13:30").click()
    dialog.wait_for(state="detached")
    assert f"Booked \u201cClash\u201d 2031-03-10 12:30{DASH}13:30" in c.page.locator(".notice").inner_text()
    event = c.event("Clash")
    assert (event["start"], event["end"]) == (f"{DAY}T12:30:00Z", f"{DAY}T13:30:00Z")
    c.booking("Clash").wait_for()

    # Click-click on free time: the first click marks the start, the second the end.
    c.page.mouse.click(*c.x_of("Room 101", 16))
    c.page.mouse.click(*c.x_of("Room 101", 17))
    c.dialog().get_by_label("Title").fill("Afternoon")
    c.dialog().get_by_role("button", name="Book").click()
    c.booking("Afternoon").wait_for()

    # Drag it an hour later, then stretch its end by half an hour.
    c.drag(c.x_of("Room 101", 16.5), c.x_of("Room 101", 17.5))
    c.page.locator('.booking[aria-label^="Afternoon, 17:00 to 18:00"]').wait_for()
    assert c.event("Afternoon")["start"] == f"{DAY}T17:00:00Z"
    grip = c.booking("Afternoon").locator(".grip").bounding_box()
    y = grip["y"] + grip["height"] / 2
    c.drag((grip["x"] + 3, y), (c.x_of("Room 101", 18.5)[0], y))
    c.page.locator('.booking[aria-label^="Afternoon, 17:00 to 18:30"]').wait_for()
    assert c.event("Afternoon")["end"] == f"{DAY}T18:30:00Z"


def test_run_actions_and_watch_the_state_change_without_a_reload(console):
    c = console()
    c.sign_in()
    c.page.evaluate("window.sameDocument = true")
    c.booking("Databases").click()
    dialog = c.dialog()
    assert dialog.locator(".badge").first.inner_text() == "scheduled"
    dialog.get_by_role("button", name="Provision").click()
    dialog.get_by_text("Provision: done. The event is ready.").wait_for()
    dialog.get_by_role("button", name="Start").click()
    dialog.get_by_text("Start: done. The event is live.").wait_for()
    history = dialog.locator(".history li")
    assert history.count() == 3 and "ready → live" in history.nth(2).inner_text()
    c.shot("booking-1280")
    c.page.keyboard.press("Escape")
    c.page.locator('.booking.st-live[aria-label^="Databases,"]').wait_for()

    # Someone else stops it: the grid follows within a poll or two.
    event = c.event("Databases")
    etag = c.http("GET", f"/v1/events/{event['id']}", key=c.key)[1]["ETag"]
    status, _, _ = c.http(
        "POST", f"/v1/events/{event['id']}/actions", {"action": "stop"}, key=c.key, headers={"If-Match": etag}
    )
    assert status == 200
    # Stopped, then torn down at once (no teardown delay): the grid shows where it got to.
    done = ", ".join(f'.booking.st-{state}[aria-label^="Databases,"]' for state in ("stopped", "completed"))
    c.page.wait_for_selector(done, timeout=15_000)
    assert c.page.evaluate("window.sameDocument") is True, "updated in place, not reloaded"


def test_a_change_made_meanwhile_is_a_412_that_reloads_and_says_so(console):
    c = console()
    c.sign_in()
    c.set_visible(False)  # no polling: the dialog keeps the ETag it opened with
    requests: list[str] = []
    c.page.on("request", lambda r: requests.append(r.url) if "/v1/events" in r.url else None)
    c.booking("Algorithms").click()
    dialog = c.dialog()
    dialog.get_by_role("button", name="Provision").wait_for()
    event = c.event("Algorithms")
    status, _, _ = c.http(
        "PATCH", f"/v1/events/{event['id']}", {"title": "Algorithms (moved room)"}, key=c.key
    )
    assert status == 200
    opened = len(requests)
    c.page.wait_for_timeout(6_000)
    assert len(requests) == opened, "no polling while the tab is hidden"
    dialog.get_by_role("button", name="Provision").click()
    assert "changed since it was opened" in dialog.locator(".notice").inner_text()
    assert dialog.locator("h2").inner_text() == "Algorithms (moved room)", "reloaded"
    assert c.event("Algorithms (moved room)")["state"] == "scheduled", "nothing was done"
    dialog.get_by_role("button", name="Provision").click()
    dialog.get_by_text("The event is ready").wait_for()
    c.set_visible(True)


def lab_days() -> list[date]:
    """Tuesday and Thursday of two weeks, two months ahead: past the 30 days in which occurrences become
    events (so they are still plans), within the year in which a new series is checked for conflicts."""
    ahead = datetime.now(UTC).date() + timedelta(days=60)
    tuesday = ahead + timedelta(days=(1 - ahead.weekday()) % 7)
    return [tuesday + timedelta(days=n) for n in (0, 2, 7, 9)]


def new_york(day: date, hour: int) -> str:
    """The UTC instant of `hour`:00 in New York on `day`, as the API writes it."""
    local = datetime.combine(day, datetime.min.time().replace(hour=hour), ZoneInfo("America/New_York"))
    return local.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_a_series_with_live_preview_then_edit_one_occurrence_and_skip_another(console):
    c = console()
    c.sign_in()
    room = c.channels["Studio A"]
    days = lab_days()
    blocker = {"title": "Blocker", "channel_id": room, "start": new_york(days[2], 14), "duration": 3600}
    assert c.http("POST", "/v1/events", blocker, key=c.key)[0] == 201
    c.page.get_by_role("button", name="New series").click()
    dialog = c.dialog()
    dialog.get_by_label("Title").fill("Lab")
    dialog.get_by_label("Channel").select_option(label="Studio A (America/New_York)")
    dialog.get_by_label("First start (America/New_York)").fill(f"{days[0]}T14:00")
    dialog.get_by_label("Duration (minutes)").fill("60")
    dialog.get_by_label("Number of occurrences").fill("4")
    assert dialog.get_by_role("checkbox", name="Tue").is_checked(), "the first start's weekday"
    dialog.get_by_role("checkbox", name="Thu").check()
    preview = dialog.locator(".preview")
    preview.get_by_text("4 occurrences").wait_for()
    items = [preview.locator("li").nth(i).inner_text() for i in range(4)]
    assert [(text[:4], f"14:00{DASH}15:00" in text) for text in items] == [
        ("Tue,", True),
        ("Thu,", True),
        ("Tue,", True),
        ("Thu,", True),
    ], items
    assert "overlaps Blocker" in items[2], "the preview shows the conflict"
    c.shot("series-1280")
    dialog.get_by_role("button", name="Create series").click()
    dialog.locator(".conflicts").get_by_text("Blocker").wait_for()
    dialog.get_by_role("button", name="Keep this time and accept the overlap").click()
    dialog.wait_for(state="detached")

    c.week_of("Studio A", days[0])
    labs = c.booking("Lab")
    expect(labs).to_have_count(2)
    assert "planned" in labs.nth(0).get_attribute("aria-label"), "not an event yet"
    c.edit_occurrence(labs.nth(0), "This occurrence", "Lab (guest)")
    c.booking("Lab").click()
    c.dialog().get_by_role("button", name="Skip this occurrence").click()
    c.page.get_by_text(f"Skipped \u201cLab\u201d on {days[1]} 14:00").wait_for()
    c.booking("Lab").wait_for(state="detached")
    schedule = next(s for s in c.http("GET", "/v1/schedules", key=c.key)[2]["items"] if s["title"] == "Lab")
    exceptions = {e["occurrence_start"]: e for e in schedule["exceptions"]}
    assert exceptions[new_york(days[1], 14)]["skipped"], "skipped"
    assert exceptions[new_york(days[0], 14)]["modified"], "this occurrence only"


def test_this_and_following_then_all_occurrences(console):
    c = console()
    c.sign_in()
    days = lab_days()
    body = {
        "title": "Lab",
        "channel_id": c.channels["Studio A"],
        "start": f"{days[0]}T09:00:00",
        "duration": 3600,
        "recurrence": {"frequency": "weekly", "days": ["TUE", "THU"], "count": 4},
    }
    assert c.http("POST", "/v1/schedules", body, key=c.key)[0] == 201
    c.week_of("Studio A", days[0])
    expect(c.booking("Lab")).to_have_count(2)
    # Thursday: it and what follows become a new series.
    c.edit_occurrence(
        c.booking("Lab").nth(1), "This and following", "Lab II", saved="a new series takes over"
    )
    series = {s["title"]: s for s in c.http("GET", "/v1/schedules", key=c.key)[2]["items"]}
    assert series["Lab II"]["next_occurrence"] == new_york(days[1], 9)
    assert series["Lab"]["series_end"] is not None, "the first series ends before Thursday"

    c.edit_occurrence(c.booking("Lab II"), "All occurrences", "Lab 2")
    c.page.get_by_role("button", name="Next week").click()
    expect(c.booking("Lab 2")).to_have_count(2)  # the new series' Tuesday and Thursday a week later
    expect(c.booking("Lab")).to_have_count(0)


# -- keyboard and small screens --------------------------------------------------------------------------


def test_create_a_calendar_feed_then_open_its_url_and_parse_it(console):
    """Issue 14: "open a feed URL and parse it". The seeded day is years ahead, beyond a feed's window
    (30 days back, a year ahead), so this test books near today: an event tomorrow, and a daily series
    from 40 days on (occurrences beyond the 30-day horizon, not events yet)."""
    import urllib.error
    import urllib.request

    import recurring_ical_events
    from icalendar import Calendar

    c = console()
    room = c.channels["Room 101"]
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).replace(hour=9, minute=0, second=0, microsecond=0)
    later = (datetime.now(ZoneInfo("Europe/London")) + timedelta(days=40)).date()
    for path, body in [
        (
            "/v1/events",
            {"title": "Feed check", "channel_id": room, "start": tomorrow.isoformat(), "duration": 1800},
        ),
        (
            "/v1/schedules",
            {
                "title": "Far seminar",
                "channel_id": room,
                "start": f"{later}T15:00:00",
                "duration": 3600,
                "recurrence": {"frequency": "daily", "count": 3},
            },
        ),
    ]:
        status, _, created = c.http("POST", path, body, key=c.key)
        assert status == 201, created
    c.sign_in()
    c.page.get_by_role("button", name="Calendar feed").click()
    dialog = c.dialog()
    dialog.get_by_label("Name").fill("Room 101 for reception")
    dialog.get_by_label("Rooms").select_option(label="Room 101")
    dialog.get_by_role("button", name="Create feed").click()
    url = dialog.get_by_label("Subscription URL").input_value()
    assert url.startswith(f"{c.base}/v1/feeds/ics_") and url.endswith(".ics"), url
    assert (
        dialog.get_by_role("link", name="Open in a calendar app")
        .get_attribute("href")
        .startswith("webcal://")
    )
    c.shot("feed-1280")

    with urllib.request.urlopen(url, timeout=30) as response:  # no key: the URL is the credential
        assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
        cal = Calendar.from_ical(response.read())
    window = (datetime.now(UTC) - timedelta(days=30), datetime.now(UTC) + timedelta(days=365))
    found = recurring_ical_events.of(cal).between(*window)
    titles = sorted(str(e["SUMMARY"]) for e in found)
    assert titles == ["Far seminar"] * 3 + ["Feed check"], titles
    seminar = next(e for e in found if str(e["SUMMARY"]) == "Far seminar")
    assert seminar["DTSTART"].params["TZID"] == "Europe/London" and seminar["DTSTART"].dt.hour == 15
    assert str(seminar["URL"]).startswith(f"{c.base}/#/week/")

    dialog.get_by_role("button", name="Revoke Room 101 for reception").click()
    expect(dialog.locator(".feeds li")).to_have_count(0)
    with pytest.raises(urllib.error.HTTPError) as gone:
        urllib.request.urlopen(url, timeout=30)
    assert gone.value.code == 404, "a revoked feed's URL stops working at once"


def test_keyboard_only(console):
    c = console()
    c.sign_in()
    page = c.page
    page.locator("body").press("c")
    dialog = c.dialog()
    assert page.evaluate("document.activeElement.closest('label').innerText").startswith("Title")
    page.keyboard.type("Typed in")
    dialog.get_by_label("Start (Europe/London)").fill(f"{DAY}T16:30")
    dialog.get_by_label("End (Europe/London)").fill(f"{DAY}T17:00")
    dialog.get_by_label("Title").press("Enter")
    c.booking("Typed in").wait_for()

    c.booking("Algorithms").focus()
    page.keyboard.press("ArrowRight")
    focused = page.evaluate("document.activeElement.getAttribute('aria-label')")
    assert focused.startswith("Databases,"), "→ goes to the next booking in the row"
    page.keyboard.press("ArrowDown")
    assert page.evaluate("document.activeElement.getAttribute('aria-label')").startswith("Newsroom,")
    page.keyboard.press("Enter")
    assert c.dialog().locator("h2").inner_text() == "Newsroom"
    page.keyboard.press("Escape")
    c.dialog().wait_for(state="detached")
    assert page.evaluate("document.activeElement.getAttribute('aria-label')").startswith("Newsroom,"), (
        "focus returns to the booking"
    )
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline == "solid", "the focused booking is visibly marked"
    page.keyboard.press("j")
    assert "#/day/2031-03-11" in page.url
    page.keyboard.press("w")
    assert "#/week/2031-03-11/" in page.url
    page.keyboard.press("?")
    assert "today" in c.dialog().inner_text()
    page.keyboard.press("Escape")


def test_readable_at_phone_width(console):
    c = console(PHONE)
    c.sign_in()
    page = c.page
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], (
        "the page never scrolls sideways"
    )
    assert page.locator(".row-label").first.is_visible()
    c.shot("day-375")
    c.booking("Algorithms").click()
    box = c.dialog().bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    c.shot("booking-375")
    page.keyboard.press("Escape")
    page.get_by_role("button", name="Week", exact=True).click()
    page.locator(".week").wait_for()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    c.shot("week-375")
