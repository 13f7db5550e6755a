"""The ``/ws`` door: WebSocket protocol v1 (docs/protocol.md), one :class:`ClientConnection` per socket.

A door only moves bytes: each text frame is read by the protocol (``protocol.requests``) into a typed request or
a refusal, the request is answered by the service (``spool.service``), and the replies go back out. The
connection's protocol state (message budget, token proven, identity, attached, OPEN → CLOSING → CLOSED) is one
:class:`~ticket_daemon.protocol.connection.ConnectionState`.

Each connection has a bounded outbox drained by its own sender task, so a worker reporting a result, or another
client, never waits on a slow reader; a client whose unread replies overflow the outbox is disconnected. Frames are
handled one at a time in arrival order (an ``ack`` always precedes that client's later replies); big frames are
read in a worker thread. No exception escapes a handler: it is logged and the client gets ``EXECUTION: internal
error``. Nothing is sent after the close frame.

``?client_id=NAME`` names the client; the results of its jobs that finished while it was away are sent when it
connects. When ``server.auth_token`` is configured that happens only once the connection proved the token: with
``?auth_token=TOKEN`` on connect, or with the first ``ticket`` carrying the right ``auth_token`` (a client_id is a
name, not a secret). ``preview`` and ``job_status`` render or reveal jobs, so with a token configured they need it
as well: in the message, or proved once by the connection.
A page whose ``Origin`` is not allowed is refused with HTTP 403 before the upgrade (``origins.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketDisconnected

from ..logs import audit
from ..protocol import messages, requests
from ..protocol.connection import ClientIdentity, ConnectionState, client_id_of
from ..protocol.flood import MessageBudget, Verdict
from ..spool import service
from ..spool.intake import Submitter
from .daemon import Daemon
from .origins import OriginRegistry

log = logging.getLogger(__name__)

# Frames bigger than this are read in a worker thread: ~1 ms of parsing is fine on the event loop, a 4 MB frame
# (~20 ms) is not.
INLINE_JSON_CHARS = 64 * 1024
# What sending raises once the client is gone (starlette; uvicorn's ClientDisconnected is an OSError): not a fault.
CLIENT_GONE = (WebSocketDisconnect, WebSocketDisconnected, OSError)
# On a graceful close (daemon stopping) the replies already queued get this long to reach the client.
FLUSH_SECONDS = 2.0
# Closing handshake bound: a client that does not read cannot hold its connection open.
CLOSE_SECONDS = 2.0

_T = TypeVar("_T")


def websocket_endpoint(daemon: Daemon, origins: OriginRegistry) -> Callable[[WebSocket], Awaitable[None]]:
    async def endpoint(websocket: WebSocket) -> None:
        origin = websocket.headers.get("origin")
        address = websocket.client.host if websocket.client else "unknown"
        if not origins.allows(origin, websocket.headers.get("host")):
            # A web page on another site must not be able to print. Refused at the handshake with HTTP 403, so
            # the page's console says why; the origin is listed for the operator (docs/protocol.md "Who may connect").
            origins.refused(origin)  # logged once per origin, not on every reconnect of the page
            await refuse_handshake(websocket)
            return
        await websocket.accept()
        connection = ClientConnection(websocket, daemon, address=address)
        daemon.connections.add(connection)
        try:
            await connection.run()
        finally:
            daemon.connections.discard(connection)

    return endpoint


async def refuse_handshake(websocket: WebSocket) -> None:
    """HTTP 403 instead of the upgrade. A close before ``accept`` is how ASGI says so (servers answer it with 403);
    the denial-response extension would allow a body, but uvicorn's sans-I/O WebSocket logs it as an unfinished
    handshake."""
    await websocket.close(messages.CLOSE_POLICY_VIOLATION, "Origin not allowed")


class ClientConnection:
    """One socket: its protocol state, its outbox and sender, and the reader that hands frames to the service.
    It is the sink of its own replies (:class:`~ticket_daemon.spool.results.ResultSink`)."""

    def __init__(self, websocket: WebSocket, daemon: Daemon, *, address: str) -> None:
        settings = daemon.settings.server
        self.websocket = websocket
        self.daemon = daemon
        query = websocket.query_params
        identity = ClientIdentity(address, client_id_of(query.get("client_id")))
        budget = MessageBudget(settings.messages_per_second, settings.message_burst, now=time.monotonic())
        self.state = ConnectionState(
            identity,
            budget,
            expected_token=settings.auth_token.get_secret_value(),
            presented_token=query.get("auth_token"),
        )
        # docs/protocol.md "Rate limits and floods": this connection's own budget of tickets and previews, under the
        # ceiling of its address; dropped with the connection.
        self.submitter = Submitter(identity, self, daemon.rate_limiter.for_connection(), self.state)
        self._max_frame = settings.max_frame_bytes
        # (frame, id of the job whose result it is): a result counts as delivered once written, not once queued.
        self._outbox: asyncio.Queue[tuple[str, str | None]] = asyncio.Queue(maxsize=settings.outbound_queue_messages)
        self._max_outbox_bytes = settings.outbound_queue_bytes
        self._outbox_bytes = 0  # characters queued, not yet written (~bytes: replies are nearly all ASCII)
        self._closing = asyncio.Event()
        self._between_frames = False  # the reader waits for the next frame (a close may stop it right away)
        self._finished = asyncio.Event()

    # --- outgoing (the sink) -----------------------------------------------------------------------------------

    def send(self, message: messages.Message) -> bool:
        """Queue a message for this client; False when it could not be (closing, or too far behind). Never blocks;
        a client too far behind is disconnected."""
        return self._queue(message, None)

    def result(self, job_id: str, message: messages.Message) -> bool:
        """Queue the result of job ``job_id``: recorded as delivered once written to the socket."""
        return self._queue(message, job_id)

    def _queue(self, message: messages.Message, result_of: str | None) -> bool:
        if not self.state.is_open:
            return False
        text = messages.encode(message)
        try:
            if self._outbox_bytes and self._outbox_bytes + len(text) > self._max_outbox_bytes:  # one always fits
                raise asyncio.QueueFull
            self._outbox.put_nowait((text, result_of))
        except asyncio.QueueFull:
            log.warning("client %s is not reading its replies: disconnecting it", self.describe())
            self.request_close(messages.CLOSE_POLICY_VIOLATION, "Too many unread replies", flush=False)
            return False
        self._outbox_bytes += len(text)
        return True

    def request_close(self, code: int, reason: str, *, flush: bool) -> None:
        if self.state.close(code, reason, flush=flush):
            self._closing.set()

    async def close(self, code: int, reason: str) -> None:
        """Close after flushing the replies already queued (used when the daemon stops)."""
        self.request_close(code, reason, flush=True)
        try:
            await asyncio.wait_for(self._finished.wait(), timeout=FLUSH_SECONDS + CLOSE_SECONDS + 1)
        except TimeoutError:
            log.warning("client %s did not close in time", self.describe())

    def describe(self) -> str:
        return self.state.identity.client_key

    async def _send_loop(self) -> None:
        """The connection's one sender, and the only task that writes to the socket before the close frame. It
        never dies silently: a client that left ends it quietly (the receive loop sees the disconnect); anything
        else is logged and closes the connection with 1011, so a till is never left on an open socket that will not
        answer again."""
        try:
            while True:
                text, result_of = await self._outbox.get()
                self._outbox_bytes -= len(text)
                try:
                    await self.websocket.send_text(text)
                finally:
                    self._outbox.task_done()
                if result_of is not None:
                    self.daemon.spool.results.written(self.state.identity.owner, result_of)
        except CLIENT_GONE:
            self.state.closed()
        except Exception:
            log.exception("sending to client %s failed: closing its connection", self.describe())
            self.request_close(messages.CLOSE_INTERNAL_ERROR, "Internal error", flush=False)

    # --- the connection's life ---------------------------------------------------------------------------------

    async def run(self) -> None:
        sender = asyncio.create_task(self._send_loop(), name=f"ws-send:{self.describe()}")
        reader: asyncio.Task[bool] | None = None
        closing = asyncio.create_task(self._closing.wait())
        try:
            # docs/protocol.md "Connection (WebSocket)": greet at once.
            self.send(messages.info_connected())
            if self.state.may_attach(self.websocket.query_params.get("auth_token")):
                await service.attach(self.daemon.spool, self.submitter)
            reader = asyncio.create_task(self._read_frames(), name=f"ws-read:{self.describe()}")
            if not await self._frames_until_closing(reader, closing):
                return  # the client left
            await self._close_now(sender)
        finally:
            self.state.closed()
            service.detach(self.daemon.spool, self.submitter)
            tasks = [task for task in (sender, reader, closing) if task is not None]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            self._finished.set()

    async def _frames_until_closing(self, reader: asyncio.Task[bool], closing: asyncio.Task[bool]) -> bool:
        """Wait until the client leaves (False) or a close is requested (True). A close requested while a frame is
        being handled lets that frame finish (its replies are queued first); one requested between frames stops the
        reader at once."""
        await asyncio.wait({reader, closing}, return_when=asyncio.FIRST_COMPLETED)
        if not reader.done() and self._between_frames:
            reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            return await reader
        return True

    async def _read_frames(self) -> bool:
        """Handle frames in arrival order until the client leaves (False) or a close is requested (True). One
        long-lived task per connection: waiting for the next frame costs no task and no wait set per frame."""
        while not self._closing.is_set():
            try:
                self._between_frames = True
                event = await self.websocket.receive()
                self._between_frames = False
                if event["type"] == "websocket.disconnect":
                    self.state.closed()
                    return False
                await self._on_frame(event.get("text"), event.get("bytes"))
            except Exception:  # never let a bug take the server down: drop this one connection
                log.exception("connection %s failed", self.describe())
                self.request_close(messages.CLOSE_INTERNAL_ERROR, "Internal error", flush=True)
        return True

    async def _close_now(self, sender: asyncio.Task[None]) -> None:
        close = self.state.close_request
        assert close is not None  # only reached once a close was requested
        if close.flush and not sender.done():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._outbox.join(), timeout=FLUSH_SECONDS)
        # The sender is stopped before the close frame, so no send can follow it.
        sender.cancel()
        await asyncio.gather(sender, return_exceptions=True)
        # Already gone, or not reading: then the server drops the socket when we return.
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.websocket.close(close.code, close.reason), timeout=CLOSE_SECONDS)

    async def _on_frame(self, text: str | None, data: bytes | None) -> None:
        verdict = self.state.admit(time.monotonic())
        if verdict is Verdict.CLOSE:
            audit("message flood, connection closed", client=self.describe())
            self.request_close(messages.CLOSE_POLICY_VIOLATION, "Too many messages", flush=False)
            return
        if verdict is Verdict.REFUSE_AND_TELL:
            audit("message flood, messages dropped", client=self.describe())
            job_id = await _off_loop_if_big(requests.id_of_frame, text) if text is not None else None
            self.send(messages.error(messages.TOO_MANY_MESSAGES, job_id))
            return
        if verdict is Verdict.REFUSE_QUIETLY:
            return
        if text is None:
            self.send(messages.error(messages.BINARY_FRAME))
            return
        if len(text) > self._max_frame:  # the server refuses these first (ws_max_size); kept for any other server
            self.request_close(messages.CLOSE_TOO_BIG, "Message too big", flush=False)
            return
        request = await _off_loop_if_big(requests.read, text)
        if isinstance(request, requests.Refusal):
            self.send(request.reply())
            return
        try:
            await service.serve(self.daemon.spool, request, self.submitter)
        except Exception:
            log.exception("message from %s could not be handled", self.describe())
            self.send(messages.error(messages.INTERNAL_ERROR, await _off_loop_if_big(requests.id_of_frame, text)))


async def _off_loop_if_big(read: Callable[[str], _T], text: str) -> _T:
    """Big frames are read off the event loop."""
    if len(text) > INLINE_JSON_CHARS:
        return await asyncio.to_thread(read, text)
    return read(text)
