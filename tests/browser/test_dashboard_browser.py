"""The dashboard in a real browser (Debian's Chromium through Playwright) against the real daemon on 127.0.0.1.

A newcomer opens the page, prints the test ticket, and sees it queued, printed, previewed and on the virtual
printer's paper; a shop owner with a password logs in and out. Never downloads a browser: Chromium comes from the
system (``apt-get install chromium``); without it these tests skip, except in CI where they fail.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from playwright.sync_api import Browser, ConsoleMessage, Locator, Page, Response, expect, sync_playwright
from playwright.sync_api import Error as PlaywrightError

from ticket_daemon.config import load_settings
from ticket_daemon.server.app import create_app
from ticket_daemon.server.daemon import Daemon as DaemonCore
from ticket_daemon.server.passwords import hash_password
from ticket_daemon.store.interface import JobStore

pytestmark = pytest.mark.browser


CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless=new",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
STARTUP_TIMEOUT_S = 15.0
UI_TIMEOUT_MS = 20_000  # every wait on the page is bounded by this
PASSWORD = "till-owner-pass"
PNG_SIGNATURE = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]


@dataclass
class Daemon:
    url: str
    data_dir: Path


def run_daemon(
    data_dir: Path,
    password_hash: str = "",
    auth_token: str = "",
    printers: list[dict[str, Any]] | None = None,
    store: JobStore | None = None,
) -> Iterator[Daemon]:
    flags: dict[str, Any] = {
        "server": {
            "host": "127.0.0.1",
            "port": 0,
            "dashboard_password_hash": password_hash,
            "auth_token": auth_token,
            "shutdown_grace_seconds": 1.0,
        },
        "storage": {"data_dir": str(data_dir)},
    }
    if printers is not None:
        flags["printers"] = printers
    settings = load_settings(flags=flags)
    app = create_app(settings, daemon=DaemonCore(settings, store=store) if store is not None else None)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the daemon did not start"
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield Daemon(f"http://127.0.0.1:{port}", data_dir)
    finally:
        server.should_exit = True
        thread.join(timeout=STARTUP_TIMEOUT_S)


@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[Daemon]:
    yield from run_daemon(tmp_path / "data")


@pytest.fixture
def locked_daemon(tmp_path: Path) -> Iterator[Daemon]:
    yield from run_daemon(tmp_path / "data", hash_password(PASSWORD))


def system_chromium() -> str:
    """Debian's Chromium; never a downloaded one. Missing: skip, except in CI where it must be there."""
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is required in CI (apt-get install chromium)", pytrace=False)
        pytest.skip("chromium is not installed (apt-get install chromium)")
    return path


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    chromium = system_chromium()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS, timeout=60_000)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page_errors() -> list[str]:
    """What the page reported as errors: uncaught exceptions and console errors."""
    return []


@pytest.fixture
def page(browser: Browser, page_errors: list[str]) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="en-US")
    context.set_default_timeout(UI_TIMEOUT_MS)
    page = context.new_page()

    def on_page_error(error: PlaywrightError) -> None:
        page_errors.append(str(error))

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            page_errors.append(message.text)

    page.on("pageerror", on_page_error)
    page.on("console", on_console)
    try:
        yield page
    finally:
        context.close()


def entries_of(page: Page, tipo: str) -> Locator:
    """Log entries of one message type (ack, result, pong…), newest first."""
    return page.locator("#log .log-entry").filter(has=page.locator(f".log-type:text-is('{tipo}')"))


def png_bytes_of(page: Page, selector: str) -> list[int]:
    """The first bytes of the image an <img> shows, fetched again by the page itself."""
    head: list[int] = page.eval_on_selector(
        selector,
        "img => fetch(img.src).then(r => r.arrayBuffer()).then(b => Array.from(new Uint8Array(b).slice(0, 8)))",
    )
    return head


def image_size(page: Page, selector: str) -> dict[str, Any]:
    size: dict[str, Any] = page.eval_on_selector(
        selector, "img => ({complete: img.complete, width: img.naturalWidth, height: img.naturalHeight})"
    )
    return size


