"""The ``/ws`` endpoint: WebSocket protocol v1 (PROTOCOL.md), one :class:`ClientConnection` per socket.

Each connection has a bounded outbox drained by its own sender task, so a worker reporting a result, or another
client, never waits on a slow reader; a client whose unread replies overflow the outbox is disconnected. Messages
are handled one at a time in arrival order (an ``ack`` always precedes that client's later replies); CPU-heavy
work (big JSON, rendering, previews) runs in worker threads. No exception escapes a handler: it is logged and the
client gets ``EXECUTION: internal error``.

``?client_id=NAME`` names the client; the results of its jobs that finished while it was away are sent when it
connects. When ``server.auth_token`` is configured that happens only once the connection proved the token: with
``?auth_token=TOKEN`` on connect, or with the first ``ticket`` carrying the right ``auth_token`` (a client_id is a
name, not a secret). Clients that send the token in their tickets keep working unchanged. ``preview`` and
``job_status`` render or reveal jobs, so with a token configured they need it as well: in the message, or proved
once by the connection.
A page whose ``Origin`` is not allowed is refused with HTTP 403 before the upgrade (``origins.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketDisconnected

from ..document.errors import TicketError
from ..logs import audit
from ..spool import protocol, wire
from ..spool.intake import ANONYMOUS_OWNER, Submitter, job_id_of, submit_ticket
from ..store.jobs import Job
from .daemon import Daemon
from .origins import OriginRegistry
from .ratelimit import MessageBudget, Verdict
from .security import token_matches

log = logging.getLogger(__name__)

# JSON bigger than this is decoded in a worker thread: ~1 ms of parsing is fine on the event loop, a 4 MB frame
# (~20 ms) is not.
INLINE_JSON_CHARS = 64 * 1024
# What sending raises once the client is gone (starlette, uvicorn's ClientDisconnected is an OSError): not a fault.
CLIENT_GONE = (WebSocketDisconnect, WebSocketDisconnected, OSError)
# On a graceful close (daemon stopping) the replies already queued get this long to reach the client.
FLUSH_SECONDS = 2.0
# Closing handshake bound: a client that does not read cannot hold its connection open.
CLOSE_SECONDS = 2.0
# Longest ``tipo`` echoed back in "Unknown message type: …".
MAX_ECHOED_TIPO = 100
MAX_CLIENT_ID_CHARS = 64
# Ids a connection remembers for job_status (newest kept): a till's whole day of tickets, ~100 bytes each.
MAX_REMEMBERED_IDS = 1000
_UNSAFE_ID_CHARS = re.compile(r"[^\w.:@-]")

Handler = Callable[["ClientConnection", dict[str, Any]], Awaitable[list[protocol.Message]]]


def websocket_endpoint(daemon: Daemon, origins: OriginRegistry) -> Callable[[WebSocket], Awaitable[None]]:
    async def endpoint(websocket: WebSocket) -> None:
        origin = websocket.headers.get("origin")
        address = websocket.client.host if websocket.client else "unknown"
        if not origins.allows(origin, websocket.headers.get("host")):
            # A web page on another site must not be able to print. Refused at the handshake with HTTP 403, so
            # the page's console says why; the origin is listed for the operator (PROTOCOL.md "Extensions").
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
    await websocket.close(protocol.CLOSE_POLICY_VIOLATION, "Origin not allowed")


class ClientConnection:
    def __init__(self, websocket: WebSocket, daemon: Daemon, *, address: str) -> None:
        settings = daemon.settings.server
        self.websocket = websocket
        self.daemon = daemon
        self.address = address
        # PROTOCOL.md "?client_id=NAME". It names the client in logs and result delivery: safe characters only.
        client_id = _UNSAFE_ID_CHARS.sub("_", websocket.query_params.get("client_id", "").strip())
        self.client_id = client_id[:MAX_CLIENT_ID_CHARS] or None
        # docs/protocol.md "Idempotent ids": an anonymous client may reuse ids, and another tab on its machine too;
        # job_status names the newest job this connection sent with the id (id → seq, the newest ids kept).
        self._sent: OrderedDict[str, int] = OrderedDict()
        # A client_id is not a secret. With an auth token configured, results owed to the client
        # go to this connection only once it proved the token (``?auth_token=`` on connect, or a ticket with it).
        self._expected_token = settings.auth_token.get_secret_value()
        self._attached = False
        # With a token configured, previews and job_status need it too: in the message, or proved once by this
        # connection (``?auth_token=`` on connect, or any message carrying the right one).
        self._token_proved = not self._expected_token or token_matches(
            websocket.query_params.get("auth_token"), self._expected_token
        )
        self.connected_at = time.time()
        self.open = True  # False once closing: nothing more is queued
        self._max_frame = settings.max_frame_bytes
        # (frame, id of the job whose result it is): a result counts as delivered once written, not once queued.
        self._outbox: asyncio.Queue[tuple[str, str | None]] = asyncio.Queue(maxsize=settings.outbound_queue_messages)
        self._max_outbox_bytes = settings.outbound_queue_bytes
        self._outbox_bytes = 0  # characters queued, not yet written (~bytes: replies are nearly all ASCII)
        self._budget = MessageBudget(settings.messages_per_second, settings.message_burst, now=time.monotonic())
        # PROTOCOL.md "Rate limit identity": this connection's own budget of tickets and previews, under the
        # ceiling of its address; dropped with the connection.
        self.rate_limit = daemon.rate_limiter.for_connection()
        self._closing = asyncio.Event()
        self._between_frames = False  # the reader waits for the next frame (a close may stop it right away)
        self._finished = asyncio.Event()
        self._close_code = 1000
        self._close_reason = ""
        self._flush_on_close = True

    # --- outgoing --------------------------------------------------------------------------------------------

    def send(self, message: protocol.Message) -> bool:
        """Queue a message for this client; False when it could not be (closing, or too far behind). Never blocks;
        a client too far behind is disconnected."""
        if not self.open:
            return False
        text = protocol.encode(message)
        try:
            if self._outbox_bytes and self._outbox_bytes + len(text) > self._max_outbox_bytes:  # one always fits
                raise asyncio.QueueFull
            result_of = message.get("id") if message.get("tipo") == "result" else None
            self._outbox.put_nowait((text, result_of if isinstance(result_of, str) else None))
        except asyncio.QueueFull:
            log.warning("client %s is not reading its replies: disconnecting it", self.describe())
            self.request_close(protocol.CLOSE_POLICY_VIOLATION, "Too many unread replies", flush=False)
            return False
        self._outbox_bytes += len(text)
        return True

    def request_close(self, code: int, reason: str, *, flush: bool) -> None:
        if self._closing.is_set():
            return
        self.open = False
        self._close_code, self._close_reason, self._flush_on_close = code, reason, flush
        self._closing.set()

    async def close(self, code: int, reason: str) -> None:
        """Close after flushing the replies already queued (used when the daemon stops)."""
        self.request_close(code, reason, flush=True)
        try:
            await asyncio.wait_for(self._finished.wait(), timeout=FLUSH_SECONDS + CLOSE_SECONDS + 1)
        except TimeoutError:
            log.warning("client %s did not close in time", self.describe())

    @property
    def owner(self) -> str:
        """The scope this connection's job ids belong to: its client_id, else its address (docs/protocol.md
        "Idempotent ids"); ``job_status`` looks ids up there and nowhere else."""
        return self.client_id or ANONYMOUS_OWNER.format(address=self.address)

    def sent(self, job_id: str, seq: int) -> None:
        """This connection's ticket ``job_id`` was acked as job ``seq``: its newest job with that id."""
        self._sent.pop(job_id, None)
        self._sent[job_id] = seq
        if len(self._sent) > MAX_REMEMBERED_IDS:
            self._sent.popitem(last=False)

    async def job_named(self, job_id: str) -> Job | None:
        """The job ``job_status`` reports: the newest this connection sent with the id, else the newest of its
        scope (its client_id's; for an anonymous client, its address's, e.g. a job sent before a page reload)."""
        seq = self._sent.get(job_id)
        if seq is not None:
            job = await self.daemon.store.get(seq)
            if job is not None:
                return job
        return await self.daemon.store.find(self.owner, job_id)

    def describe(self) -> str:
        return f"{self.client_id or '-'}@{self.address}"

    async def _send_loop(self) -> None:
        """The connection's one sender. It never dies silently: a client that left ends it quietly (the receive
        loop sees the disconnect); anything else is logged and closes the connection with 1011, so a till is never
        left on an open socket that will not answer again."""
        try:
            while True:
                text, result_of = await self._outbox.get()
                self._outbox_bytes -= len(text)
                try:
                    await self.websocket.send_text(text)
                finally:
                    self._outbox.task_done()
                if result_of is not None:
                    self.daemon.results.written(self.owner, result_of)
        except CLIENT_GONE:
            self.open = False
        except Exception:
            log.exception("sending to client %s failed: closing its connection", self.describe())
            self.request_close(protocol.CLOSE_INTERNAL_ERROR, "Internal error", flush=False)

    # --- the connection's life ---------------------------------------------------------------------------------

    async def run(self) -> None:
        sender = asyncio.create_task(self._send_loop(), name=f"ws-send:{self.describe()}")
        reader: asyncio.Task[bool] | None = None
        closing = asyncio.create_task(self._closing.wait())
        try:
            # PROTOCOL.md "Connection": greet at once.
            self.send(protocol.info_connected())
            if self.may_attach(self.websocket.query_params.get("auth_token")):
                await self.attach()
            reader = asyncio.create_task(self._read_frames(), name=f"ws-read:{self.describe()}")
            if not await self._frames_until_closing(reader, closing):
                return  # the client left
            await self._close_now(sender)
        finally:
            self.open = False
            if self.client_id and self._attached:
                self.daemon.results.detach(self.client_id, self.send)
            tasks = [task for task in (sender, reader, closing) if task is not None]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            self._finished.set()

    def may_attach(self, token: object) -> bool:
        if not self.client_id or self._attached:
            return False
        return not self._expected_token or token_matches(token, self._expected_token)

    def token_ok(self, message: Mapping[str, Any]) -> bool:
        """Whether this message may reveal or render jobs: no token configured, or it was proved."""
        if not self._token_proved and token_matches(message.get("auth_token"), self._expected_token):
            self._token_proved = True
        return self._token_proved

    async def attach(self) -> None:
        """PROTOCOL.md extensions: from now on results of this client's jobs come here, and those that finished
        while it was away come now."""
        if self.client_id:
            self._attached = True
            await self.daemon.results.attach(self.client_id, self.send)

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
                    return False
                await self._on_frame(event.get("text"), event.get("bytes"))
            except Exception:  # never let a bug take the server down: drop this one connection
                log.exception("connection %s failed", self.describe())
                self.request_close(protocol.CLOSE_INTERNAL_ERROR, "Internal error", flush=True)
        return True

    async def _close_now(self, sender: asyncio.Task[None]) -> None:
        if self._flush_on_close and not sender.done():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._outbox.join(), timeout=FLUSH_SECONDS)
        sender.cancel()
        await asyncio.gather(sender, return_exceptions=True)
        # Already gone, or not reading: then the server drops the socket when we return.
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.websocket.close(self._close_code, self._close_reason), timeout=CLOSE_SECONDS)

    async def _on_frame(self, text: str | None, data: bytes | None) -> None:
        verdict = self._budget.admit(time.monotonic())
        if verdict is Verdict.CLOSE:
            audit("message flood, connection closed", client=self.describe())
            self.request_close(protocol.CLOSE_POLICY_VIOLATION, "Too many messages", flush=False)
            return
        if verdict is Verdict.REFUSE_AND_TELL:
            audit("message flood, messages dropped", client=self.describe())
            self.send(protocol.error(protocol.TOO_MANY_MESSAGES))
            return
        if verdict is Verdict.REFUSE_QUIETLY:
            return
        if text is None:
            self.send(protocol.error(protocol.BINARY_FRAME))
            return
        if len(text) > self._max_frame:  # the server refuses these first (ws_max_size); kept for any other server
            self.request_close(protocol.CLOSE_TOO_BIG, "Message too big", flush=False)
            return
        for reply in await self._replies_to(text):
            self.send(reply)

    async def _replies_to(self, text: str) -> list[protocol.Message]:
        message: Any = None
        try:
            message = await _decode(text)
            if not isinstance(message, dict):
                return [protocol.error(protocol.NOT_AN_OBJECT.format(got=protocol.json_type(message)))]
            wire.check_text_fields(message)  # ids and names are echoed and stored: valid text or VALIDATION
            tipo = message.get("tipo")
            if not isinstance(tipo, str):
                return [protocol.error(protocol.TIPO_REQUIRED, job_id_of(message))]
            handler = HANDLERS.get(tipo)
            if handler is None:
                shown = tipo if len(tipo) <= MAX_ECHOED_TIPO else tipo[:MAX_ECHOED_TIPO] + "…"
                return [protocol.error(protocol.UNKNOWN_TYPE.format(tipo=shown), job_id_of(message))]
            return await handler(self, message)
        except TicketError as error:
            return [protocol.error(str(error))]
        except Exception:
            log.exception("message from %s could not be handled", self.describe())
            job_id = job_id_of(message) if isinstance(message, dict) else None
            return [protocol.error(protocol.INTERNAL_ERROR, job_id)]


