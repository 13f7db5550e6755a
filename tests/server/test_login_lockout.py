"""A guessing run cannot lock the operator out: 50 failed logins from distinct IPv6 /64s only slow further remote
attempts down, while the operator on this machine, and a browser with a live session, log in at once. The failures
come from injected IPv6 addresses through the running daemon's own app (one machine cannot own 50 /64s); the
operator logs in over a real socket on 127.0.0.1."""

from __future__ import annotations

import asyncio

import httpx
from argon2 import PasswordHasher

from server.harness import WAIT_S, DaemonLauncher, RunningDaemon
from ticket_daemon.server.sessions import LOCKOUT_SECONDS, MAX_FAILED_LOGINS_GLOBAL, SESSION_COOKIE

PASSWORD = "owner-pass"
# A real argon2id hash with the cheapest parameters: 50 checks of the recommended ones take a minute of CPU.
CHEAP_HASH = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1).hash(PASSWORD)


async def login_from(daemon: RunningDaemon, address: str, password: str, cookie: str | None = None) -> httpx.Response:
    """A login posted from ``address`` (injected: the app sees it as the client's address)."""
    transport = httpx.ASGITransport(app=daemon.app, client=(address, 40000))
    cookies = {SESSION_COOKIE: cookie} if cookie else None
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1", cookies=cookies) as client:
        return await client.post("/auth/login", json={"password": password})


def test_a_guessing_run_from_many_networks_never_locks_out_the_operator(daemons: DaemonLauncher) -> None:
    daemon = daemons.start(dashboard_password_hash=CHEAP_HASH)

    async def guessing_run() -> tuple[str, list[httpx.Response], httpx.Response, httpx.Response, httpx.Response]:
        logged_in_before = await login_from(daemon, "203.0.113.5", PASSWORD)
        assert logged_in_before.status_code == 200
        guesses = [
            await login_from(daemon, f"2001:db8:{n:x}::1", f"guess-{n}") for n in range(MAX_FAILED_LOGINS_GLOBAL)
        ]
        on_ipv6_loopback = await login_from(daemon, "::1", PASSWORD)
        another_network = await login_from(daemon, "2001:db8:ffff::1", PASSWORD)
        with_session = await login_from(daemon, "203.0.113.5", PASSWORD, logged_in_before.cookies[SESSION_COOKIE])
        return logged_in_before.cookies[SESSION_COOKIE], guesses, on_ipv6_loopback, another_network, with_session

    _, guesses, on_ipv6_loopback, another_network, with_session = asyncio.run(guessing_run())
    assert [reply.status_code for reply in guesses] == [401] * MAX_FAILED_LOGINS_GLOBAL

    operator = httpx.post(f"{daemon.http_url}/auth/login", json={"password": PASSWORD}, timeout=WAIT_S)
    assert operator.status_code == 200, operator.text
    assert SESSION_COOKIE in operator.cookies
    assert on_ipv6_loopback.status_code == 200
    assert with_session.status_code == 200

    # The network is slowed, not shut out: a wait of seconds, not the 5-minute lock-out.
    assert another_network.status_code == 429
    assert 1 <= int(another_network.headers["retry-after"]) <= round(LOCKOUT_SECONDS / MAX_FAILED_LOGINS_GLOBAL)
