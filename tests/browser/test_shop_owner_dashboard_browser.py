"""The dashboard as a shop owner reads it, in Spanish and in English: Debian's Chromium against the real daemon on
127.0.0.1, with real ``ticket-daemon virtual-printer`` processes behind ``tcp://`` for the printers that fail.

Each test runs once per language (the browser's locale picks it) and keeps screenshots under its pytest tmp dir
(``screens/``), so what the page looked like can be checked by eye.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect
from websockets.typing import Origin

import ticket_daemon.server.health as health_module
from browser.test_dashboard_browser import UI_TIMEOUT_MS, Daemon, browser, run_daemon  # noqa: F401 (fixtures)
from server.test_storage_health import FailingDisk
from ticket_daemon.server.passwords import hash_password

pytestmark = pytest.mark.browser

PRINTER_START_TIMEOUT_S = 30.0
HAND_TOKEN = """new MutationObserver(function (changes, observer) {
  if (!document.head) return;
  var meta = document.createElement("meta");
  meta.name = "ticket-auth-token";
  meta.content = %s;
  document.head.appendChild(meta);
  observer.disconnect();
}).observe(document, { childList: true, subtree: true });"""
KINDS = {"virtual", "network", "cups", "windows", "serial", "usb", "device", "other"}


@dataclass(frozen=True)
class Words:
    """What the page says in one language (the catalogue's words a user reads)."""

    locale: str
    print_test: str
    send: str
    allow: str
    allow_anyway: str
    remove: str
    cancel: str
    printed: str
    waiting: str
    offline_banner: str
    paper_out_banner: str
    disconnected_banner: str
    connected: str
    disconnected: str
    stale: str
    localhost: str
    null_warning: str
    disk_banner: str
    paper_meta: str
    wrong_password: str
    spool_banner: str
    hung_banner: str


ES = Words(
    locale="es-ES",
    print_test="Imprimir ticket de prueba",
    send="Enviar",
    allow="Permitir",
    allow_anyway="Permitir de todos modos",
    remove="Quitar",
    cancel="Cancelar",
    printed="Impreso (test-",
    waiting="Esperando a la impresora: ",
    offline_banner="La impresora cocina no responde — 1 ticket en espera",
    paper_out_banner="La impresora cocina no tiene papel",
    disconnected_banner="Sin conexión con el servicio de impresión — reconectando…",
    connected="Conectado",
    disconnected="Sin conexión · reintentando cada 3 s",
    stale="último dato",
    localhost="Este ordenador (localhost) siempre está permitido.",
    null_warning="toda página abierta desde un archivo",
    disk_banner="El disco está casi lleno: quedan 100 MB",
    paper_meta="Papel de 80 mm · 72 mm impresos",
    wrong_password="Contraseña incorrecta.",
    spool_banner="No se pueden guardar los tickets: ",
    hung_banner="La impresora cocina no responde",
)
EN = Words(
    locale="en-US",
    print_test="Print test ticket",
    send="Send",
    allow="Allow",
    allow_anyway="Allow anyway",
    remove="Remove",
    cancel="Cancel",
    printed="Printed (test-",
    waiting="Waiting for the printer: ",
    offline_banner="Printer cocina is not responding — 1 ticket waiting",
    paper_out_banner="Printer cocina is out of paper",
    disconnected_banner="No connection to the print service — reconnecting…",
    connected="Connected",
    disconnected="Disconnected · retrying every 3 s",
    stale="last known",
    localhost="This computer (localhost) is always allowed.",
    null_warning="every page opened from a file",
    disk_banner="The disk is nearly full: 100 MB left",
    paper_meta="80 mm paper · 72 mm printed",
    wrong_password="Wrong password.",
    spool_banner="Tickets cannot be saved: ",
    hung_banner="Printer cocina is not responding",
)


@pytest.fixture(params=[ES, EN], ids=["es", "en"])
def words(request: pytest.FixtureRequest) -> Words:
    value: Words = request.param
    return value


@pytest.fixture
def page(browser: Browser, words: Words) -> Iterator[Page]:  # noqa: F811
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale=words.locale)
    context.set_default_timeout(UI_TIMEOUT_MS)
    page = context.new_page()
    try:
        yield page
    finally:
        context.close()


@pytest.fixture
def screens(tmp_path: Path) -> Path:
    folder = tmp_path / "screens"
    folder.mkdir()
    return folder


