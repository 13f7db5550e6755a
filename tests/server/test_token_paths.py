"""With ``server.auth_token`` set, every path that prints, renders or reveals jobs needs the token: WebSocket
``ticket``, ``preview`` and ``job_status``; the HTTP mirror and the operator's reprint/cancel (``Authorization:
Bearer``). Being on this computer is not enough."""

from __future__ import annotations

from typing import Any

import httpx

from server.harness import WAIT_S, DaemonLauncher, RunningDaemon, WsClient, receipt, ticket

TOKEN = "s3cret-token"
AUTH_INVALID = "Invalid or missing auth token"
BEARER = {"Authorization": f"Bearer {TOKEN}"}


def assert_refused(response: httpx.Response) -> None:
    assert response.status_code == 401, response.text
    body = response.json()
    assert (body["status"], body["mensaje"]) == ("error", AUTH_INVALID)


def printed_job(daemon: RunningDaemon, job_id: str) -> dict[str, Any]:
    client = daemon.connect()
    ack, result = client.print_job(ticket(job_id, "TOKEN JOB", auth_token=TOKEN))
    assert (ack["status"], result["status"]) == ("queued", "success"), (ack, result)
    return result


def test_websocket_preview_and_job_status_need_the_token(daemons: DaemonLauncher) -> None:
    daemon = daemons.start(auth_token=TOKEN)
    printed_job(daemon, "tok-1")
    client = daemon.connect()

    refused = client.request({"tipo": "preview", "datos": receipt("HELLO")})
    assert (refused["tipo"], refused["mensaje"]) == ("error", AUTH_INVALID)
    refused = client.request({"tipo": "job_status", "id": "tok-1"})
    assert (refused["tipo"], refused["mensaje"]) == ("error", AUTH_INVALID)
    wrong = client.request({"tipo": "job_status", "id": "tok-1", "auth_token": "guess"})
    assert wrong["mensaje"] == AUTH_INVALID

    preview = client.request({"tipo": "preview", "datos": receipt("HELLO"), "auth_token": TOKEN})
    assert (preview["tipo"], preview["status"]) == ("preview", "ok")
    status = client.request({"tipo": "job_status", "id": "tok-1", "auth_token": TOKEN})
    assert (status["tipo"], status["status"]) == ("job", "success")


def test_a_connection_that_proved_the_token_on_connect_needs_it_no_more(daemons: DaemonLauncher) -> None:
    daemon = daemons.start(auth_token=TOKEN)
    printed_job(daemon, "tok-2")
    client = WsClient(f"ws://127.0.0.1:{daemon.port}/ws?auth_token={TOKEN}")
    daemon.clients.append(client)
    assert client.recv()["tipo"] == "info"
    assert client.request({"tipo": "job_status", "id": "tok-2"})["tipo"] == "job"
    assert client.request({"tipo": "preview", "datos": receipt("HELLO")})["tipo"] == "preview"


def test_http_mirror_needs_the_bearer_token(daemons: DaemonLauncher) -> None:
    daemon = daemons.start(auth_token=TOKEN)
    url = daemon.http_url
    printed_job(daemon, "tok-3")

    assert_refused(httpx.post(f"{url}/api/v1/preview", json=receipt("HI"), timeout=WAIT_S))
    assert_refused(httpx.get(f"{url}/api/v1/jobs/tok-3", timeout=WAIT_S))
    assert_refused(httpx.post(f"{url}/api/v1/jobs", json={"id": "h-1", "datos": receipt("HI")}, timeout=WAIT_S))
    assert_refused(
        httpx.post(
            f"{url}/api/v1/jobs",
            json={"id": "h-1", "datos": receipt("HI"), "auth_token": TOKEN},  # a wrong header is not overruled
            headers={"Authorization": "Bearer guess"},
            timeout=WAIT_S,
        )
    )

    preview = httpx.post(f"{url}/api/v1/preview", json=receipt("HI"), headers=BEARER, timeout=WAIT_S)
    assert (preview.status_code, preview.headers["content-type"]) == (200, "image/png")
    job = httpx.get(f"{url}/api/v1/jobs/tok-3", headers=BEARER, timeout=WAIT_S)
    assert (job.status_code, job.json()["status"]) == (200, "success")
    posted = httpx.post(
        f"{url}/api/v1/jobs", json={"id": "h-2", "datos": receipt("HI")}, headers=BEARER, timeout=WAIT_S
    )
    assert posted.status_code == 202, posted.text


def test_operator_actions_from_this_computer_need_the_token_too(daemons: DaemonLauncher) -> None:
    # The dashboard has no password, so this machine is an operator: it still may not reprint without the token.
    daemon = daemons.start(auth_token=TOKEN)
    url = daemon.http_url
    printed_job(daemon, "tok-4")
    copies_before = len(daemon.virtual_jobs("default"))

    assert_refused(httpx.post(f"{url}/api/v1/jobs/tok-4/reprint", timeout=WAIT_S))
    assert_refused(httpx.post(f"{url}/api/v1/jobs/tok-4/cancel", timeout=WAIT_S))
    assert_refused(httpx.get(f"{url}/api/v1/jobs", timeout=WAIT_S))
    assert_refused(httpx.post(f"{url}/api/v1/jobs/tok-4/reprint", headers={"Authorization": "Bearer x"}))
    assert len(daemon.virtual_jobs("default")) == copies_before

    reprinted = httpx.post(f"{url}/api/v1/jobs/tok-4/reprint", headers=BEARER, timeout=WAIT_S)
    assert reprinted.status_code == 202, reprinted.text
    listing = httpx.get(f"{url}/api/v1/jobs", headers=BEARER, timeout=WAIT_S)
    assert listing.status_code == 200
    assert {job["id"] for job in listing.json()["jobs"]} >= {"tok-4", reprinted.json()["id"]}


def test_without_a_configured_token_nothing_changes(daemons: DaemonLauncher) -> None:
    daemon = daemons.start()
    client = daemon.connect()
    assert client.request({"tipo": "preview", "datos": receipt("HELLO")})["tipo"] == "preview"
    assert httpx.post(f"{daemon.http_url}/api/v1/preview", json=receipt("HI"), timeout=WAIT_S).status_code == 200