def test_newcomer_sends_the_test_ticket_and_sees_it_queued_printed_previewed_and_on_paper(
    page: Page, page_errors: list[str], daemon: Daemon
) -> None:
    loaded: dict[str, Response] = {}  # every response the page received, by URL (incl. the preview's blob: URL)
    page.on("response", lambda response: loaded.__setitem__(response.url, response))
    page.goto(daemon.url + "/")
    expect(page.locator("#connection")).to_have_text("Connected")
    expect(page.locator("#open-note")).to_be_visible()  # no password configured: the page says it is open
    expect(page.locator("#printer-list")).to_contain_text("default")

    # The editor starts on the full ticket; its preview is drawn by the server from the real ESC/POS bytes.
    expect(page.locator("#template")).to_have_value("full")
    preview = page.locator("#preview-image")
    expect(preview).to_be_visible()
    page.wait_for_function("() => document.querySelector('#preview-image').naturalWidth > 0")
    shown = loaded[preview.get_attribute("src") or ""]
    assert list(shown.body()[:8]) == PNG_SIGNATURE
    size = image_size(page, "#preview-image")
    assert size["width"] == 576 and size["height"] > 200

    page.get_by_role("button", name="Send", exact=True).click()
    log = page.locator("#log")
    expect(entries_of(page, "ack")).to_contain_text("Job queued for printing")
    expect(entries_of(page, "result")).to_contain_text("Print completed")
    expect(entries_of(page, "result")).to_have_class(re.compile(r"\blog-success\b"))
    expect(page.locator("#jobs-processed")).to_have_text("1")

    # The built-in virtual printer "printed" it: its paper appears in the panel.
    receipt = page.locator("#virtual-output img").first
    expect(receipt).to_be_visible()
    page.wait_for_function("() => document.querySelector('#virtual-output img').naturalWidth > 0")
    assert png_bytes_of(page, "#virtual-output img") == PNG_SIGNATURE
    page.locator("#virtual-output summary", has_text="Transcript").first.click()
    expect(page.locator("#virtual-output pre").first).to_contain_text("Thank you for your visit!")

    # The newcomer's button does the same without touching the editor.
    page.get_by_role("button", name="Print test ticket").click()
    expect(entries_of(page, "result")).to_have_count(2)
    expect(log.locator(".log-entry.log-success")).to_have_count(2)
    expect(page.locator("#virtual-output img")).to_have_count(2)

    for button, reply in (("Ping", "pong"), ("Status", "Queue: "), ("Printers", "printer(s)")):
        page.get_by_role("button", name=button, exact=True).click()
        expect(log.locator(".log-entry").first).to_contain_text(reply)
    assert page_errors == []


def test_preview_shows_the_categorised_error_of_an_invalid_document(page: Page, daemon: Daemon) -> None:
    page.goto(daemon.url + "/")
    expect(page.locator("#preview-image")).to_be_visible()
    page.locator("#template").select_option("barcode")
    editor = page.locator("#editor")
    editor.fill(editor.input_value().replace("5901234123457", "5901234123450"))  # wrong EAN-13 check digit
    error = page.locator("#preview-error")
    expect(error).to_be_visible()
    expect(error.locator(".badge")).to_have_text("BARCODE")
    expect(error).to_contain_text("check digit")
    expect(page.locator("#preview-image")).to_be_hidden()

    editor.fill('{"version": "1.0", ')
    expect(page.locator("#editor-state")).to_contain_text("JSON:")
    expect(error.locator(".badge")).to_have_text("JSON")


def test_preview_warns_about_each_default_the_lenient_reading_substituted(page: Page, daemon: Daemon) -> None:
    page.goto(daemon.url + "/")
    expect(page.locator("#preview-image")).to_be_visible()
    warnings = page.locator("#preview-warnings")
    expect(warnings).to_be_hidden()
    odd = {
        "version": "1.0",
        "profile": {"model": "80mm EC-PM-80250"},
        "commands": [
            {"type": "text", "data": {"content": {"text": "Hola", "align": "middle"}}},
            {"type": "feed", "data": {"lines": 0}},
        ],
    }
    page.locator("#editor").fill(json.dumps(odd))
    expect(warnings).to_be_visible()
    expect(warnings.locator(".preview-warning")).to_have_count(2)
    expect(warnings).to_contain_text("'middle' at command 0 (text) printed as 'left'")
    expect(page.locator("#preview-image")).to_be_visible()  # it still prints

    page.locator("#editor").fill(json.dumps({**odd, "commands": [{"type": "feed", "data": {"lines": 1}}]}))
    expect(warnings).to_be_hidden()


