"""docs/protocol.md "Rate limits and floods": each connection has its own budget of tickets and previews per
minute, as in the original daemon; every address has a ceiling of 10 × that across its connections; HTTP requests
(no connection) spend a budget per address. Real sockets with a small limit; the limiter's own clock-free rules with
explicit times.
"""

from __future__ import annotations

import gc
import weakref
from typing import Any

import httpx

from server.harness import DaemonLauncher, WsClient, receipt, ticket, wait_until
from ticket_daemon.server.ratelimit import ADDRESS_CEILING_FACTOR, JobRateLimiter
from ticket_daemon.server.websocket import ClientConnection

RATE_LIMITED = "Rate limit exceeded: please wait before submitting more jobs"


def submit(client: WsClient, message: dict[str, Any]) -> dict[str, Any]:
    """Send a ticket or preview; its reply (``ack``, ``preview`` or ``error``), skipping results of earlier jobs."""
    client.send(message)
    for _ in range(100):
        reply = client.recv()
        if reply["tipo"] != "result":
            return reply
    raise AssertionError("no reply among 100 results")


def preview(job_id: str) -> dict[str, Any]:
    return {"tipo": "preview", "id": job_id, "datos": receipt("PREVIEW")}


# ---- over real sockets ----------------------------------------------------------------------------------------


def test_tills_sharing_one_auth_token_each_get_their_full_budget(daemons: DaemonLauncher) -> None:
    running = daemons.start(rate_limit_per_minute=3, auth_token="shop-secret")
    tills = [running.connect(), running.connect()]
    for n, till in enumerate(tills):
        for k in range(3):
            reply = submit(till, ticket(f"till{n}-{k}", auth_token="shop-secret"))
            assert (reply["tipo"], reply.get("status")) == ("ack", "queued"), reply
    for n, till in enumerate(tills):
        assert submit(till, ticket(f"till{n}-over", auth_token="shop-secret"))["mensaje"] == RATE_LIMITED


def test_tills_sharing_one_client_id_each_get_their_full_budget(daemons: DaemonLauncher) -> None:
    running = daemons.start(rate_limit_per_minute=3)
    tills = [running.connect(client_id="caja"), running.connect(client_id="caja")]
    for n, till in enumerate(tills):
        for k in range(3):
            assert submit(till, ticket(f"caja{n}-{k}"))["tipo"] == "ack"


def test_a_connection_over_its_budget_is_refused_while_another_from_its_address_is_not(
    daemons: DaemonLauncher,
) -> None:
    running = daemons.start(rate_limit_per_minute=3)
    busy, quiet = running.connect(client_id="busy"), running.connect(client_id="quiet")
    for k in range(3):
        busy.print_job(ticket(f"busy-{k}"))
    assert busy.request(ticket("busy-over")) == {
        "tipo": "error",
        "id": "busy-over",
        "status": "error",
        "mensaje": RATE_LIMITED,
    }
    _, result = quiet.print_job(ticket("quiet-1"))
    assert result["status"] == "success"
    assert busy.request(ticket("busy-still-over"))["mensaje"] == RATE_LIMITED


def test_many_connections_from_one_address_stop_at_ten_times_the_limit(daemons: DaemonLauncher) -> None:
    running = daemons.start(rate_limit_per_minute=3)
    outcomes: list[str] = []
    for n in range(14):  # 42 tickets offered: more than the address's 30
        till = running.connect()
        for k in range(3):
            reply = submit(till, ticket(f"c{n}-{k}"))
            outcomes.append(reply["tipo"] if reply["tipo"] == "ack" else reply["mensaje"])
        till.close()
    assert outcomes.count("ack") == 3 * ADDRESS_CEILING_FACTOR == 30
    assert outcomes[30:] == [RATE_LIMITED] * 12
    # Connections add nothing to the shared limiter: it remembers this one address, not fourteen connections.
    assert running.daemon.rate_limiter.remembered_addresses() == 1


def test_previews_spend_the_same_budget_as_tickets(daemons: DaemonLauncher) -> None:
    running = daemons.start(rate_limit_per_minute=3)
    till = running.connect()
    assert submit(till, preview("pv-1"))["tipo"] == "preview"
    assert submit(till, preview("pv-2"))["tipo"] == "preview"
    assert submit(till, ticket("t-1"))["tipo"] == "ack"
    assert submit(till, preview("pv-3")) == {"tipo": "error", "id": "pv-3", "status": "error", "mensaje": RATE_LIMITED}
    assert submit(till, ticket("t-2"))["mensaje"] == RATE_LIMITED
    assert submit(running.connect(), preview("pv-other"))["tipo"] == "preview"


