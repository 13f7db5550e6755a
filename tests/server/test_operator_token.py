"""With ``server.auth_token`` set, every operator route needs it too (``Authorization: Bearer``): the origin list
and its changes, the virtual printer's receipts (transcripts and images), recent jobs, reprint and cancel. The
operator's own page carries the token in a meta tag, so the dashboard keeps working; nobody else gets it."""

from __future__ import annotations

import html
import re
from typing import Any

import httpx

from server.harness import WAIT_S, DaemonLauncher, RunningDaemon, ticket
from ticket_daemon.server.passwords import hash_password

TOKEN = "op-token-<&\"'>-42"  # characters the page must escape
BEARER = {"Authorization": f"Bearer {TOKEN}"}
AUTH_INVALID = "Invalid or missing auth token"
POS_ORIGIN = "http://pos.lan:5173"
META = re.compile(r'<meta name="ticket-auth-token" content="([^"]*)">')


def print_one(daemon: RunningDaemon, job_id: str) -> dict[str, object]:
    ack, result = daemon.connect().print_job(ticket(job_id, "RECEIPT FOR THE OPERATOR", auth_token=TOKEN))
    assert (ack["status"], result["status"]) == ("queued", "success"), (ack, result)
    return result


def refused_without_and_answered_with(method: str, url: str, **kwargs: Any) -> httpx.Response:
    """``kwargs`` are httpx.request's (json, params…)."""
    for headers in ({}, {"Authorization": "Bearer guess"}):
        refused = httpx.request(method, url, headers=headers, timeout=WAIT_S, **kwargs)
        assert refused.status_code == 401, (method, url, refused.text)
        assert refused.json()["mensaje"] == AUTH_INVALID
    answered = httpx.request(method, url, headers=BEARER, timeout=WAIT_S, **kwargs)
    assert answered.status_code in (200, 202), (method, url, answered.text)
    return answered


def test_each_operator_route_needs_the_token(daemons: DaemonLauncher) -> None:
    daemon = daemons.start(auth_token=TOKEN)
    url = daemon.http_url
    print_one(daemon, "op-1")

    listed = refused_without_and_answered_with("GET", f"{url}/api/v1/virtual/default/jobs").json()
    assert "RECEIPT FOR THE OPERATOR" in listed["jobs"][0]["transcript"]
    png = refused_without_and_answered_with("GET", f"{url}{listed['jobs'][0]['png_url']}")
    assert png.headers["content-type"] == "image/png"

    refused_without_and_answered_with("GET", f"{url}/api/v1/origins")
    allowed = refused_without_and_answered_with("POST", f"{url}/api/v1/origins", json={"origin": POS_ORIGIN})
    assert POS_ORIGIN in allowed.json()["allowed"]
    removed = refused_without_and_answered_with("DELETE", f"{url}/api/v1/origins", params={"origin": POS_ORIGIN})
    assert POS_ORIGIN not in removed.json()["allowed"]

    recent = refused_without_and_answered_with("GET", f"{url}/api/v1/jobs").json()
    assert [job["id"] for job in recent["jobs"]] == ["op-1"]
    copy = refused_without_and_answered_with("POST", f"{url}/api/v1/jobs/op-1/reprint").json()
    assert copy["tipo"] == "job"
    refused_for_cancel = httpx.post(f"{url}/api/v1/jobs/op-1/cancel", timeout=WAIT_S)
    assert (refused_for_cancel.status_code, refused_for_cancel.json()["mensaje"]) == (401, AUTH_INVALID)
    refused_preview = httpx.post(f"{url}/api/v1/preview", json={"commands": []}, timeout=WAIT_S)
    assert (refused_preview.status_code, refused_preview.json()["mensaje"]) == (401, AUTH_INVALID)


def test_the_operators_page_carries_the_token_and_an_open_daemon_adds_nothing(daemons: DaemonLauncher) -> None:
    guarded = daemons.start(auth_token=TOKEN)
    page = httpx.get(f"{guarded.http_url}/", timeout=WAIT_S)
    assert page.status_code == 200
    assert [html.unescape(value) for value in META.findall(page.text)] == [TOKEN]
    assert page.headers["cache-control"] == "no-store"
    assert "access-control-allow-origin" not in page.headers

    open_daemon = daemons.start()
    assert not META.search(httpx.get(f"{open_daemon.http_url}/", timeout=WAIT_S).text)


def test_with_a_password_only_a_logged_in_session_gets_the_token(daemons: DaemonLauncher) -> None:
    daemon = daemons.start(auth_token=TOKEN, dashboard_password_hash=hash_password("owner-pass"))
    with httpx.Client(base_url=daemon.http_url, timeout=WAIT_S) as browser:
        stranger = browser.get("/", follow_redirects=True)
        assert stranger.url.path == "/login"
        assert TOKEN not in stranger.text and html.escape(TOKEN) not in stranger.text and not META.search(stranger.text)

        assert browser.post("/auth/login", json={"password": "owner-pass"}).status_code == 200
        operator = browser.get("/")
        assert [html.unescape(value) for value in META.findall(operator.text)] == [TOKEN]
        # The session alone is not the token: the operator routes still ask for it.
        assert browser.get("/api/v1/origins").status_code == 401
        assert browser.get("/api/v1/origins", headers=BEARER).status_code == 200