async def _decode(text: str) -> Any:
    """Strict JSON (wire.py): ``JSON: …`` for anything else, big frames decoded off the event loop."""
    if len(text) > INLINE_JSON_CHARS:
        return await asyncio.to_thread(wire.decode, text)
    return wire.decode(text)


# --- one handler per client message type (PROTOCOL.md "Client → server", then our extensions) ------------------


async def _ticket(connection: ClientConnection, message: dict[str, Any]) -> list[protocol.Message]:
    submitter = Submitter(
        address=connection.address,
        client_id=connection.client_id,
        sink=connection.send,
        rate_limit=connection.rate_limit,
    )
    seq = await submit_ticket(connection.daemon, message, submitter)  # replies go through connection.send, in order
    job_id = job_id_of(message)
    if seq is not None and job_id is not None:
        connection.sent(job_id, seq)
    if connection.may_attach(message.get("auth_token")):  # the token proved who it is
        await connection.attach()
    return []


async def _status(connection: ClientConnection, message: dict[str, Any]) -> list[protocol.Message]:
    daemon = connection.daemon
    return [protocol.status(current=await daemon.queue_depth(), capacity=daemon.capacity)]


async def _ping(connection: ClientConnection, message: dict[str, Any]) -> list[protocol.Message]:
    # Echo the id; numbers too (browser clients often send Date.now()).
    echoed = message.get("id")
    return [protocol.pong(echoed if isinstance(echoed, (str, int, float)) and not isinstance(echoed, bool) else None)]


