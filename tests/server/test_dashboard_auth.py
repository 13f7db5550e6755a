"""Dashboard login: a shop owner sets a password; the page then asks for it, remembers it for a while, and shuts
out someone guessing. Driven over real HTTP on 127.0.0.1 with the dashboard's own routes and a clock we move."""

from __future__ import annotations

import argparse
import getpass
import io
import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette

from ticket_daemon.commands.hash_password import hash_password_main
from ticket_daemon.config import Settings, load_settings
from ticket_daemon.printers.registry import PrinterRegistry
from ticket_daemon.server import dashboard as dashboard_module
from ticket_daemon.server.app import create_app
from ticket_daemon.server.dashboard import REMOTE_NEEDS_PASSWORD, dashboard_routes
from ticket_daemon.server.passwords import hash_password, verify_password
from ticket_daemon.server.sessions import SESSION_COOKIE

PASSWORD = "correct horse battery staple"
STARTUP_TIMEOUT_S = 10.0


@pytest.fixture(scope="module")
def password_hash() -> str:
    return hash_password(PASSWORD)


@dataclass
class FakeClock:
    """Monotonic seconds that only move when the test says so."""

    now: float = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Host:
    """The two things the dashboard takes from the daemon."""

    settings: Settings
    registry: PrinterRegistry = field(default_factory=lambda: PrinterRegistry([]))


@dataclass
class Dashboard:
    url: str
    clock: FakeClock

    def client(self, **kwargs: Any) -> httpx.Client:
        """An HTTP client of the dashboard; ``kwargs`` are httpx.Client's (cookies, headers…)."""
        return httpx.Client(base_url=self.url, follow_redirects=False, timeout=10.0, **kwargs)


def serve(app: Starlette) -> Iterator[str]:
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "dashboard server did not start"
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=STARTUP_TIMEOUT_S)


def make_dashboard(tmp_path: Path, password_hash: str) -> Iterator[Dashboard]:
    clock = FakeClock()
    settings = load_settings(
        flags={"server": {"dashboard_password_hash": password_hash}, "storage": {"data_dir": str(tmp_path)}}
    )
    app = Starlette(routes=dashboard_routes(Host(settings), clock=clock))
    for url in serve(app):
        yield Dashboard(url, clock)


@pytest.fixture
def dashboard(tmp_path: Path, password_hash: str) -> Iterator[Dashboard]:
    yield from make_dashboard(tmp_path, password_hash)


@pytest.fixture
def open_dashboard(tmp_path: Path) -> Iterator[Dashboard]:
    yield from make_dashboard(tmp_path, "")


def log_in(client: httpx.Client, password: str = PASSWORD, **headers: str) -> httpx.Response:
    return client.post("/auth/login", data={"password": password}, headers=headers)


# ---- logging in -------------------------------------------------------------------------------------------


def test_dashboard_sends_a_visitor_without_a_session_to_the_login_page(dashboard: Dashboard) -> None:
    with dashboard.client() as client:
        response = client.get("/")
        assert response.status_code == 303
        assert response.headers["location"] == "/login"
        login_page = client.get("/login")
        assert login_page.status_code == 200
        assert 'action="/auth/login"' in login_page.text
        assert client.get("/auth/session").json() == {"password_required": True, "authenticated": False}


def test_right_password_opens_the_dashboard(dashboard: Dashboard) -> None:
    with dashboard.client() as client:
        response = log_in(client)
        assert response.status_code == 303
        assert response.headers["location"] == "/"
        page = client.get("/")
        assert page.status_code == 200
        # The page's words come from its language catalogue: the button is there and says so in English.
        assert 'id="print-test"' in page.text
        assert client.get("/static/i18n/en.json").json()["start.button"] == "Print test ticket"
        assert client.get("/auth/session").json() == {"password_required": True, "authenticated": True}
        # Already logged in: the login page sends you on to the dashboard.
        assert client.get("/login").headers["location"] == "/"


