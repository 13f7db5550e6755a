"""The one entry every door calls: a typed request (``protocol.requests``) and who sent it in, replies out to the
sender's sink, in order. Every decision is made here once for all doors: the auth token, the rate limit, ids and
duplicates (``intake.py`` for tickets), which results a connection is sent.

Doors only move bytes: ``/ws`` (``server/websocket.py``), the HTTP mirror (``server/jobs_api.py``) and MQTT
(``mqtt/session.py``) read a frame with the protocol, hand the request here, and write what comes back.
"""

from __future__ import annotations

import time

from ..document.errors import TicketError
from ..logs import audit
from ..protocol import messages
from ..protocol.requests import GetPrinters, JobStatus, Ping, Preview, Request, Status, Ticket
from ..protocol.tokens import token_matches
from ..store.jobs import Job
from .facade import PrintSpool
from .intake import Submitter, submit_ticket


async def serve(spool: PrintSpool, request: Request, submitter: Submitter) -> None:
    """Answer ``request``; every reply goes to ``submitter.sink``."""
    if isinstance(request, Ticket):
        seq = await submit_ticket(spool, request, submitter)  # ack then result, or one error, through the sink
        if submitter.connection is not None and seq is not None and request.job_id is not None:
            submitter.connection.sent(request.job_id, seq)
        if submitter.connection is not None and submitter.connection.may_attach(request.auth_token):
            await attach(spool, submitter)  # the token proved who it is
        return
    submitter.sink.send(await _answer(spool, request, submitter))


async def attach(spool: PrintSpool, submitter: Submitter) -> None:
    """docs/protocol.md "Connection (WebSocket)": from now on results of this client's jobs go to its sink, and
    those that finished while it was away go now. A connection attaches at most once, and only when its client_id
    is backed by the token (when one is configured)."""
    connection, client_id = submitter.connection, submitter.client_id
    if client_id is None or (connection is not None and connection.attached):
        return
    if connection is not None:
        connection.attached = True
    await spool.results.attach(client_id, submitter.sink)


def detach(spool: PrintSpool, submitter: Submitter) -> None:
    connection, client_id = submitter.connection, submitter.client_id
    if client_id is not None and (connection is None or connection.attached):
        spool.results.detach(client_id, submitter.sink)


async def _answer(spool: PrintSpool, request: Request, submitter: Submitter) -> messages.Message:
    if isinstance(request, Status):
        return messages.status(current=await spool.queue_depth(), capacity=spool.capacity)
    if isinstance(request, Ping):
        return messages.pong(request.echo)
    if isinstance(request, GetPrinters):
        details, summary = await spool.printers_report(discover=True)
        return messages.printers(details, summary)
    if isinstance(request, Preview):
        return await _preview(spool, request, submitter)
    if isinstance(request, JobStatus):
        return await _job_status(spool, request, submitter)
    raise AssertionError(f"no answer for {request!r}")  # every request type is answered above


def _token_ok(spool: PrintSpool, token: object, submitter: Submitter) -> bool:
    """Whether a request that renders or reveals jobs may go on: no token configured, the message carries it, or
    the connection proved it once."""
    if submitter.connection is not None:
        return submitter.connection.prove(token)
    expected = spool.settings.server.auth_token.get_secret_value()
    return not expected or token_matches(token, expected)


async def _preview(spool: PrintSpool, request: Preview, submitter: Submitter) -> messages.Message:
    job_id = request.job_id
    if not _token_ok(spool, request.auth_token, submitter):
        return messages.error(messages.AUTH_INVALID, job_id)
    if request.datos is None:
        return messages.error(messages.PREVIEW_DATOS_REQUIRED, job_id)
    if not isinstance(request.datos, dict):
        return messages.error(messages.DATOS_NOT_OBJECT.format(got=messages.json_type(request.datos)), job_id)
    # Previews render like tickets, so they spend the same budget (a preview loop must not occupy the renderers).
    if not submitter.rate_limit.allow(submitter.address, time.monotonic()):
        audit("rate limited", client=submitter.client_id or "-", address=submitter.address, preview=job_id or "-")
        return messages.error(messages.RATE_LIMITED, job_id)
    raw_policy = spool.settings.server.raw_policy
    try:
        preview = await spool.render_pool.preview(submitter.client_key, request.datos, raw_policy=raw_policy)
    except TicketError as error:
        return messages.error(str(error), job_id)
    reply = messages.preview(
        width=preview.width, height=preview.height, image_base64=preview.png_base64, notes=preview.notes
    )
    if job_id is not None:
        reply["id"] = job_id
    return reply


async def _job_status(spool: PrintSpool, request: JobStatus, submitter: Submitter) -> messages.Message:
    job_id = request.job_id
    if not _token_ok(spool, request.auth_token, submitter):
        return messages.error(messages.AUTH_INVALID, job_id)
    if job_id is None:
        return messages.error(messages.JOB_ID_REQUIRED)
    job = await _job_named(spool, job_id, submitter)
    if job is None:
        return messages.error(messages.JOB_NOT_FOUND.format(id=job_id), job_id)
    return messages.job_of(job)


async def _job_named(spool: PrintSpool, job_id: str, submitter: Submitter) -> Job | None:
    """The job ``job_status`` reports (docs/protocol.md "Ids"): the newest this connection sent with the id, else
    the newest of its scope (its client_id's; for an anonymous client its address's, e.g. a job sent before a page
    reload)."""
    seq = submitter.connection.seq_sent_as(job_id) if submitter.connection is not None else None
    if seq is not None:
        job = await spool.store.get(seq)
        if job is not None:
            return job
    return await spool.store.find(submitter.owner, job_id)
