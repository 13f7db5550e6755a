"""Clients of a local daemon over WebSocket protocol v1 (the ``websockets`` library): :class:`TicketClient`
(blocking) and :class:`AsyncTicketClient` (asyncio).

``print(document)`` sends a ``ticket`` and waits for its ``result``. When the connection drops (the daemon
restarted, the network blinked) the client reconnects and sends the *same* ticket again: the id makes that safe
(docs/protocol.md "Ids": a resend is answered as a duplicate, never printed a second time), because the
client always names itself: give a ``client_id`` that stays the same across restarts so results that finished while
the client was away reach it when it reconnects; without one it takes a name of its own for its lifetime. A daemon
never reached at all is given up on after ``CONNECT_TIMEOUT_SECONDS``: nothing listens there, so waiting longer only
hides the mistake.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, urlsplit

from websockets.asyncio.client import ClientConnection as AsyncConnection
from websockets.asyncio.client import connect as async_connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI
from websockets.sync.client import ClientConnection, connect

from .result import PrintResult, decode, final_reply, ticket_message

DEFAULT_URL = "ws://127.0.0.1:8766/ws"
# docs/protocol.md "Connection (WebSocket)" recommends 3 s between reconnects; a local daemon restarting takes about a
# second.
RECONNECT_SECONDS = 1.0
# How long a client keeps trying to reach a daemon it has not reached yet: long enough for a daemon that is just
# starting, short enough that "nothing listens there" is said in seconds, not after the whole result timeout.
CONNECT_TIMEOUT_SECONDS = 5.0
MAX_MESSAGE_BYTES = 16 * 1024 * 1024  # a preview reply can be large; results are small

_LINK_ERRORS = (OSError, ConnectionClosed, InvalidHandshake, TimeoutError)


class Unreachable(Exception):
    """No result within the timeout: the daemon could not be reached, or did not answer. ``str()`` is one
    ``EXECUTION: …`` sentence."""


def _url_with_client(url: str, client_id: str | None) -> str:
    """The URL with ``?client_id``. Only a client that names itself has a resent id answered as a duplicate
    (docs/protocol.md "Ids"), and this client resends after a reconnect: without a name it takes one."""
    if "client_id=" in urlsplit(url).query:
        return url
    name = client_id or f"ticket-client-{uuid.uuid4().hex[:12]}"
    return f"{url}{'&' if '?' in url else '?'}client_id={quote(name)}"


class TicketClient:
    """``TicketClient("ws://127.0.0.1:8766/ws", client_id="till-1", auth_token=…)``; use as a context manager or
    call :meth:`close`."""

    def __init__(self, url: str = DEFAULT_URL, *, client_id: str | None = None, auth_token: str | None = None) -> None:
        self.url = _url_with_client(url, client_id)
        self._shown_url = url  # for messages: without query parameters
        self.auth_token = auth_token
        self._ws: ClientConnection | None = None

    def __enter__(self) -> TicketClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._ws is not None:
            self._ws.close()
            self._ws = None

    def print(
        self,
        document: Mapping[str, Any],
        id: str | None = None,
        printer: str | None = None,
        timeout: float = 60.0,
    ) -> PrintResult:
        """Print ``document`` (a v1 document: the ticket's ``datos``) and wait for its result."""
        message = ticket_message(document, job_id=id, printer=printer, auth_token=self.auth_token)
        text, job_id = json.dumps(message), str(message["id"])
        deadline = time.monotonic() + timeout
        connect_by = time.monotonic() + CONNECT_TIMEOUT_SECONDS
        reached = self._ws is not None
        last_error = "no answer"
        while time.monotonic() < deadline:
            try:
                ws = self._connection(deadline)
                reached = True
                ws.send(text)  # again after a reconnect: same id, so a duplicate at worst
                while True:
                    reply = decode(ws.recv(timeout=max(0.01, deadline - time.monotonic())))
                    result = final_reply(reply, job_id) if reply is not None else None
                    if result is not None:
                        return result
            except InvalidURI as error:
                raise Unreachable(f"EXECUTION: {error}") from None
            except _LINK_ERRORS as error:
                last_error = str(error) or type(error).__name__
                self.close()
                if not reached and time.monotonic() >= connect_by:
                    raise Unreachable(_not_reached(self._shown_url, last_error)) from None
                time.sleep(max(0.0, min(RECONNECT_SECONDS, deadline - time.monotonic())))
        raise Unreachable(_no_result(self._shown_url, timeout, last_error))

    def _connection(self, deadline: float) -> ClientConnection:
        if self._ws is None:
            budget = max(0.01, min(CONNECT_TIMEOUT_SECONDS, deadline - time.monotonic()))
            # legacy=True: a connection kept open across calls, not a context manager (websockets >= 17).
            self._ws = connect(self.url, open_timeout=budget, proxy=None, max_size=MAX_MESSAGE_BYTES, legacy=True)
            self._ws.recv(timeout=budget)  # docs/protocol.md "Connection (WebSocket)": "info" at once
        return self._ws


class AsyncTicketClient:
    """The asyncio flavour: ``async with AsyncTicketClient(url) as client: result = await client.print(doc)``."""

    def __init__(self, url: str = DEFAULT_URL, *, client_id: str | None = None, auth_token: str | None = None) -> None:
        self.url = _url_with_client(url, client_id)
        self._shown_url = url
        self.auth_token = auth_token
        self._ws: AsyncConnection | None = None
        self._lock = asyncio.Lock()  # one ticket in flight per connection: replies are matched in order

    async def __aenter__(self) -> AsyncTicketClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        if self._ws is not None:
            await self._ws.close()
            self._ws = None

    async def print(
        self,
        document: Mapping[str, Any],
        id: str | None = None,
        printer: str | None = None,
        timeout: float = 60.0,
    ) -> PrintResult:
        message = ticket_message(document, job_id=id, printer=printer, auth_token=self.auth_token)
        text, job_id = json.dumps(message), str(message["id"])
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        connect_by = loop.time() + CONNECT_TIMEOUT_SECONDS
        last_error = "no answer"
        async with self._lock:
            reached = self._ws is not None
            while loop.time() < deadline:
                try:
                    async with asyncio.timeout(max(0.01, deadline - loop.time())):
                        ws = await self._connection()
                        reached = True
                        await ws.send(text)
                        while True:
                            reply = decode(await ws.recv())
                            result = final_reply(reply, job_id) if reply is not None else None
                            if result is not None:
                                return result
                except InvalidURI as error:
                    raise Unreachable(f"EXECUTION: {error}") from None
                except _LINK_ERRORS as error:
                    last_error = str(error) or type(error).__name__
                    await self.close()
                    if not reached and loop.time() >= connect_by:
                        raise Unreachable(_not_reached(self._shown_url, last_error)) from None
                    await asyncio.sleep(max(0.0, min(RECONNECT_SECONDS, deadline - loop.time())))
        raise Unreachable(_no_result(self._shown_url, timeout, last_error))

    async def _connection(self) -> AsyncConnection:
        if self._ws is None:
            self._ws = await async_connect(
                self.url, open_timeout=CONNECT_TIMEOUT_SECONDS, proxy=None, max_size=MAX_MESSAGE_BYTES
            )
            await self._ws.recv()  # the "info" greeting
        return self._ws


def _no_result(url: str, timeout: float, reason: str) -> str:
    return f"EXECUTION: no result from the daemon at {url} within {timeout:g} s ({reason})"


def _not_reached(url: str, reason: str) -> str:
    return (
        f"EXECUTION: no result from the daemon at {url}: nothing answered there within "
        f"{CONNECT_TIMEOUT_SECONDS:g} s ({reason}). Is ticket-daemon running, and is this its address?"
    )
