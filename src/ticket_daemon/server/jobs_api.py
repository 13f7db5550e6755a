"""HTTP mirror of the job messages (docs/protocol.md "HTTP"): submit, look up, list, reprint and cancel jobs.

- ``POST /api/v1/jobs`` takes a ``ticket`` message (``tipo`` may be left out) through the very same checks as
  ``/ws`` (token, rate limit, duplicate id, validation, printer, capacity) and answers with the ``ack`` (202) or the
  ``error``; a result already known when the response is written rides along as ``result``. ``?client_id=NAME``
  names the client, as on ``/ws``: results it did not get are delivered when it connects to ``/ws`` with that name.
- ``GET /api/v1/jobs/{id}`` is ``job_status``: the ``job`` message, looked up in the asking client's own scope
  (``?client_id=NAME``, else its address): ids are scoped per client (docs/protocol.md "Ids").
- Operator actions for the dashboard, behind its session and origin check: ``GET /api/v1/jobs?limit=50`` (recent
  jobs of every client, with ``client_id`` and ``seq``), ``POST /api/v1/jobs/{id}/reprint`` (a new copy) and
  ``POST /api/v1/jobs/{id}/cancel``. An operator sees every client's jobs, so these name the job exactly with
  ``?seq=N`` (what the dashboard sends) or ``?owner=CLIENT``; with neither, the id must name one client's job.

When ``server.auth_token`` is configured every one of these prints or reveals jobs, so each needs it as
``Authorization: Bearer <token>`` (``POST /api/v1/jobs`` also takes it as the message's ``auth_token``, as on
``/ws``); being on this computer is not enough.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from ..document.errors import TicketError
from ..logs import audit
from ..protocol import messages, requests
from ..protocol.connection import ClientIdentity, client_id_of
from ..protocol.requests import MAX_JOB_ID_CHARS
from ..spool import service
from ..spool.intake import Submitter
from ..store.jobs import InvalidTransition, Job
from .api import bearer_token, off_loop_if_big, read_request_body, token_refusal
from .daemon import Daemon
from .openapi import openapi_document

log = logging.getLogger(__name__)

Endpoint = Callable[[Request], Awaitable[Response]]
# Wraps an operator endpoint with the dashboard's session and same-origin checks (``dashboard.py``).
Guard = Callable[[Endpoint], Endpoint]

MAX_LISTED_JOBS = 500

# An error sentence → the HTTP status a client that cannot read the body should still understand.
_STATUS_OF_ERROR: tuple[tuple[str, int], ...] = (
    (messages.AUTH_INVALID, 401),
    (messages.RATE_LIMITED, 429),
    (messages.QUEUE_FULL, 503),
    (messages.SHUTTING_DOWN, 503),
    ("STORAGE:", 503),
    (messages.INTERNAL_ERROR, 500),
)


def job_routes(daemon: Daemon, guard: Guard) -> list[BaseRoute]:
    def with_token(endpoint: Endpoint) -> Endpoint:
        async def checked(request: Request) -> Response:
            refusal = token_refusal(daemon, request, _error)
            return refusal if refusal is not None else await endpoint(request)

        return checked

    return [
        Route("/api/v1/openapi.json", _openapi, methods=["GET"]),
        Route("/api/v1/jobs", _submit(daemon), methods=["POST"]),
        Route("/api/v1/jobs", guard(with_token(_recent(daemon))), methods=["GET"]),
        Route("/api/v1/jobs/{job_id}", with_token(_job(daemon)), methods=["GET"]),
        Route("/api/v1/jobs/{job_id}/reprint", guard(with_token(_reprint(daemon))), methods=["POST"]),
        Route("/api/v1/jobs/{job_id}/cancel", guard(with_token(_cancel(daemon))), methods=["POST"]),
    ]


def _error(status_code: int, mensaje: str, job_id: str | None = None) -> JSONResponse:
    return JSONResponse(messages.error(mensaje, job_id), status_code=status_code)


async def _openapi(request: Request) -> Response:
    return JSONResponse(openapi_document())


def _submit(daemon: Daemon) -> Endpoint:
    limit = daemon.settings.server.max_frame_bytes

    async def submit(request: Request) -> Response:
        body = await read_request_body(daemon, request, limit, _error)
        if isinstance(body, Response):
            return body
        ticket = await off_loop_if_big(_read_ticket, body)
        if isinstance(ticket, requests.Refusal):
            return _response([ticket.reply()])
        if bearer_token(request) is not None:  # the header, when sent, decides; else the message's auth_token
            refusal = token_refusal(daemon, request, _error)
            if refusal is not None:
                return refusal
            ticket = dataclasses.replace(ticket, auth_token=bearer_token(request))
        identity = ClientIdentity(_address(request), _client_id(request))
        sink = _ResponseSink()
        # No connection: the request spends its address's budget (``JobRateLimiter.allow``).
        submitter = Submitter(identity, sink, daemon.rate_limiter)
        try:
            await service.serve(daemon.spool, ticket, submitter)
        except Exception:  # never a traceback to a client
            log.exception("POST /api/v1/jobs failed")
            sink.replies = [messages.error(messages.INTERNAL_ERROR, ticket.job_id)]
        finally:
            sink.open = False
        for job_id in sink.results:
            daemon.spool.results.written(identity.owner, job_id)
        return _response(sink.replies)

    return submit


def _read_ticket(body: bytes) -> requests.Ticket | requests.Refusal:
    return requests.read_ticket(body, tipo_optional=True)


class _ResponseSink:
    """The replies to one ``POST /api/v1/jobs`` until its response is written; after it, results wait for the
    client (``job_status``, or ``/ws`` with its client_id)."""

    def __init__(self) -> None:
        self.open = True
        self.replies: list[messages.Message] = []
        self.results: list[str] = []  # ids of the jobs whose result rides along

    def send(self, message: messages.Message) -> bool:
        if self.open:
            self.replies.append(message)
        return self.open

    def result(self, job_id: str, message: messages.Message) -> bool:
        if self.open:
            self.results.append(job_id)
        return self.send(message)


def _client_id(request: Request) -> str | None:
    return client_id_of(request.query_params.get("client_id"))


def _address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _owner(request: Request) -> str:
    """The asking client's scope, as ``/ws`` and ``POST /api/v1/jobs`` record it: ``?client_id``, else the address."""
    return ClientIdentity(_address(request), _client_id(request)).owner


