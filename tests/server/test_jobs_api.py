"""The HTTP mirror of the job messages, and the operator's reprint/cancel: what a client without a socket, and a
shop manager at the dashboard, see."""

from __future__ import annotations

from pathlib import Path

import httpx
from starlette.routing import Mount, Route

from server.harness import DaemonLauncher, PrinterFarm, printed_jobs, receipt, ticket, wait_until
from ticket_daemon.server.passwords import hash_password


def test_a_ticket_posted_over_http_is_acked_printed_and_queryable(daemons: DaemonLauncher) -> None:
    running = daemons.start()
    url = running.http_url

    posted = httpx.post(f"{url}/api/v1/jobs?client_id=kiosk", json={"id": "h-1", "datos": receipt("HTTP JOB")})
    assert posted.status_code == 202
    ack = posted.json()
    assert (ack["tipo"], ack["id"], ack["status"], ack["capacity"]) == ("ack", "h-1", "queued", 100)

    # Ids are the client's own: it names itself again to look its job up.
    wait_until(
        lambda: httpx.get(f"{url}/api/v1/jobs/h-1?client_id=kiosk").json()["status"] == "success", "the job to print"
    )
    job = httpx.get(f"{url}/api/v1/jobs/h-1?client_id=kiosk").json()
    assert (job["tipo"], job["printer"], job["attempts"]) == ("job", "default", 1)
    assert job["mensaje"].startswith("Print completed in ")
    assert b"HTTP JOB" in running.virtual_jobs("default")[0]

    again = httpx.post(
        f"{url}/api/v1/jobs?client_id=kiosk", json={"tipo": "ticket", "id": "h-1", "datos": receipt("HTTP JOB")}
    )
    assert again.status_code == 200
    assert (again.json()["status"], again.json()["job_status"]) == ("duplicate", "success")
    mensaje = job["mensaje"] + " (duplicate id: not printed again)"
    assert again.json()["result"] == {"tipo": "result", "id": "h-1", "status": "success", "mensaje": mensaje}
    assert len(running.virtual_jobs("default")) == 1


def test_http_tickets_get_the_same_refusals_as_websocket_ones(daemons: DaemonLauncher) -> None:
    running = daemons.start(auth_token="s3cret", queue_capacity=1)
    url = running.http_url

    no_token = httpx.post(f"{url}/api/v1/jobs", json=ticket("t-1"))
    assert (no_token.status_code, no_token.json()["mensaje"]) == (401, "Invalid or missing auth token")
    bad = httpx.post(f"{url}/api/v1/jobs", json={"id": "t-2", "datos": {"version": "1.0"}, "auth_token": "s3cret"})
    assert bad.status_code == 400 and bad.json()["mensaje"].startswith("VALIDATION: ")
    missing = httpx.get(f"{url}/api/v1/jobs/nope", headers={"Authorization": "Bearer s3cret"})
    assert (missing.status_code, missing.json()["mensaje"]) == (404, "VALIDATION: Job not found: nope")
    foreign = httpx.post(f"{url}/api/v1/jobs", json=ticket("t-3"), headers={"Origin": "https://evil.example"})
    assert foreign.status_code == 403


def test_the_openapi_document_covers_every_http_endpoint(daemons: DaemonLauncher) -> None:
    running = daemons.start()
    document = httpx.get(f"{running.http_url}/api/v1/openapi.json").json()
    assert document["openapi"].startswith("3.")

    dashboard_own = {"/", "/login", "/auth/login", "/auth/logout", "/auth/session"}
    for route in running.app.routes:
        if isinstance(route, Mount) or not isinstance(route, Route) or route.path in dashboard_own:
            continue
        if route.path.startswith("/api/v1/virtual/"):
            continue  # the dashboard's view of virtual printers
        assert route.path in document["paths"], route.path
        for method in route.methods or ():
            if method != "HEAD":
                assert method.lower() in document["paths"][route.path], (route.path, method)


def test_an_operator_cancels_a_waiting_job_and_reprints_a_printed_one(
    daemons: DaemonLauncher, printer_farm: PrinterFarm, tmp_path: Path
) -> None:
    status_file = tmp_path / "status"
    status_file.write_text("paper_out")
    uri, out = printer_farm.start("kitchen", status_file=status_file)
    running = daemons.start(
        printers=[{"name": "kitchen", "uri": uri}],
        spool={"retry_initial_seconds": 0.2, "retry_max_seconds": 0.2},
    )
    url = running.http_url
    client = running.connect("till-1")
    client.print_job(ticket("first", "FIRST"))  # (ack, waiting)
    assert client.request(ticket("second", "SECOND"))["status"] == "queued"
    assert client.recv()["status"] == "waiting"

    answers: list[httpx.Response] = []

    def cancel_first() -> bool:  # 409 only in the few ms a retry has the job "printing"
        answers.append(httpx.post(f"{url}/api/v1/jobs/first/cancel"))
        return answers[-1].status_code != 409

    wait_until(cancel_first, "the cancel to be accepted")
    cancelled = answers[-1]
    assert (cancelled.status_code, cancelled.json()["status"]) == (200, "cancelled")
    result = client.recv()
    assert result == {
        "tipo": "result",
        "id": "first",
        "status": "error",
        "mensaje": "EXECUTION: cancelled by an operator",
    }
    status_file.write_text("ok")
    assert (client.recv(timeout=30)["id"], "success") == ("second", "success")

    too_late = httpx.post(f"{url}/api/v1/jobs/second/cancel")
    assert too_late.status_code == 409
    copy = httpx.post(f"{url}/api/v1/jobs/second/reprint")
    assert copy.status_code == 202
    assert copy.json()["id"] == "second.reprint-1"
    reprinted = client.recv(timeout=30)
    assert (reprinted["id"], reprinted["status"]) == ("second.reprint-1", "success")
    wait_until(lambda: len(printed_jobs(out)) == 2, "the reprint to be saved")
    assert [b"SECOND" in job for job in printed_jobs(out)] == [True, True]

    listed = httpx.get(f"{url}/api/v1/jobs?limit=10").json()["jobs"]
    assert [(j["id"], j["status"]) for j in listed] == [
        ("second.reprint-1", "success"),
        ("second", "success"),
        ("first", "cancelled"),
    ]


def test_operator_actions_need_the_dashboard_login_and_its_origin(daemons: DaemonLauncher) -> None:
    running = daemons.start(dashboard_password_hash=hash_password("open sesame"))
    url = running.http_url
    running.connect().print_job(ticket("p-1"))

    assert httpx.get(f"{url}/api/v1/jobs").status_code == 401
    assert httpx.post(f"{url}/api/v1/jobs/p-1/reprint").status_code == 401
    with httpx.Client(base_url=url) as browser:
        login = browser.post("/auth/login", json={"password": "open sesame"})
        assert login.status_code == 200, login.text
        assert [j["id"] for j in browser.get("/api/v1/jobs").json()["jobs"]] == ["p-1"]
        foreign = browser.post("/api/v1/jobs/p-1/reprint", headers={"Origin": "https://evil.example"})
        assert foreign.status_code == 403
        assert browser.post("/api/v1/jobs/p-1/reprint").status_code == 202
