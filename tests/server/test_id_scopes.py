"""docs/protocol.md "Ids", over real WebSocket connections to a daemon on 127.0.0.1: an id is
its client's own (client_id, else address) for ``[spool] duplicate_window_seconds``; a retry is never printed twice,
another document under a used id is refused, and two clients using the same id never touch each other's printing
or results."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx

from clocks import ManualClock
from server.harness import DaemonLauncher, PrinterFarm, WsClient, printed_jobs, ticket, wait_until

NOT_PRINTED_AGAIN = " (duplicate id: not printed again)"
# The printer answers "paper out" until the test says otherwise, and is asked again every 0.2 s.
QUICK_RETRY = {"retry_initial_seconds": 0.2, "retry_max_seconds": 0.2}


def conflict(job_id: str) -> str:
    return f"VALIDATION: id '{job_id}' was already used for a different document; use a new id to print it"


def results_until(client: WsClient, job_id: str) -> list[dict[str, object]]:
    """Messages of ``client`` up to and including the ``result`` of ``job_id`` (bounded by the harness's wait)."""
    seen: list[dict[str, object]] = []
    while not seen or seen[-1].get("tipo") != "result" or seen[-1].get("id") != job_id:
        seen.append(client.recv(timeout=30))
    return seen


def test_two_clients_using_the_same_id_each_get_their_own_job_printed_and_their_own_result(
    daemons: DaemonLauncher,
) -> None:
    running = daemons.start()
    till_a, till_b = running.connect("till-a"), running.connect("till-b")

    ack_a, result_a = till_a.print_job(ticket("order-1", "FROM TILL A"))
    ack_b, result_b = till_b.print_job(ticket("order-1", "FROM TILL B"))

    assert (ack_a["status"], ack_b["status"]) == ("queued", "queued")  # never "duplicate" across clients
    assert (result_a["id"], result_a["status"]) == ("order-1", "success")
    assert (result_b["id"], result_b["status"]) == ("order-1", "success")
    wait_until(lambda: len(running.virtual_jobs("default")) == 2, "both receipts to print")
    printed = running.virtual_jobs("default")
    assert [b"FROM TILL A" in job for job in printed] == [True, False]
    assert [b"FROM TILL B" in job for job in printed] == [False, True]

    # job_status answers within the asking client's own ids.
    assert till_a.request({"tipo": "job_status", "id": "order-1"})["status"] == "success"
    stranger = running.connect("till-c")
    unknown = stranger.request({"tipo": "job_status", "id": "order-1"})
    assert (unknown["tipo"], unknown["status"]) == ("error", "error")


def test_the_same_client_resending_an_id_gets_a_duplicate_ack_and_nothing_prints_twice(
    daemons: DaemonLauncher,
) -> None:
    running = daemons.start()
    till = running.connect("till-a")
    _, first = till.print_job(ticket("dup-1", "ONCE"))
    assert first["status"] == "success"

    again = till.request(ticket("dup-1", "ONCE"))
    assert (again["tipo"], again["id"], again["status"]) == ("ack", "dup-1", "duplicate")
    result = till.recv()
    assert (result["tipo"], result["id"], result["status"]) == ("result", "dup-1", "success")
    assert result["mensaje"] == str(first["mensaje"]) + NOT_PRINTED_AGAIN

    # The same id with another document: refused, never a silent non-print.
    refused = till.request(ticket("dup-1", "SOMETHING ELSE"))
    assert refused == {"tipo": "error", "id": "dup-1", "status": "error", "mensaje": conflict("dup-1")}

    assert till.request({"tipo": "ping", "id": "settle"})["tipo"] == "pong"  # nothing else is on its way
    time.sleep(0.3)  # a wrongly queued job would have printed on the virtual printer by now
    assert len(running.virtual_jobs("default")) == 1


def test_after_the_window_an_id_prints_again(daemons: DaemonLauncher) -> None:
    clock = ManualClock()
    running = daemons.start(spool={"duplicate_window_seconds": 1}, clock=clock)
    till = running.connect("till-a")
    assert till.print_job(ticket("w-1", "FIRST DAY"))[1]["status"] == "success"
    assert till.request(ticket("w-1", "FIRST DAY"))["status"] == "duplicate"
    till.recv()  # its result, sent again

    clock.advance(0.9)  # within the 1 s window: still a duplicate
    assert till.request(ticket("w-1", "FIRST DAY"))["status"] == "duplicate"
    till.recv()  # its result, sent again
    clock.advance(0.2)  # past the window
    ack, result = till.print_job(ticket("w-1", "FIRST DAY"))
    assert (ack["status"], result["status"]) == ("queued", "success")
    assert not str(result["mensaje"]).endswith(NOT_PRINTED_AGAIN)
    wait_until(lambda: len(running.virtual_jobs("default")) == 2, "the id to print again")


def test_a_window_of_zero_prints_every_ticket_as_the_original_did(daemons: DaemonLauncher) -> None:
    running = daemons.start(spool={"duplicate_window_seconds": 0})
    till = running.connect("till-a")
    for _ in range(2):
        ack, result = till.print_job(ticket("again-1", "SAME ID"))
        assert (ack["status"], result["status"]) == ("queued", "success")
    wait_until(lambda: len(running.virtual_jobs("default")) == 2, "both tickets to print")


def test_a_pending_jobs_result_goes_to_its_own_client_even_after_it_reconnects(
    daemons: DaemonLauncher, printer_farm: PrinterFarm, tmp_path: Path
) -> None:
    status_file = tmp_path / "status"
    status_file.write_text("paper_out")
    uri, out = printer_farm.start("kitchen", status_file=status_file)
    running = daemons.start(printers=[{"name": "kitchen", "uri": uri}], spool=QUICK_RETRY)

    till_a = running.connect("till-a")
    assert till_a.request(ticket("p-1", "ORDER OF A"))["status"] == "queued"
    assert till_a.recv()["status"] == "waiting"
    till_a.close()  # the till goes away while its job waits for paper

    till_b = running.connect("till-b")
    ack_b = till_b.request(ticket("p-1", "ORDER OF A"))  # another till, the very same message
    assert (ack_b["tipo"], ack_b["status"]) == ("ack", "queued")  # its own job, not a duplicate of A's

    till_a = running.connect("till-a")  # A comes back with its client_id
    status_file.write_text("ok")
    got_b = results_until(till_b, "p-1")
    got_a = results_until(till_a, "p-1")
    assert [m for m in got_b if m["tipo"] == "result"] == [got_b[-1]] and got_b[-1]["status"] == "success"
    assert [m for m in got_a if m["tipo"] == "result"] == [got_a[-1]] and got_a[-1]["status"] == "success"
    wait_until(lambda: len(printed_jobs(out)) == 2, "both jobs to print")
    # Neither connection gets a second result for p-1.
    for client in (till_a, till_b):
        assert client.request({"tipo": "ping", "id": "after"}) == {"tipo": "pong", "id": "after", "status": "ok"}


def test_the_http_mirror_looks_ids_up_in_the_asking_clients_scope(daemons: DaemonLauncher) -> None:
    running = daemons.start()
    url = running.http_url
    for client_id, line in (("kiosk-1", "KIOSK ONE"), ("kiosk-2", "KIOSK TWO")):
        posted = httpx.post(f"{url}/api/v1/jobs?client_id={client_id}", json=ticket("h-1", line))
        assert (posted.status_code, posted.json()["status"]) == (202, "queued"), posted.text
    again = httpx.post(f"{url}/api/v1/jobs?client_id=kiosk-1", json=ticket("h-1", "ANOTHER"))
    assert (again.status_code, again.json()["mensaje"]) == (400, conflict("h-1"))

    wait_until(
        lambda: httpx.get(f"{url}/api/v1/jobs/h-1?client_id=kiosk-2").json()["status"] == "success", "kiosk-2's job"
    )
    assert httpx.get(f"{url}/api/v1/jobs/h-1").status_code == 404  # this address sent no h-1 of its own

    # The operator sees both jobs; an id alone does not say which one to reprint.
    listed = httpx.get(f"{url}/api/v1/jobs?limit=10").json()["jobs"]
    assert sorted(j["client_id"] for j in listed if j["id"] == "h-1") == ["kiosk-1", "kiosk-2"]
    assert httpx.post(f"{url}/api/v1/jobs/h-1/reprint").status_code == 409
    seq = next(j["seq"] for j in listed if j["client_id"] == "kiosk-2")
    copy = httpx.post(f"{url}/api/v1/jobs/h-1/reprint?seq={seq}")
    assert copy.status_code == 202, copy.text
    assert copy.json()["id"] == "h-1.reprint-1"
    wait_until(lambda: len(running.virtual_jobs("default")) == 3, "the copy to print")
    assert b"KIOSK TWO" in running.virtual_jobs("default")[-1]
    assert httpx.post(f"{url}/api/v1/jobs/h-1/reprint?seq={seq}&owner=x").status_code == 202  # seq decides
    assert httpx.post(f"{url}/api/v1/jobs/other/reprint?seq={seq}").status_code == 404  # seq of another id


def test_a_document_with_a_lone_surrogate_is_stored_and_its_resend_is_a_duplicate(daemons: DaemonLauncher) -> None:
    """What JavaScript sends when it cuts a text inside an emoji: the document the client sent is kept as it is."""
    running = daemons.start()
    till = running.connect("till-a")
    message = ticket("emoji-1", "CUT")
    text = json.dumps(message).replace('"CUT"', '"CUT \\ud83c"')
    till.send(text)
    ack, result = till.recv(), till.recv()
    assert (ack["tipo"], ack["status"], result["status"]) == ("ack", "queued", "success"), (ack, result)
    assert till.request(text)["status"] == "duplicate"
    assert till.recv()["mensaje"].endswith(NOT_PRINTED_AGAIN)


def test_a_resent_id_is_checked_before_its_document_even_when_the_document_is_refused(
    daemons: DaemonLauncher,
) -> None:
    # docs/protocol.md "Ids" puts the duplicate check before validation; the daemon checks it while storing a ticket
    # that renders, and looks the id up for one it refuses, so a refused resend still hears about its id first.
    running = daemons.start()
    till = running.connect("till-a")
    assert till.print_job(ticket("r-1", "FIRST"))[1]["status"] == "success"
    invalid = ticket("r-1", "FIRST")
    invalid["datos"]["commands"] = [{"type": "no-such-command"}]
    assert till.request(invalid) == {"tipo": "error", "id": "r-1", "status": "error", "mensaje": conflict("r-1")}
    unknown_printer = {**ticket("r-1", "FIRST"), "printer": "nowhere"}  # the very same document: a retry
    ack = till.request(unknown_printer)
    assert (ack["tipo"], ack["status"]) == ("ack", "duplicate")
    assert till.recv()["mensaje"].endswith(NOT_PRINTED_AGAIN)
    # A new id with that invalid document is refused for what it is.
    fresh = till.request({**invalid, "id": "r-2"})
    assert fresh["tipo"] == "error" and fresh["mensaje"].startswith("VALIDATION: ") and fresh["id"] == "r-2"
    assert len(running.virtual_jobs("default")) == 1