async def _get_printers(connection: ClientConnection, message: dict[str, Any]) -> list[protocol.Message]:
    details, summary = await connection.daemon.printers_report(discover=True)
    return [protocol.printers(details, summary)]


async def _preview(connection: ClientConnection, message: dict[str, Any]) -> list[protocol.Message]:
    datos = message.get("datos")
    job_id = job_id_of(message)
    if not connection.token_ok(message):
        return [protocol.error(protocol.AUTH_INVALID, job_id)]
    if datos is None:
        return [protocol.error("VALIDATION: field 'datos' is required for type 'preview'", job_id)]
    if not isinstance(datos, Mapping):
        return [protocol.error(protocol.DATOS_NOT_OBJECT.format(got=protocol.json_type(datos)), job_id)]
    # Previews render like tickets, so they spend the same budget (a preview loop must not occupy the renderers).
    if not connection.rate_limit.allow(connection.address, time.monotonic()):
        audit("rate limited", client=connection.client_id or "-", address=connection.address, preview=job_id or "-")
        return [protocol.error(protocol.RATE_LIMITED, job_id)]
    raw_policy = connection.daemon.settings.server.raw_policy
    try:
        preview = await connection.daemon.render_pool.preview(connection.describe(), datos, raw_policy=raw_policy)
    except TicketError as error:
        return [protocol.error(str(error), job_id)]
    reply = protocol.preview(
        width=preview.width, height=preview.height, image_base64=preview.png_base64, notes=preview.notes
    )
    if job_id is not None:
        reply["id"] = job_id
    return [reply]


async def _job_status(connection: ClientConnection, message: dict[str, Any]) -> list[protocol.Message]:
    job_id = job_id_of(message)
    if not connection.token_ok(message):
        return [protocol.error(protocol.AUTH_INVALID, job_id)]
    if job_id is None:
        return [protocol.error(protocol.JOB_ID_REQUIRED)]
    job = await connection.job_named(job_id)
    if job is None:
        return [protocol.error(protocol.JOB_NOT_FOUND.format(id=job_id), job_id)]
    return [protocol.job_of(job)]


HANDLERS: dict[str, Handler] = {
    "ticket": _ticket,
    "status": _status,
    "ping": _ping,
    "get_printers": _get_printers,
    "preview": _preview,
    "job_status": _job_status,
}