def test_login_also_accepts_json(dashboard: Dashboard) -> None:
    with dashboard.client() as client:
        wrong = client.post("/auth/login", json={"password": "nope"})
        assert wrong.status_code == 401
        assert wrong.json()["mensaje"] == "AUDIT: Wrong password"
        right = client.post("/auth/login", json={"password": PASSWORD})
        assert right.status_code == 200
        assert right.json() == {"status": "ok"}
        assert client.get("/").status_code == 200


def test_session_cookie_is_httponly_and_samesite_strict(dashboard: Dashboard) -> None:
    with dashboard.client() as client:
        cookie = log_in(client).headers["set-cookie"]
    attributes = [part.strip().lower() for part in cookie.split(";")]
    name, _, value = cookie.split(";")[0].partition("=")
    assert name == SESSION_COOKIE
    assert len(value) >= 43  # 256 random bits, base64url
    assert "httponly" in attributes
    assert "samesite=strict" in attributes
    assert "path=/" in attributes
    assert "secure" not in attributes  # plain http on localhost: a Secure cookie would never come back


def test_session_cookie_is_secure_when_served_over_https(dashboard: Dashboard) -> None:
    # Behind a TLS-terminating proxy on the same machine the request arrives as https.
    with dashboard.client() as client:
        cookie = log_in(client, **{"X-Forwarded-Proto": "https"}).headers["set-cookie"]
    assert "secure" in [part.strip().lower() for part in cookie.split(";")]


def test_wrong_password_is_refused_and_audited_without_the_password(
    dashboard: Dashboard, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="ticket_daemon.audit")
    with dashboard.client() as client:
        response = log_in(client, "hunter2")
        assert response.status_code == 303
        assert response.headers["location"] == "/login?error=invalid"
        assert SESSION_COOKIE not in response.headers.get("set-cookie", "")
        assert client.get("/").headers["location"] == "/login"
    audit = [r.getMessage() for r in caplog.records if r.name == "ticket_daemon.audit"]
    assert any(line.startswith("AUDIT: Dashboard login failed") for line in audit)
    assert not any("hunter2" in r.getMessage() for r in caplog.records)


def test_login_posted_from_another_site_is_refused(dashboard: Dashboard) -> None:
    with dashboard.client() as client:
        response = log_in(client, Origin="https://evil.example")
        assert response.status_code == 403
        assert "set-cookie" not in response.headers


# ---- lock-out ---------------------------------------------------------------------------------------------


def test_five_failed_logins_lock_the_address_out_for_five_minutes(
    dashboard: Dashboard, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="ticket_daemon.audit")
    with dashboard.client() as client:
        for _ in range(4):
            assert client.post("/auth/login", json={"password": "guess"}).status_code == 401
        fifth = client.post("/auth/login", json={"password": "guess"})
        assert fifth.status_code == 429
        assert fifth.json()["mensaje"] == "AUDIT: Too many failed logins; try again in 5 minute(s)"
        assert fifth.headers["retry-after"] == "300"

        # Even the right password is refused while locked out.
        dashboard.clock.advance(299)
        locked = client.post("/auth/login", json={"password": PASSWORD})
        assert locked.status_code == 429
        assert locked.headers["retry-after"] == "1"
        assert SESSION_COOKIE not in locked.headers.get("set-cookie", "")
        form = log_in(client)
        assert form.headers["location"].startswith("/login?error=locked")

        dashboard.clock.advance(1)
        assert client.post("/auth/login", json={"password": PASSWORD}).status_code == 200
    audit = [r.getMessage() for r in caplog.records if r.name == "ticket_daemon.audit"]
    assert any(line.startswith("AUDIT: Dashboard login locked for 127.0.0.1 for 300 seconds") for line in audit)
    assert any(line.startswith("AUDIT: Dashboard login refused for 127.0.0.1") for line in audit)


def test_lock_out_is_per_client_address(dashboard: Dashboard) -> None:
    # Addresses as forwarded by a local reverse proxy (uvicorn trusts X-Forwarded-For from 127.0.0.1).
    with dashboard.client() as attacker, dashboard.client() as owner:
        for _ in range(5):
            attacker.post("/auth/login", json={"password": "guess"}, headers={"X-Forwarded-For": "10.0.0.66"})
        refused = attacker.post("/auth/login", json={"password": PASSWORD}, headers={"X-Forwarded-For": "10.0.0.66"})
        assert refused.status_code == 429
        allowed = owner.post("/auth/login", json={"password": PASSWORD}, headers={"X-Forwarded-For": "10.0.0.7"})
        assert allowed.status_code == 200


