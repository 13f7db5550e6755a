"""Taking in a ``ticket``: every check PROTOCOL.md asks for, in its order, then the ``ack``.

Order (the first failing check decides the reply): ``datos`` present → auth token (when configured) → rate limit
per client identity → duplicate id → document valid and rendered (in a worker thread) → printer selection →
queue capacity → ``ack``. Nothing is queued unless every check passed. Independent of the transport, so the HTTP
mirror can reuse it.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..document.errors import TicketError
from ..logs import audit
from ..spool.jobs import DuplicateJob, Job
from . import protocol
from .daemon import Daemon, NotAccepting, ResultSink, result_message
from .rendering import render_document
from .security import token_identity, token_matches

log = logging.getLogger(__name__)

# The original schema: ids are ``^[a-zA-Z0-9_-]{1,64}$``; we accept any string up to that length.
MAX_JOB_ID_CHARS = 64
# Owner recorded for a job sent without ``?client_id`` (review item 10). A client_id keeps only ``[\w.:@-]``, so
# no client can name itself ``addr/…`` and collect the results of anonymous jobs from that address.
ANONYMOUS_OWNER = "addr/{address}"


@dataclass(frozen=True, slots=True)
class Submitter:
    """Who sent the ticket: the ``?client_id`` they chose, else their address; and where its result goes."""

    address: str
    client_id: str | None
    sink: ResultSink

    def identity(self, token: object) -> str:
        """The rate-limit key: client_id, else the (checked) token, else the remote address — never the
        connection, so reconnecting does not reset the limit. Pass ``token`` only when a token is configured and
        it matched: an unchecked one changes at will (review item 2)."""
        if self.client_id:
            return f"client:{self.client_id}"
        if isinstance(token, str) and token:
            return token_identity(token)
        return f"addr:{self.address}"


def job_id_of(message: Mapping[str, Any]) -> str | None:
    """The client's id when it is a usable string (echoed in errors), else None."""
    value = message.get("id")
    return value if isinstance(value, str) and 0 < len(value) <= MAX_JOB_ID_CHARS else None


async def submit_ticket(daemon: Daemon, message: Mapping[str, Any], submitter: Submitter) -> None:
    """Handle a ``ticket``. Every reply goes to the submitter's sink, in order: ``ack`` then, later, ``result``;
    or one ``error``; or, for an id already accepted, a duplicate ``ack`` (and the result again if it finished)."""
    started = time.perf_counter()
    for reply in await _replies(daemon, message, submitter):
        daemon.metrics.ticket_answered(reply, seconds=time.perf_counter() - started)
        submitter.sink(reply)
        if reply["tipo"] == "ack":  # a duplicate's result may be held for its ack too (review item 1)
            daemon.release_result(reply["id"])


async def _replies(daemon: Daemon, message: Mapping[str, Any], submitter: Submitter) -> list[protocol.Message]:
    job_id = job_id_of(message)

    # 1. PROTOCOL.md: "Field 'datos' is required for type 'ticket'" (null counts as missing, as in the original).
    datos = message.get("datos")
    if datos is None:
        return [protocol.error(protocol.DATOS_REQUIRED, job_id)]

    # 2. Auth token, compared in constant time; the audit line names the client, never the token.
    token = message.get("auth_token")
    expected = daemon.settings.server.auth_token.get_secret_value()
    if expected and not token_matches(token, expected):
        audit("auth failure", client=submitter.client_id or "-", address=submitter.address, job=job_id or "-")
        return [protocol.error(protocol.AUTH_INVALID, job_id)]

    # 3. Rate limit per client identity (default 30 jobs per minute). The token names a client only once checked.
    checked_token = token if expected else None
    identity = submitter.identity(checked_token)
    if not daemon.rate_limiter.allow(identity, time.monotonic()):
        audit("rate limited", identity=identity, address=submitter.address, job=job_id or "-")
        return [protocol.error(protocol.RATE_LIMITED, job_id)]

    if not daemon.accepting:
        return [protocol.error(protocol.SHUTTING_DOWN, job_id)]
    raw_id = message.get("id")
    if raw_id is not None and raw_id != "" and job_id is None:
        return [protocol.error(protocol.BAD_ID.format(limit=MAX_JOB_ID_CHARS))]

    # PROTOCOL.md extension "Idempotent ids": never print the same id twice (checked again atomically on add).
    if job_id is not None:
        try:
            existing = await daemon.store.get(job_id)
        except TicketError as error:  # issue item 8: "STORAGE: …", and nothing acked
            return [protocol.error(str(error), job_id)]
        if existing is not None:
            return await _duplicate(daemon, existing, submitter)

    if not isinstance(datos, Mapping):
        return [protocol.error(protocol.DATOS_NOT_OBJECT.format(got=protocol.json_type(datos)), job_id)]
    printer_name = message.get("printer")
    if printer_name is not None and not isinstance(printer_name, str):
        return [protocol.error(protocol.PRINTER_NOT_STRING, job_id)]

    # 4. Validate and render off the event loop: a big image must not stall other clients.
    try:
        rendered = await asyncio.to_thread(render_document, datos, raw_policy=daemon.settings.server.raw_policy)
        # 5. Printer: ticket.printer, else profile.model against names/aliases, else the default.
        printer = daemon.registry.select(printer_name, rendered.document.profile.model)
    except TicketError as error:
        return [protocol.error(str(error), job_id)]

    now = time.time()
    job = Job(
        id=job_id or str(uuid.uuid4()),
        client_id=submitter.client_id or ANONYMOUS_OWNER.format(address=submitter.address),
        printer=printer.name,
        document=rendered.document_json,
        data=rendered.data,
        created_at=now,
        updated_at=now,
        notes=rendered.notes,
    )
    # 6. Capacity: refuse at once, never make the client wait on the socket.
    try:
        stored = await daemon.accept(job, submitter.sink)
    except DuplicateJob as duplicate:
        return await _duplicate(daemon, duplicate.existing, submitter)
    except OverflowError:
        return [protocol.error(protocol.QUEUE_FULL, job_id)]
    except NotAccepting:
        return [protocol.error(protocol.SHUTTING_DOWN, job_id)]
    except TicketError as error:  # issue item 8: the disk refused; the job was not stored, so no ack
        log.error("job %s not stored: %s", job.id, error)
        return [protocol.error(str(error), job_id)]
    log.info("job %s accepted for printer %s from %s", stored.id, stored.printer, submitter.identity(checked_token))
    return [protocol.ack(stored.id, current=await _depth(daemon), capacity=daemon.capacity)]


async def _depth(daemon: Daemon) -> int:
    """Jobs pending, for an ``ack``. The job is stored and will print: no failure here may turn its ack into an
    error (review item 11), or the client would resend it and its result would wait in the daemon forever."""
    try:
        return await daemon.queue_depth()
    except Exception as error:
        log.warning("cannot count the pending jobs for an ack: %s", error)
        return 0


async def _duplicate(daemon: Daemon, existing: Job, submitter: Submitter) -> list[protocol.Message]:
    if not existing.state.is_final:
        # Still to print: its result now goes to whoever asked last (a client that reconnected and resent). Before
        # any await, so the job cannot finish unseen between the read and the redirect; held until the ack.
        daemon.redirect_result(existing.id, submitter.sink)
    reply = protocol.ack_duplicate(
        existing.id, state=existing.state.value, current=await _depth(daemon), capacity=daemon.capacity
    )
    if existing.state.is_final:
        # "if that job already finished its result is sent again", right after this ack.
        return [reply, result_message(existing)]
    return [reply]
