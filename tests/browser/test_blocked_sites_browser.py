"""A POS page from another origin is refused, shows up under "Blocked sites", and once the operator clicks Allow its
WebSocket is accepted: the whole loop in Debian's Chromium against the real daemon on 127.0.0.1.

The POS page comes from a second little HTTP server on 127.0.0.1; Chromium is told that ``pos.lan`` is 127.0.0.1
(``--host-resolver-rules``), so the page's origin is ``http://pos.lan:PORT`` (a foreign origin for the daemon) while
every byte stays on this machine."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from browser.test_dashboard_browser import CHROMIUM_ARGS, UI_TIMEOUT_MS, Daemon, daemon, system_chromium  # noqa: F401

pytestmark = pytest.mark.browser

POS_PAGE = """<!doctype html><html><body><p id="state">connecting</p><script>
  var ws = new WebSocket("ws://127.0.0.1:%(port)s/ws");
  ws.onmessage = function (event) {
    document.getElementById("state").textContent = "open: " + JSON.parse(event.data).tipo;
  };
  ws.onerror = function () { document.getElementById("state").textContent = "refused"; };
</script></body></html>"""


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    chromium = system_chromium()
    with sync_playwright() as playwright:
        args = [*CHROMIUM_ARGS, "--host-resolver-rules=MAP pos.lan 127.0.0.1"]
        browser = playwright.chromium.launch(executable_path=chromium, args=args, timeout=60_000)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def pos_site(daemon: Daemon) -> Iterator[str]:  # noqa: F811
    """The POS app's own web server; its page opens a WebSocket to the daemon. Yields the page's origin."""
    page = (POS_PAGE % {"port": daemon.url.rsplit(":", 1)[1]}).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(page)))
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://pos.lan:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def new_page(browser: Browser) -> Page:
    page = browser.new_page(locale="en-US")
    page.set_default_timeout(UI_TIMEOUT_MS)
    return page


def test_operator_allows_a_blocked_pos_page_from_the_dashboard(
    browser: Browser,
    daemon: Daemon,  # noqa: F811
    pos_site: str,
) -> None:
    pos = new_page(browser)
    dashboard = new_page(browser)
    try:
        pos.goto(pos_site + "/")
        expect(pos.locator("#state")).to_have_text("refused")

        dashboard.goto(daemon.url + "/")
        blocked = dashboard.locator("#blocked-list .blocked-site", has_text=pos_site)
        expect(blocked).to_be_visible()
        expect(blocked).to_contain_text("1 attempt")
        blocked.get_by_role("button", name="Allow").click()
        dashboard.get_by_role("dialog").get_by_role("button", name="Allow").click()  # it asks first
        expect(dashboard.locator("#allowed-list .allowed-origin")).to_have_text([pos_site])
        expect(dashboard.locator("#blocked-list .blocked-site")).to_have_count(0)

        pos.reload()
        expect(pos.locator("#state")).to_have_text("open: info")
    finally:
        pos.close()
        dashboard.close()