def test_concurrent_guesses_get_no_more_password_checks_than_the_lock_out_allows(
    dashboard: Dashboard, monkeypatch: pytest.MonkeyPatch
) -> None:
    checked: list[str] = []

    def slow_verify(password_hash: str, password: str) -> bool:
        checked.append(password)
        time.sleep(0.2)  # a slow check: every guess is in flight before the first one is judged
        return verify_password(password_hash, password)

    monkeypatch.setattr(dashboard_module, "verify_password", slow_verify)
    statuses: list[int] = []
    together = threading.Barrier(12, timeout=10)

    def guess(n: int) -> None:
        with dashboard.client() as client:
            client.get("/auth/session")  # connected: the guesses below leave at the same moment
            together.wait()
            statuses.append(client.post("/auth/login", json={"password": f"guess {n}"}).status_code)

    guessers = [threading.Thread(target=guess, args=(n,)) for n in range(12)]
    for guesser in guessers:
        guesser.start()
    for guesser in guessers:
        guesser.join(timeout=30)
    assert len(checked) == 5  # the lock-out's five, however the guesses arrive
    assert sorted(statuses) == [401] * 4 + [429] * 8
    with dashboard.client() as client:
        assert client.post("/auth/login", json={"password": PASSWORD}).status_code == 429


def test_failures_spread_over_more_than_five_minutes_do_not_lock_out(dashboard: Dashboard) -> None:
    with dashboard.client() as client:
        for _ in range(4):
            assert client.post("/auth/login", json={"password": "typo"}).status_code == 401
        dashboard.clock.advance(301)
        assert client.post("/auth/login", json={"password": "typo"}).status_code == 401
        assert client.post("/auth/login", json={"password": PASSWORD}).status_code == 200


# ---- session life ---------------------------------------------------------------------------------------------


def test_session_expires_after_fifteen_idle_minutes(dashboard: Dashboard) -> None:
    with dashboard.client() as client:
        log_in(client)
        dashboard.clock.advance(14 * 60)
        assert client.get("/").status_code == 200  # used again: the 15 minutes start over
        dashboard.clock.advance(14 * 60)
        assert client.get("/").status_code == 200
        dashboard.clock.advance(15 * 60)
        response = client.get("/")
        assert response.status_code == 303
        assert response.headers["location"] == "/login"
        assert client.get("/auth/session").json()["authenticated"] is False


def test_logout_ends_the_session(dashboard: Dashboard) -> None:
    with dashboard.client() as client:
        log_in(client)
        stolen = client.cookies[SESSION_COOKIE]
        response = client.post("/auth/logout")
        assert response.status_code == 303
        assert response.headers["location"] == "/login?logged_out=1"
        assert f'{SESSION_COOKIE}=""' in response.headers["set-cookie"] or "Max-Age=0" in response.headers["set-cookie"]
        assert client.get("/").status_code == 303
    # The old cookie value is dead on the server too, not just forgotten by the browser.
    with dashboard.client(cookies={SESSION_COOKIE: stolen}) as replay:
        assert replay.get("/").status_code == 303


def test_logout_link_ends_the_session_as_the_original_dashboard_does(dashboard: Dashboard) -> None:
    with dashboard.client() as client:
        log_in(client)
        stolen = client.cookies[SESSION_COOKIE]
        response = client.get("/auth/logout")
        assert response.status_code == 303
        assert response.headers["location"] == "/login?logged_out=1"
        assert "Max-Age=0" in response.headers["set-cookie"] or f'{SESSION_COOKIE}=""' in response.headers["set-cookie"]
        assert client.get("/").status_code == 303
    with dashboard.client(cookies={SESSION_COOKIE: stolen}) as replay:
        assert replay.get("/").status_code == 303
    # Without a session (a link on another site: the SameSite=Strict cookie is not sent) it changes nothing.
    with dashboard.client() as stranger:
        assert stranger.get("/auth/logout").status_code == 303


