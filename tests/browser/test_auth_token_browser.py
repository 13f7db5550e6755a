"""With ``server.auth_token`` set, the operator's page is handed the token (``<meta name="ticket-auth-token">``) and
the dashboard sends it with its API calls (``Authorization: Bearer``) and its tickets without asking for it:
Debian's Chromium against the real daemon on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from browser.test_dashboard_browser import Daemon, browser, page, page_errors, run_daemon  # noqa: F401 (fixtures)

pytestmark = pytest.mark.browser

TOKEN = "shop-token-42"


@pytest.fixture
def token_daemon(tmp_path: Path) -> Iterator[Daemon]:
    yield from run_daemon(tmp_path / "data", auth_token=TOKEN)


def test_the_operators_dashboard_uses_the_token_it_is_handed(page: Page, token_daemon: Daemon) -> None:  # noqa: F811
    page.goto(token_daemon.url + "/")
    expect(page.locator("#connection")).to_have_text("Connected")

    # Recent jobs reveal jobs and need the token: the page has it, so nothing is asked and a ticket prints.
    page.get_by_role("button", name="Print test ticket").click()
    job = page.locator("#job-list .job-item").first
    expect(job).to_be_visible()
    expect(job).to_contain_text("test-")
    expect(page.locator("#log")).not_to_contain_text("requires its auth token")

    # A reload is handed the token again: the jobs list still answers.
    page.reload()
    expect(page.locator("#job-list .job-item").first).to_contain_text("test-")
    expect(page.locator("#log")).not_to_contain_text("requires its auth token")