def test_shop_owner_logs_in_and_out_of_a_protected_dashboard(page: Page, locked_daemon: Daemon) -> None:
    page.goto(locked_daemon.url + "/")
    expect(page).to_have_url(locked_daemon.url + "/login")

    page.locator("#password").fill("not it")
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("#login-error")).to_have_text("Wrong password.")

    page.locator("#password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(locked_daemon.url + "/")
    expect(page.locator("#connection")).to_have_text("Connected")
    expect(page.get_by_role("button", name="Log out")).to_be_visible()
    expect(page.locator("#open-note")).to_be_hidden()
    cookie = next(c for c in page.context.cookies() if c["name"] == "ticket_dashboard_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"

    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(locked_daemon.url + "/login?logged_out=1")
    expect(page.locator("#login-error")).to_have_text("You have been logged out.")
    page.goto(locked_daemon.url + "/")
    expect(page).to_have_url(locked_daemon.url + "/login")


CLIENT_LIBRARY_STORY = """async () => {
  const client = new TicketClient({ clientId: "library-test", reconnectDelay: 200 });
  const states = [];
  const opened = () => new Promise((resolve) => {
    if (client.state === "open") return resolve();
    const wait = (state) => { if (state === "open") { client.off("state", wait); resolve(); } };
    client.on("state", wait);
  });
  client.on("state", (state) => states.push(state));
  client.connect();
  await opened();
  const document = {
    version: "1.0",
    profile: { model: "EC-PM-80250" },
    commands: [{ type: "text", data: { content: { text: "From ticket-client.js" } } }],
  };
  const acks = [];
  const result = await client.print(document, { id: "lib-0001", onAck: (ack) => acks.push(ack.status) });
  let refused = null;
  try {
    await client.print({ version: "1.0", profile: { model: "x" }, commands: [] });
  } catch (error) {
    refused = { name: error.name, category: error.category, message: error.message };
  }
  const dropped = new Promise((resolve) => {
    const wait = (state) => { if (state === "closed") { client.off("state", wait); resolve(); } };
    client.on("state", wait);
  });
  client._socket.close();  // the link drops: the client comes back by itself
  await dropped;  // however long the close takes on a busy machine
  await opened();
  const pong = await client.ping();
  const status = await client.status();
  const printers = await client.getPrinters();
  const preview = await client.preview(document);
  client.close();
  return {
    acks, result, refused, states, pong: pong.tipo, status: status.mensaje,
    printers: printers.printers.map((p) => p.name), preview: [preview.tipo, preview.width, preview.image.length > 100],
  };
}"""


def test_ticket_client_library_prints_reconnects_and_reports_categorised_errors(page: Page, daemon: Daemon) -> None:
    page.goto(daemon.url + "/")
    story = page.evaluate(CLIENT_LIBRARY_STORY)
    assert story["acks"] == ["queued"]
    assert story["result"]["tipo"] == "result"
    assert story["result"]["id"] == "lib-0001"
    assert story["result"]["status"] == "success"
    assert story["refused"]["name"] == "TicketClientError"
    assert story["refused"]["category"] == "VALIDATION"
    assert story["refused"]["message"].startswith("VALIDATION: ")
    assert story["states"] == ["connecting", "open", "closed", "connecting", "open", "closed"]
    assert story["pong"] == "pong"
    assert story["status"].startswith("Queue: ")
    assert story["printers"] == ["default"]
    assert story["preview"] == ["preview", 576, True]


def preview_request_for(source: str) -> Callable[[Response], bool]:
    """Matches the answer to the preview request the editor sends for ``source``, its exact text."""
    sent = json.dumps(json.loads(source), separators=(",", ":"), ensure_ascii=False)

    def matches(response: Response) -> bool:
        return response.url.endswith("/api/v1/preview") and response.request.post_data == sent

    return matches


def test_every_template_is_a_printable_document(page: Page, daemon: Daemon) -> None:
    page.goto(daemon.url + "/")
    templates = page.locator("#template option")
    expect(templates).to_have_text(
        ["Simple text", "Full ticket", "Barcode", "QR code", "Table", "Raw ESC/POS", "Burst of 10"]
    )
    for key in templates.evaluate_all("options => options.map(o => o.value)"):
        page.locator("#template").select_option(key)
        source = page.locator("#editor").input_value()
        # The preview request for this template's exact text is answered with an image, not an error.
        with page.expect_response(preview_request_for(source)) as answer:
            page.locator("#editor").dispatch_event("input")
        assert answer.value.status == 200, f"template {key}: {answer.value.text()}"
        expect(page.locator("#preview-image")).to_be_visible()


def test_burst_of_ten_prints_ten_tickets_in_order(page: Page, daemon: Daemon) -> None:
    page.goto(daemon.url + "/")
    expect(page.locator("#connection")).to_have_text("Connected")
    page.locator("#template").select_option("burst")
    page.get_by_role("button", name="Send", exact=True).click()
    results = entries_of(page, "result")
    expect(results).to_have_count(10)
    expect(page.locator("#log .log-entry.log-success")).to_have_count(10)
    ids = [text.split(" · ")[0] for text in results.locator(".log-summary").all_inner_texts()]
    assert ids == sorted(ids, reverse=True)  # newest first in the log: printed in the order sent
    assert ids[-1].endswith("-01") and ids[0].endswith("-10")
