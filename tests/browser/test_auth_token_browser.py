"""With ``server.auth_token`` set, the dashboard asks for the token once per browser session and sends it with its
API calls (``Authorization: Bearer``) and its tickets: Debian's Chromium against the real daemon on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from browser.test_dashboard_browser import Daemon, browser, page, run_daemon  # noqa: F401 (fixtures)

pytestmark = pytest.mark.browser

TOKEN = "shop-token-42"


@pytest.fixture
def token_daemon(tmp_path: Path) -> Iterator[Daemon]:
    yield from run_daemon(tmp_path / "data", auth_token=TOKEN)


def test_dashboard_asks_for_the_token_once_and_uses_it(page: Page, token_daemon: Daemon) -> None:  # noqa: F811
    page.goto(token_daemon.url + "/")
    expect(page.locator("#connection")).to_have_text("Connected")
    # Recent jobs reveal jobs: refused without the token, and the page says what it needs.
    expect(page.locator("#log")).to_contain_text("requires its auth token")

    page.locator("#auth-token").fill(TOKEN)
    page.locator("#auth-token").dispatch_event("change")
    page.get_by_role("button", name="Print test ticket").click()
    job = page.locator("#job-list .job-item").first
    expect(job).to_be_visible()
    expect(job).to_contain_text("test-")

    # Kept for the browser session: a reload needs no typing, the jobs list still answers.
    page.reload()
    expect(page.locator("#auth-token")).to_have_value(TOKEN)
    expect(page.locator("#job-list .job-item").first).to_contain_text("test-")
