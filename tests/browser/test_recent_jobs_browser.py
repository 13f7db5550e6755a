"""The dashboard's "Recent jobs" panel in a real browser: the job just printed is listed from the spool with its
state, and the operator's Reprint button queues a copy that prints too."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from browser.test_dashboard_browser import (  # noqa: F401 (fixtures)
    Daemon,
    browser,
    daemon,
    entries_of,
    page,
    page_errors,
)

pytestmark = pytest.mark.browser


def test_the_recent_jobs_panel_lists_the_printed_job_and_reprints_it(
    page: Page,  # noqa: F811 (the fixtures imported above)
    page_errors: list[str],  # noqa: F811
    daemon: Daemon,  # noqa: F811
) -> None:
    page.goto(daemon.url + "/")
    expect(page.locator("#connection")).to_have_text("Connected")

    page.get_by_role("button", name="Print test ticket").click()
    expect(entries_of(page, "result")).to_contain_text("Print completed")
    printed = page.locator("#job-list .job-item").first
    expect(printed.locator(".job-state")).to_have_attribute("data-status", "success")
    expect(printed.locator(".job-state")).to_have_text("Printed")
    expect(printed.locator(".job-message")).to_contain_text("Print completed")
    job_id = printed.locator(".job-id").inner_text()

    printed.get_by_role("button", name="Reprint").click()
    copy = page.locator("#job-list .job-item").first
    expect(copy.locator(".job-id")).to_have_text(f"{job_id}.reprint-1")
    expect(copy.locator(".job-state")).to_have_attribute("data-status", "success")
    expect(page.locator("#virtual-output img")).to_have_count(2)
    assert page_errors == []