class VirtualPrinter:
    """A real ``ticket-daemon virtual-printer`` process on 127.0.0.1 (tcp://, answers DLE EOT)."""

    def __init__(self, out: Path, *options: str) -> None:
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "ticket_daemon",
                "virtual-printer",
                "--listen",
                "127.0.0.1:0",
                "--out",
                str(out),
                *options,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env={k: v for k, v in os.environ.items() if not k.upper().startswith("TICKET_")},
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        prefix = "virtual-printer listening on 127.0.0.1:"
        assert line.startswith(prefix), line
        self.uri = f"tcp://127.0.0.1:{int(line.removeprefix(prefix))}"

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=PRINTER_START_TIMEOUT_S)
        if self.process.stdout is not None:
            self.process.stdout.close()


@pytest.fixture
def kitchen_printer(tmp_path: Path) -> Iterator[VirtualPrinter]:
    printer = VirtualPrinter(tmp_path / "kitchen")
    try:
        yield printer
    finally:
        printer.kill()


def start(tmp_path: Path, printers: list[dict[str, Any]] | None = None) -> tuple[Daemon, Iterator[Daemon]]:
    running = run_daemon(tmp_path / "data", printers=printers)
    return next(running), running


@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[Daemon]:
    yield from run_daemon(tmp_path / "data")


def test_the_language_follows_the_browser_and_the_switch_is_remembered(
    page: Page, daemon: Daemon, words: Words, screens: Path
) -> None:
    page.goto(daemon.url + "/")
    expect(page.locator("html")).to_have_attribute("lang", words.locale[:2])
    expect(page.get_by_role("button", name=words.print_test)).to_be_visible()
    expect(page.locator("#connection")).to_have_text(words.connected)
    page.screenshot(path=screens / "start.png", full_page=True)

    other = EN if words is ES else ES
    page.locator("#language").select_option(other.locale[:2])
    expect(page.get_by_role("button", name=other.print_test)).to_be_visible()
    expect(page.locator("#connection")).to_have_text(other.connected)
    page.reload()  # remembered over the browser's own language
    expect(page.locator("html")).to_have_attribute("lang", other.locale[:2])
    expect(page.get_by_role("button", name=other.print_test)).to_be_visible()


def test_the_language_catalogues_say_every_word_in_both_languages() -> None:
    static = Path(health_module.__file__).resolve().parents[1] / "web" / "static"
    spanish = json.loads((static / "i18n" / "es.json").read_text(encoding="utf-8"))
    english = json.loads((static / "i18n" / "en.json").read_text(encoding="utf-8"))
    assert set(spanish) == set(english)
    script = "".join(
        (static / name).read_text(encoding="utf-8") for name in ("dashboard.js", "index.html", "login.js", "login.html")
    )
    used = set(re.findall(r"""(?:\bt|tn)\("([a-z_.]+)""", script)) | set(
        re.findall(r'data-i18n[a-z-]*="([a-z_.]+)"', script)
    )
    plural = set(re.findall(r"""\btn\("([a-z_.]+)""", script))
    built = {key for key in used if key.endswith(".")}  # completed at run time: checked one by one below
    states = ["ready", "offline", "paper_out", "cover_open", "error", "paused", "unknown"]
    problems = ["offline", "paper_out", "cover_open", "error", "paused"]
    every = (
        (used - plural - built)
        | {f"{key}.{count}" for key in plural for count in ("one", "other")}
        | {f"connection.{state}" for state in ("open", "connecting", "closed")}
        | {f"printer.status.{state}" for state in states}
        | {f"banner.{problem}{todo}" for problem in problems for todo in ("", ".do")}
        | {
            f"job.status.{state}"
            for state in ("queued", "printing", "waiting", "success", "error", "expired", "cancelled")
        }
        | {f"template.{key}" for key in re.findall(r'key: "(\w+)"', script)}
        | {f"printer.kind.{kind}" for kind in KINDS}
    )
    assert {key.split(".")[0] + "." for key in every if key.count(".")} >= {key.split(".")[0] + "." for key in built}
    assert sorted(key for key in every if key not in english) == []