def _response(replies: list[messages.Message]) -> Response:
    if not replies:
        return _error(500, messages.INTERNAL_ERROR)
    first = dict(replies[0])
    result = next((reply for reply in replies[1:] if reply.get("tipo") == "result"), None)
    if result is not None:
        first["result"] = result
    if first.get("tipo") == "ack":
        return JSONResponse(first, status_code=202 if first.get("status") == "queued" else 200)
    mensaje = str(first.get("mensaje", ""))
    status_code = next((code for text, code in _STATUS_OF_ERROR if mensaje.startswith(text)), 400)
    return JSONResponse(first, status_code=status_code)


def _job(daemon: Daemon) -> Endpoint:
    async def job(request: Request) -> Response:
        job_id = str(request.path_params["job_id"])
        if len(job_id) > MAX_JOB_ID_CHARS:
            return _error(404, messages.JOB_NOT_FOUND.format(id=job_id[:MAX_JOB_ID_CHARS]))
        try:
            stored = await daemon.spool.store.find(_owner(request), job_id)
        except TicketError as error:
            return _error(503, str(error), job_id)
        if stored is None:
            return _error(404, messages.JOB_NOT_FOUND.format(id=job_id), job_id)
        return JSONResponse(messages.job_of(stored))

    return job


def _recent(daemon: Daemon) -> Endpoint:
    async def recent(request: Request) -> Response:
        try:
            limit = min(MAX_LISTED_JOBS, max(1, int(request.query_params.get("limit", "50"))))
        except ValueError:
            return _error(400, "VALIDATION: 'limit' must be a whole number")
        jobs = await daemon.spool.store.recent(limit)  # a StorageError becomes a JSON error in the guard
        listed = [{**messages.job_of(job), "client_id": job.client_id, "seq": job.seq} for job in jobs]
        return JSONResponse({"status": "ok", "jobs": listed})

    return recent


def _reprint(daemon: Daemon) -> Endpoint:
    async def reprint(request: Request) -> Response:
        job_id = str(request.path_params["job_id"])
        target = await _operator_target(daemon, request, job_id)
        if isinstance(target, Response):
            return target
        try:
            copy = await daemon.spool.reprint(target.seq)
        except OverflowError:
            return _error(503, messages.QUEUE_FULL, job_id)
        except TicketError as error:  # e.g. its printer is no longer configured: not reprinted
            return _error(409, str(error), job_id)
        if copy is None:
            return _error(404, f"Job not found or its receipt is no longer stored: {job_id}", job_id)
        audit("job reprinted", job=job_id, copy=copy.id)
        return JSONResponse(messages.job_of(copy), status_code=202)

    return reprint


def _cancel(daemon: Daemon) -> Endpoint:
    async def cancel(request: Request) -> Response:
        job_id = str(request.path_params["job_id"])
        target = await _operator_target(daemon, request, job_id)
        if isinstance(target, Response):
            return target
        try:
            cancelled = await daemon.spool.cancel(target.seq)
        except InvalidTransition:
            return _error(409, "VALIDATION: only a queued or waiting job can be cancelled", job_id)
        except KeyError:
            cancelled = None
        if cancelled is None:
            return _error(404, messages.JOB_NOT_FOUND.format(id=job_id), job_id)
        audit("job cancelled", job=job_id)
        return JSONResponse(messages.job_of(cancelled))

    return cancel


async def _operator_target(daemon: Daemon, request: Request, job_id: str) -> Job | Response:
    """The job an operator's reprint/cancel names: ``?seq=N`` (must carry this id), else ``?owner=CLIENT``'s newest
    job with this id, else the newest job with this id among the recent ones, when only one client used it (two
    clients may use the same id: then the operator must say which)."""
    not_found = _error(404, messages.JOB_NOT_FOUND.format(id=job_id[:MAX_JOB_ID_CHARS]), job_id[:MAX_JOB_ID_CHARS])
    seq_text, owner = request.query_params.get("seq"), request.query_params.get("owner")
    try:
        if seq_text is not None:
            if not seq_text.isdigit() or len(seq_text) > 18:
                return _error(400, "VALIDATION: 'seq' must be a whole number", job_id)
            job = await daemon.spool.store.get(int(seq_text))
            return job if job is not None and job.id == job_id else not_found
        if owner is not None:
            found = await daemon.spool.store.find(owner, job_id)
            return found if found is not None else not_found
        named = [job for job in await daemon.spool.store.recent(MAX_LISTED_JOBS) if job.id == job_id]
    except TicketError as error:
        return _error(503, str(error), job_id)
    if not named:
        return not_found
    if len({job.owner for job in named}) > 1:
        ambiguous = f"VALIDATION: several clients used id '{job_id}': name the job with ?seq= or ?owner="
        return _error(409, ambiguous, job_id)
    return named[0]  # recent() is newest first
