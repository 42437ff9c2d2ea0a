"""The issues app in a real headless browser: Debian's Chromium driven by Playwright.

Playwright launches the system browser (`just browser` installs it; nothing is
downloaded). The screenshots stay in the test's folder and are copied to
artifacts/ui/ for people to look at.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect, sync_playwright

from core.pg.issues import reads
from core.pg.projects import get_project
from tests.ui.conftest import UiData, UiProcess

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "ui"
# The first page of a fresh server imports the workbench: slow on a busy two-core machine.
FIRST_LOAD_MS = 90_000
STEP_MS = 30_000
# A page renders cell by cell: a section may come seconds after the heading above it.
expect.set_options(timeout=STEP_MS)


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    assert found, "headless Chromium is missing: run `uv run just browser`"
    return found


@pytest.fixture(scope="module")
def ui(ui_data: UiData) -> Iterator[UiProcess]:
    process = UiProcess(ui_data.env, "--source", str(ui_data.export_dir))
    try:
        process.wait_listening()
        yield process
    finally:
        process.stop()


@pytest.fixture
def page() -> Iterator[Page]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=_chromium(), args=["--no-sandbox"])
        try:
            yield browser.new_page(viewport={"width": 1300, "height": 1400})
        finally:
            browser.close()


def _screenshot(page: Page, tmp_path: Path, name: str) -> Path:
    path = tmp_path / f"{name}.png"
    page.screenshot(path=path, full_page=True)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(path, ARTIFACTS / path.name)
    assert path.stat().st_size > 20_000, f"{name}: a blank page"
    return path


def _status(ui_data: UiData, group_id: int) -> str:
    with ui_data.stack.pool.connection() as conn:
        found = reads.issue_detail(conn, group_id)
    assert found is not None
    return f"{found[0]['status']}:{found[0]['resolution']}"


def test_list_open_an_issue_resolve_it_merge_another_and_postgres_says_so(
    ui, ui_data, page, tmp_path
):
    started = time.monotonic()
    # On 127.0.0.1 nobody but this machine's users can connect: no token asked.
    assert f"stackwise ui: http://127.0.0.1:{ui.port}/\n" in ui.log
    page.goto(f"http://127.0.0.1:{ui.port}/")
    links = page.locator("a.sw-issue-link")
    expect(links.first).to_be_visible(timeout=FIRST_LOAD_MS)
    assert links.count() > 5
    _screenshot(page, tmp_path, "1-issue-list")

    title = links.first.inner_text()
    group_id = int(links.first.get_attribute("href").split("=")[1])
    # Another issue of the same project, to merge into this one.
    rows = page.locator("tr[data-issue]")
    projects = [
        (int(row.get_attribute("data-issue")), row.locator("td").nth(1).inner_text())
        for row in rows.all()
    ]
    same_project = [i for i, p in projects[1:] if p == projects[0][1]]
    assert same_project, projects
    other_id = same_project[0]
    assert _status(ui_data, group_id) == "unresolved:None"
    links.first.click()
    expect(page.get_by_role("heading", name=f"#{group_id}")).to_be_visible(timeout=STEP_MS)
    expect(page.get_by_text(title[:40]).first).to_be_visible()
    expect(page.get_by_role("heading", name="Stack trace")).to_be_visible()
    expect(page.get_by_role("heading", name="How its first event was grouped")).to_be_visible()
    expect(page.locator("pre").filter(has_text="hash ")).to_be_visible()
    # From the stored events (the export), not PostgreSQL: the chart and the tag table.
    expect(page.get_by_role("heading", name="Events over time")).to_be_visible(timeout=STEP_MS)
    expect(page.get_by_role("heading", name="Tags")).to_be_visible()
    expect(page.get_by_text("share", exact=True)).to_be_visible()  # the tag table's column
    expect(page.get_by_text("An internal error occurred")).to_have_count(0)
    _screenshot(page, tmp_path, "2-issue-page")

    page.get_by_role("button", name="Resolve", exact=True).click()
    expect(page.get_by_text(f"Issue {group_id}: resolve done.")).to_be_visible(timeout=STEP_MS)
    expect(page.locator("#sw-status")).to_have_text("resolved/resolved", timeout=STEP_MS)
    assert _status(ui_data, group_id) == "resolved:now"
    expect(page.get_by_text("An internal error occurred")).to_have_count(0)
    _screenshot(page, tmp_path, "3-resolved")

    page.get_by_role("textbox", name="merge these issues into this one").fill(str(other_id))
    page.get_by_role("button", name="Merge").click()
    expect(page.get_by_text(f"Merged #{other_id} into #{group_id}")).to_be_visible()
    with ui_data.stack.pool.connection() as conn:
        found = reads.issue_detail(conn, other_id)
    assert found is not None and found[0]["merged_into"] == group_id

    # The other buttons, each checked in PostgreSQL.
    for button, status in (
        ("Unresolve", "unresolved:None"),
        ("Ignore", "ignored:None"),
        ("Resolve in next release", "resolved:next_release"),
    ):
        page.get_by_role("button", name=button, exact=True).click()
        expect(page.get_by_text(f"Issue {group_id}: {button.lower()} done.")).to_be_visible()
        assert _status(ui_data, group_id) == status, button
    print(
        f"browser: list, issue, resolve, merge in {time.monotonic() - started:.1f} s; "
        f"screenshots in {tmp_path} and {ARTIFACTS}"
    )


RULE = 'error.type:"*Error*" -> every-error'


def test_rule_tuning_replays_an_edited_rule_then_saves_it_to_the_project(
    ui, ui_data, page, tmp_path
):
    started = time.monotonic()
    page.goto(f"http://127.0.0.1:{ui.port}/?page=rules")
    expect(page.get_by_role("heading", name="Rule tuning")).to_be_visible(timeout=FIRST_LOAD_MS)
    page.get_by_role("textbox", name="fingerprint rules").fill(RULE)
    page.get_by_role("button", name="Replay").click()
    expect(page.get_by_role("heading", name="What would change")).to_be_visible(timeout=STEP_MS)
    merges = page.locator("section, div").filter(
        has=page.get_by_role("heading", name="Issues that would merge")
    )
    expect(merges.first).to_be_visible()
    expect(page.get_by_text("every-error").first).to_be_visible()
    _screenshot(page, tmp_path, "4-rule-tuning")

    page.get_by_role("button", name="Save to the project").click()
    saved = page.get_by_text("Saved: the workers of project")
    expect(saved).to_be_visible(timeout=STEP_MS)
    slug = saved.inner_text().split("project ", 1)[1].split(" ", 1)[0]
    assert get_project(ui_data.stack.pool, slug).config.grouping.fingerprint_rules == RULE
    expect(page.get_by_text("An internal error occurred")).to_have_count(0)
    print(f"browser: rule tuning in {time.monotonic() - started:.1f} s")


def _shown_ids(page: Page) -> list[int]:
    # In one call: the table may be re-rendered between two.
    return page.locator("tr[data-issue]").evaluate_all(
        "rows => rows.map(row => Number(row.dataset.issue))"
    )


def _assert_shows(page: Page, expected: list[int]) -> None:
    """The list re-renders after a filter changes: wait for it to settle on `expected`."""
    deadline = time.monotonic() + STEP_MS / 1000
    while _shown_ids(page) != expected and time.monotonic() < deadline:
        page.wait_for_timeout(200)
    assert _shown_ids(page) == expected


def _expected_ids(ui_data: UiData, **filters) -> list[int]:
    with ui_data.stack.pool.connection() as conn:
        return [row["id"] for row in reads.search_issues(conn, reads.IssueSearch(**filters))]


def test_the_list_filters_and_sorts_as_the_issue_store_does(ui, ui_data, page, tmp_path):
    page.goto(f"http://127.0.0.1:{ui.port}/")
    expect(page.locator("a.sw-issue-link").first).to_be_visible(timeout=FIRST_LOAD_MS)
    assert _shown_ids(page) == _expected_ids(ui_data, status="unresolved")

    page.get_by_label("sort by").select_option("events")
    expected = _expected_ids(ui_data, status="unresolved", sort="events")
    assert expected != _expected_ids(ui_data, status="unresolved"), "a sort that changes nothing"
    _assert_shows(page, expected)

    page.get_by_label("status").select_option(label="--")  # every status
    page.get_by_label("level").select_option("warning")
    expected = _expected_ids(ui_data, level="warning", sort="events")
    assert expected, "the seeded data has warnings"
    _assert_shows(page, expected)

    word = page.locator("a.sw-issue-link").first.inner_text().split(":")[0]
    page.get_by_label("search").fill(word)
    page.get_by_label("search").press("Enter")
    expected = _expected_ids(ui_data, level="warning", sort="events", text=word)
    _assert_shows(page, expected)
    _screenshot(page, tmp_path, "5-filtered-list")