def test_the_banner_names_a_printer_that_is_switched_off_and_the_tickets_waiting_for_it(
    page: Page, tmp_path: Path, kitchen_printer: VirtualPrinter, words: Words, screens: Path
) -> None:
    daemon, running = start(tmp_path, [{"name": "cocina", "uri": kitchen_printer.uri, "default": True}])
    try:
        page.goto(daemon.url + "/")
        expect(page.locator("#printer-list [data-printer='cocina']")).to_have_attribute("data-status", "ready")
        expect(page.locator("#banner")).to_be_hidden()

        kitchen_printer.kill()  # the printer is switched off
        page.get_by_role("button", name=words.print_test).click()
        # Bounded by UI_TIMEOUT_MS: the page polls the printers every few seconds.
        expect(page.locator("#banner .banner-text")).to_have_text([words.offline_banner], timeout=UI_TIMEOUT_MS)
        expect(page.get_by_role("alert").filter(has=page.locator(".banner-item"))).to_be_visible()
        # At the button: the ticket waits for its printer, in the daemon's own words.
        expect(page.locator("#print-test-feedback")).to_contain_text(words.waiting)
        expect(page.locator("#print-test-feedback")).to_contain_text("PRINTER: Cannot connect to 127.0.0.1:")
        page.screenshot(path=screens / "printer-offline.png")
    finally:
        next(running, None)


def test_the_banner_names_a_printer_that_hangs(
    page: Page, tmp_path: Path, kitchen_printer: VirtualPrinter, words: Words
) -> None:
    daemon, running = start(tmp_path, [{"name": "cocina", "uri": kitchen_printer.uri, "default": True}])
    try:
        page.goto(daemon.url + "/")
        expect(page.locator("#printer-list [data-printer='cocina']")).to_have_attribute("data-status", "ready")
        kitchen_printer.process.send_signal(signal.SIGSTOP)  # still accepts connections, answers nothing
        expect(page.locator("#banner .banner-text")).to_have_text([words.hung_banner], timeout=UI_TIMEOUT_MS)
        expect(page.locator("#printer-list [data-printer='cocina']")).to_have_attribute("data-status", "offline")
    finally:
        next(running, None)


def test_the_banner_says_a_printer_is_out_of_paper(page: Page, tmp_path: Path, words: Words, screens: Path) -> None:
    printer = VirtualPrinter(tmp_path / "kitchen", "--status", "paper_out")
    daemon, running = start(tmp_path, [{"name": "cocina", "uri": printer.uri, "default": True}])
    try:
        page.goto(daemon.url + "/")
        expect(page.locator("#banner .banner-text")).to_have_text([words.paper_out_banner], timeout=UI_TIMEOUT_MS)
        expect(page.locator("#banner")).to_have_attribute("role", "alert")
        page.screenshot(path=screens / "paper-out.png")
    finally:
        next(running, None)
        printer.kill()