def test_virtual_printer_output_needs_a_session(dashboard: Dashboard) -> None:
    with dashboard.client() as client:
        response = client.get("/api/v1/virtual/default/jobs")
        assert response.status_code == 401
        assert response.json()["mensaje"] == "AUDIT: Log in to the dashboard first"
        log_in(client)
        listing = client.get("/api/v1/virtual/default/jobs")
        assert listing.status_code == 200
        assert listing.json() == {"printer": "default", "jobs": []}
        assert client.get("/api/v1/virtual/nope/jobs").status_code == 404


# ---- no password configured -------------------------------------------------------------------------------------


def test_without_a_password_the_dashboard_is_open_and_says_so(open_dashboard: Dashboard) -> None:
    with open_dashboard.client() as client:
        page = client.get("/")
        assert page.status_code == 200
        # The note is shown when the session says no password is required (dashboard.js), in the page's language.
        assert 'id="open-note"' in page.text
        catalogue = client.get("/static/i18n/en.json").json()
        assert catalogue["open_note.text"].startswith("No dashboard password is set")
        assert client.get("/auth/session").json() == {"password_required": False, "authenticated": True}
        assert client.get("/login").headers["location"] == "/"
        assert client.get("/static/ticket-client.js").status_code == 200


def test_open_dashboard_ignores_a_foreign_host_name(open_dashboard: Dashboard) -> None:
    # DNS rebinding: a hostile page whose name resolves to 127.0.0.1 must not read the open dashboard.
    with open_dashboard.client(headers={"Host": "evil.example:8766"}) as client:
        assert client.get("/").status_code == 403
        assert client.get("/api/v1/virtual/default/jobs").status_code == 401


# ---- an open dashboard stays on this machine ---------------------------------------------------------------


def test_without_a_password_other_machines_cannot_use_the_dashboard_or_operator_apis(tmp_path: Path) -> None:
    settings = load_settings(flags={"storage": {"data_dir": str(tmp_path), "spool": "memory"}})
    # A remote client, as a local reverse proxy forwards it (the test server trusts X-Forwarded-For from 127.0.0.1).
    remote = {"X-Forwarded-For": "192.0.2.44"}
    for url in serve(create_app(settings)):
        with httpx.Client(base_url=url, follow_redirects=False, timeout=10.0) as client:
            operator_paths = (
                ("GET", "/"),
                ("GET", "/api/v1/jobs"),
                ("POST", "/api/v1/jobs/j1/cancel"),
                ("GET", "/api/v1/origins"),
                ("POST", "/api/v1/origins"),
                ("DELETE", "/api/v1/origins?origin=http://pos.lan"),
            )
            for method, path in operator_paths:
                refused = client.request(method, path, headers=remote)
                assert refused.status_code == 403, path
                assert refused.json()["mensaje"] == REMOTE_NEEDS_PASSWORD
            assert client.get("/api/v1/jobs/j1", headers=remote).status_code == 404  # the HTTP mirror stays open
            assert client.get("/").status_code == 200  # this machine still may
            assert client.get("/api/v1/jobs").status_code == 200


# ---- passwords --------------------------------------------------------------------------------------------------


def test_hash_password_reads_stdin_and_prints_a_verifiable_hash(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("s3cret pass\n"))
    assert hash_password_main(argparse.Namespace(password_stdin=True)) == 0
    printed = capsys.readouterr().out.strip()
    assert printed.startswith("$argon2id$")
    assert verify_password(printed, "s3cret pass")
    assert not verify_password(printed, "s3cret pass ")


def test_hash_password_prompt_must_match_twice(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    answers = iter(["first", "second"])
    monkeypatch.setattr(getpass, "getpass", lambda prompt="": next(answers))
    assert hash_password_main(argparse.Namespace(password_stdin=False)) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.strip() == "VALIDATION: The two passwords do not match"


def test_a_malformed_hash_never_verifies() -> None:
    assert not verify_password("not-a-hash", "anything")
    assert not verify_password("", "")