def test_a_closed_connection_leaves_nothing_behind(daemons: DaemonLauncher) -> None:
    running = daemons.start(rate_limit_per_minute=3)
    till = running.connect()
    till.print_job(ticket("before-close"))
    (connection,) = running.daemon.connections
    assert isinstance(connection, ClientConnection)
    budget = weakref.ref(connection.submitter.rate_limit)
    del connection
    till.close()
    wait_until(lambda: not running.daemon.connections, "the connection to be closed")

    def released() -> bool:
        gc.collect()
        return budget() is None

    wait_until(released, "the closed connection's budget to be released")
    assert running.daemon.rate_limiter.remembered_addresses() == 1  # the address ceiling, for its minute


def test_the_http_mirror_is_limited_per_address_previews_included(daemons: DaemonLauncher) -> None:
    running = daemons.start(rate_limit_per_minute=3)
    with httpx.Client(base_url=running.http_url, timeout=10) as http:
        assert http.post("/api/v1/preview", json=receipt("HTTP PREVIEW")).status_code == 200
        # Another client_id on each request changes nothing: the address is the budget.
        assert http.post("/api/v1/jobs?client_id=a", json=ticket("h-1")).status_code == 202
        assert http.post("/api/v1/jobs?client_id=b", json=ticket("h-2")).status_code == 202
        refused = http.post("/api/v1/jobs?client_id=c", json=ticket("h-3"))
        assert (refused.status_code, refused.json()) == (
            429,
            {"tipo": "error", "id": "h-3", "status": "error", "mensaje": RATE_LIMITED},
        )
        refused_preview = http.post("/api/v1/preview", json=receipt("HTTP PREVIEW"))
        assert (refused_preview.status_code, refused_preview.json()) == (
            429,
            {"status": "error", "mensaje": RATE_LIMITED},
        )
    # A WebSocket connection from the same address has its own budget.
    assert submit(running.connect(), ticket("ws-1"))["tipo"] == "ack"


# ---- the limiter's rules, with explicit times -------------------------------------------------------------------


def test_a_connection_budget_slides_with_the_minute_and_refusals_cost_nothing() -> None:
    connection = JobRateLimiter(3).for_connection()
    assert [connection.allow("10.0.0.1", t) for t in (0.0, 1.0, 2.0)] == [True, True, True]
    assert [connection.allow("10.0.0.1", t) for t in (3.0, 30.0, 59.9)] == [False, False, False]
    assert connection.allow("10.0.0.1", 60.0)  # the event at 0.0 left the window; refusals were not counted
    assert not connection.allow("10.0.0.1", 60.5)
    assert connection.allow("10.0.0.1", 61.0)


def test_the_ceiling_is_per_address_and_shared_with_http_requests() -> None:
    limiter = JobRateLimiter(3)
    connections = [limiter.for_connection() for _ in range(12)]
    granted = sum(connection.allow("10.0.0.1", 5.0) for connection in connections for _ in range(3))
    assert granted == 30
    assert not limiter.allow("10.0.0.1", 5.0)  # the HTTP budget is untouched, the ceiling is not
    assert limiter.for_connection().allow("10.0.0.2", 5.0)  # another address: its own ceiling
    assert limiter.allow("10.0.0.2", 5.0)
    assert connections[-1].allow("10.0.0.1", 65.0)  # a minute later the ceiling has room again


def test_http_requests_get_one_connection_worth_per_address() -> None:
    limiter = JobRateLimiter(3)
    assert [limiter.allow("10.0.0.1", 0.0) for _ in range(4)] == [True, True, True, False]
    assert limiter.allow("10.0.0.2", 0.0)
    assert limiter.for_connection().allow("10.0.0.1", 0.0)  # a connection from there still has its own


def test_a_limit_of_zero_turns_every_limit_off() -> None:
    limiter = JobRateLimiter(0)
    connection = limiter.for_connection()
    assert all(connection.allow("10.0.0.1", 0.0) and limiter.allow("10.0.0.1", 0.0) for _ in range(1000))
    assert limiter.remembered_addresses() == 0


def test_idle_addresses_are_forgotten_and_memory_is_bounded() -> None:
    limiter = JobRateLimiter(3, max_addresses=50)
    for n in range(1000):  # a scan from many addresses
        assert limiter.allow(f"10.1.{n // 256}.{n % 256}", n / 1000)
    assert limiter.remembered_addresses() <= 2 * 50
    assert limiter.allow("10.9.9.9", 120.0)  # a minute and more later, every scanning address is idle
    assert limiter.remembered_addresses() == 2  # only 10.9.9.9: its request budget and its ceiling