def test_the_banner_warns_when_the_disk_is_nearly_full(
    page: Page, daemon: Daemon, words: Words, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The one stand-in: a nearly full disk cannot be made on the test machine, so the disk's answer is replaced.
    async def nearly_full(data_dir: Path) -> dict[str, int]:
        return {"free_bytes": 100 * 1024 * 1024, "total_bytes": 100 * 1024 * 1024 * 1024}

    monkeypatch.setattr(health_module, "disk_report", nearly_full)
    page.goto(daemon.url + "/")
    expect(page.locator("#banner .banner-text")).to_have_text([words.disk_banner], timeout=UI_TIMEOUT_MS)


def test_the_banner_says_when_tickets_cannot_be_saved(page: Page, tmp_path: Path, words: Words) -> None:
    running = run_daemon(tmp_path / "data", store=FailingDisk())
    daemon = next(running)
    try:
        page.goto(daemon.url + "/")
        expect(page.locator("#banner .banner-text")).to_have_text(
            [words.spool_banner + "spool writes fail: disk I/O error"], timeout=UI_TIMEOUT_MS
        )
    finally:
        next(running, None)


def test_printing_reports_at_the_button_that_printed_in_a_live_region(
    page: Page, daemon: Daemon, words: Words, screens: Path
) -> None:
    page.goto(daemon.url + "/")
    expect(page.locator("#connection")).to_have_text(words.connected)
    page.get_by_role("button", name=words.print_test).click()
    feedback = page.locator("#print-test-feedback")
    expect(feedback).to_have_attribute("aria-live", "polite")
    expect(feedback).to_contain_text(words.printed, timeout=UI_TIMEOUT_MS)
    expect(feedback).to_have_class(re.compile(r"\bfeedback-ok\b"))
    page.screenshot(path=screens / "printed.png")

    # A refusal is shown where Send was pressed, in the daemon's own words.
    ticket = {"tipo": "ticket", "printer": "nowhere", "datos": json.loads(page.locator("#editor").input_value())}
    page.locator("#editor").fill(json.dumps(ticket))
    page.get_by_role("button", name=words.send, exact=True).click()
    sent = page.locator("#send-feedback")
    expect(sent).to_contain_text("PRINTER: ")
    expect(sent).to_contain_text("nowhere")
    expect(sent).to_have_class(re.compile(r"\bfeedback-bad\b"))


def test_send_is_disabled_while_the_json_is_invalid(page: Page, daemon: Daemon, words: Words) -> None:
    page.goto(daemon.url + "/")
    send = page.get_by_role("button", name=words.send, exact=True)
    expect(send).to_be_enabled()
    page.locator("#editor").fill('{"version": "1.0", ')
    expect(send).to_be_disabled()
    page.locator("#editor").fill('{"version": "1.0", "commands": []}')
    expect(send).to_be_enabled()


def test_while_the_daemon_is_down_the_cards_are_stale_actions_disabled_and_reconnection_shown(
    page: Page, tmp_path: Path, words: Words, screens: Path
) -> None:
    daemon, running = start(tmp_path)
    page.goto(daemon.url + "/")
    expect(page.locator("#connection")).to_have_text(words.connected)
    expect(page.locator("#jobs-processed")).to_have_text("0")
    stale = page.locator(".card .stale-mark").first
    expect(stale).to_be_hidden()

    next(running, None)  # the daemon stops
    expect(page.locator("#connection")).to_have_text(words.disconnected, timeout=UI_TIMEOUT_MS)
    expect(page.locator("body")).to_have_class(re.compile(r"\bdisconnected\b"))
    expect(stale).to_be_visible()
    expect(stale).to_have_text(words.stale)
    expect(page.locator("#jobs-processed")).to_have_text("0")  # the last number, marked as last known
    expect(page.get_by_role("button", name=words.print_test)).to_be_disabled()
    expect(page.get_by_role("button", name=words.send, exact=True)).to_be_disabled()
    expect(page.locator("#banner .banner-text")).to_have_text([words.disconnected_banner])
    page.screenshot(path=screens / "disconnected.png")


def test_the_preview_sits_on_its_paper_fits_the_frame_and_zooms_on_click(
    page: Page, daemon: Daemon, words: Words, screens: Path
) -> None:
    page.goto(daemon.url + "/")
    image = page.locator("#preview-image")
    expect(image).to_be_visible()
    page.wait_for_function("() => document.querySelector('#preview-image').naturalWidth > 0")
    expect(page.locator("#preview-meta")).to_contain_text(words.paper_meta)
    box = page.locator("#preview-box").bounding_box()
    paper = page.locator("#preview-paper").bounding_box()
    shown = image.bounding_box()
    assert box and paper and shown
    assert paper["x"] >= box["x"] and paper["x"] + paper["width"] <= box["x"] + box["width"]  # fits its frame
    # 80 mm paper at 203 dpi is 640 dots, of which 576 are printed: a margin either side of the printed area.
    assert shown["width"] / paper["width"] == pytest.approx(576 / 640, abs=0.01)
    assert shown["x"] > paper["x"] and shown["x"] + shown["width"] < paper["x"] + paper["width"]
    page.screenshot(path=screens / "preview.png")

    image.click()
    expect(page.locator("#preview-paper")).to_have_class(re.compile(r"\bpaper-zoomed\b"))
    zoomed = image.bounding_box()
    assert zoomed and zoomed["width"] == pytest.approx(576, abs=1)  # dot for dot
    image.click()
    expect(page.locator("#preview-paper")).not_to_have_class(re.compile(r"\bpaper-zoomed\b"))


def test_blocked_sites_ask_first_warn_about_null_and_an_allowed_site_can_be_removed(
    page: Page, daemon: Daemon, words: Words, screens: Path
) -> None:
    port = daemon.url.rsplit(":", 1)[1]
    with pytest.raises(InvalidStatus):  # a page opened from a file: its Origin is "null"
        connect(f"ws://127.0.0.1:{port}/ws", origin=Origin("null"), proxy=None, open_timeout=10).close()
    page.goto(daemon.url + "/")
    expect(page.locator("#allowed-localhost")).to_have_text(words.localhost)
    blocked = page.locator("#blocked-list .blocked-site[data-origin='null']")
    expect(blocked).to_contain_text(words.null_warning)

    blocked.get_by_role("button", name=words.allow).click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text(words.null_warning)
    page.screenshot(path=screens / "allow-null.png")
    dialog.get_by_role("button", name=words.cancel).click()
    expect(dialog).to_be_hidden()
    expect(page.locator("#allowed-list .allowed-site")).to_have_count(0)  # nothing changed

    blocked.get_by_role("button", name=words.allow).click()
    dialog.get_by_role("button", name=words.allow_anyway).click()
    allowed = page.locator("#allowed-list .allowed-site[data-origin='null']")
    expect(allowed).to_be_visible()
    expect(page.locator("#allowed-localhost")).to_have_text(words.localhost)  # still said after allowing one

    allowed.get_by_role("button", name=words.remove).click()
    dialog.get_by_role("button", name=words.remove).click()
    expect(page.locator("#allowed-list .allowed-site")).to_have_count(0)


def test_printers_and_jobs_read_in_plain_words_and_the_virtual_strip_scrolls_inside_its_panel(
    page: Page, daemon: Daemon, words: Words, screens: Path
) -> None:
    page.goto(daemon.url + "/")
    expect(page.locator("#connection")).to_have_text(words.connected)
    for _ in range(6):
        page.get_by_role("button", name=words.print_test).click()
        expect(page.locator("#print-test-feedback")).to_contain_text(words.printed, timeout=UI_TIMEOUT_MS)
    expect(page.locator("#virtual-output img")).to_have_count(6, timeout=UI_TIMEOUT_MS)
    expect(page.locator("#job-list .job-item")).to_have_count(6, timeout=UI_TIMEOUT_MS)
    page.screenshot(path=screens / "plain-words.png", full_page=True)

    text = page.locator("main").inner_text()
    for internal in ("addr/", "default · default", "dots", " × "):
        assert internal not in text
    # No emoji or pictographs: they need a font a till may lack.
    assert not [ch for ch in page.locator("body").inner_text() if unicodedata.category(ch) == "So" or ord(ch) > 0xFFFF]

    strip = page.locator("#virtual-output .virtual-jobs").first
    assert strip.evaluate("node => node.scrollWidth > node.clientWidth")  # it scrolls…
    assert page.evaluate("() => document.documentElement.scrollWidth <= document.documentElement.clientWidth")  # …alone
    panel = page.locator("#virtual-output").bounding_box()
    own = strip.bounding_box()
    assert panel and own and own["x"] + own["width"] <= panel["x"] + panel["width"] + 1


def test_the_login_page_speaks_the_dashboards_language(page: Page, tmp_path: Path, words: Words) -> None:
    running = run_daemon(tmp_path / "data", hash_password("till-owner-pass"))
    daemon = next(running)
    try:
        page.goto(daemon.url + "/")
        expect(page).to_have_url(daemon.url + "/login")
        page.locator("#password").fill("not it")
        page.locator("#login").click()
        expect(page.locator("#login-error")).to_have_text(words.wrong_password)
        expect(page.locator("html")).to_have_attribute("lang", words.locale[:2])
    finally:
        next(running, None)


def test_a_page_handed_the_token_prints_and_lists_jobs_without_asking_for_it(
    page: Page, tmp_path: Path, words: Words
) -> None:
    token = "shop-token-42"
    running = run_daemon(tmp_path / "data", auth_token=token)
    daemon = next(running)
    try:
        # The operator's own page carries the token in <meta name="ticket-auth-token"> (put in as the page loads,
        # where the server hands it to the operator's page; a page rewritten by the test's network layer would no
        # longer count as this computer's and Chromium would block its socket to 127.0.0.1).
        page.add_init_script(HAND_TOKEN % json.dumps(token))
        page.goto(daemon.url + "/")
        expect(page.locator("#connection")).to_have_text(words.connected)
        expect(page.locator("#auth-token")).to_be_hidden()  # nothing to type
        page.get_by_role("button", name=words.print_test).click()
        expect(page.locator("#print-test-feedback")).to_contain_text(words.printed, timeout=UI_TIMEOUT_MS)
        expect(page.locator("#job-list .job-item").first).to_contain_text("test-", timeout=UI_TIMEOUT_MS)
        expect(page.locator("#log")).not_to_contain_text("auth token")
    finally:
        next(running, None)
