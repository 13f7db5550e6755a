"""HTTP mirror of the job messages (PROTOCOL.md "Extensions"): submit, look up, list, reprint and cancel jobs.

- ``POST /api/v1/jobs`` takes a ``ticket`` message (``tipo`` may be left out) through the very same checks as
  ``/ws`` (token, rate limit, duplicate id, validation, printer, capacity) and answers with the ``ack`` (202) or the
  ``error``; a result already known when the response is written rides along as ``result``. ``?client_id=NAME``
  names the client, as on ``/ws``: results it did not get are delivered when it connects to ``/ws`` with that name.
- ``GET /api/v1/jobs/{id}`` is ``job_status``: the ``job`` message, looked up in the asking client's own scope
  (``?client_id=NAME``, else its address): ids are scoped per client (PROTOCOL.md "Idempotent ids, safely scoped").
- Operator actions for the dashboard, behind its session and origin check: ``GET /api/v1/jobs?limit=50`` (recent
  jobs of every client, with ``client_id`` and ``seq``), ``POST /api/v1/jobs/{id}/reprint`` (a new copy) and
  ``POST /api/v1/jobs/{id}/cancel``. An operator sees every client's jobs, so these name the job exactly with
  ``?seq=N`` (what the dashboard sends) or ``?owner=CLIENT``; with neither, the id must name one client's job.

When ``server.auth_token`` is configured every one of these prints or reveals jobs, so each needs it as
``Authorization: Bearer <token>`` (``POST /api/v1/jobs`` also takes it as the message's ``auth_token``, as on
``/ws``); being on this computer is not enough.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from ..document.errors import TicketError
from ..logs import audit
from ..spool import protocol
from ..spool.intake import ANONYMOUS_OWNER, Submitter, submit_ticket
from ..store.jobs import InvalidTransition, Job
from ..store.records import MAX_JOB_ID_CHARS
from .api import bearer_token, read_json_request, token_refusal
from .daemon import Daemon
from .openapi import openapi_document

log = logging.getLogger(__name__)

Endpoint = Callable[[Request], Awaitable[Response]]
# Wraps an operator endpoint with the dashboard's session and same-origin checks (``dashboard.py``).
Guard = Callable[[Endpoint], Endpoint]

MAX_LISTED_JOBS = 500
# Same rule as ``/ws?client_id=``: it names the client in logs and result delivery, so safe characters only.
_UNSAFE_ID_CHARS = re.compile(r"[^\w.:@-]")

# An error sentence → the HTTP status a client that cannot read the body should still understand.
_STATUS_OF_ERROR: tuple[tuple[str, int], ...] = (
    (protocol.AUTH_INVALID, 401),
    (protocol.RATE_LIMITED, 429),
    (protocol.QUEUE_FULL, 503),
    (protocol.SHUTTING_DOWN, 503),
    ("STORAGE:", 503),
    (protocol.INTERNAL_ERROR, 500),
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
    return JSONResponse(protocol.error(mensaje, job_id), status_code=status_code)


async def _openapi(request: Request) -> Response:
    return JSONResponse(openapi_document())


def _submit(daemon: Daemon) -> Endpoint:
    limit = daemon.settings.server.max_frame_bytes

    async def submit(request: Request) -> Response:
        message = await read_json_request(daemon, request, limit, _error)
        if isinstance(message, Response):
            return message
        if not isinstance(message, dict):
            return _error(400, protocol.NOT_AN_OBJECT.format(got=protocol.json_type(message)))
        if message.setdefault("tipo", "ticket") != "ticket":
            return _error(400, "VALIDATION: field 'tipo' must be 'ticket' (or left out) on /api/v1/jobs")
        if bearer_token(request) is not None:  # the header, when sent, decides; else the message's auth_token
            refusal = token_refusal(daemon, request, _error)
            if refusal is not None:
                return refusal
            message["auth_token"] = bearer_token(request)
        replies: list[protocol.Message] = []
        open_ = True

        def sink(reply: protocol.Message) -> bool:
            if open_:  # after the response, results wait for the client (job_status, or /ws with its client_id)
                replies.append(reply)
            return open_

        client_id = _client_id(request)
        address = _address(request)
        try:
            # No connection: the request spends its address's budget (``JobRateLimiter.allow``).
            submitter = Submitter(address=address, client_id=client_id, sink=sink, rate_limit=daemon.rate_limiter)
            await submit_ticket(daemon, message, submitter)
        except Exception:  # never a traceback to a client
            log.exception("POST /api/v1/jobs failed")
            replies = [protocol.error(protocol.INTERNAL_ERROR)]
        finally:
            open_ = False
        for reply in replies:
            if reply.get("tipo") == "result":
                daemon.results.written(submitter.owner, str(reply["id"]))
        return _response(replies)

    return submit


def _client_id(request: Request) -> str | None:
    return _UNSAFE_ID_CHARS.sub("_", request.query_params.get("client_id", "").strip())[:64] or None


def _address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _owner(request: Request) -> str:
    """The asking client's scope, as ``/ws`` and ``POST /api/v1/jobs`` record it: ``?client_id``, else the address."""
    return _client_id(request) or ANONYMOUS_OWNER.format(address=_address(request))


def _response(replies: list[protocol.Message]) -> Response:
    if not replies:
        return _error(500, protocol.INTERNAL_ERROR)
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
            return _error(404, protocol.JOB_NOT_FOUND.format(id=job_id[:MAX_JOB_ID_CHARS]))
        try:
            stored = await daemon.store.find(_owner(request), job_id)
        except TicketError as error:
            return _error(503, str(error), job_id)
        if stored is None:
            return _error(404, protocol.JOB_NOT_FOUND.format(id=job_id), job_id)
        return JSONResponse(protocol.job_of(stored))

    return job


def _recent(daemon: Daemon) -> Endpoint:
    async def recent(request: Request) -> Response:
        try:
            limit = min(MAX_LISTED_JOBS, max(1, int(request.query_params.get("limit", "50"))))
        except ValueError:
            return _error(400, "VALIDATION: 'limit' must be a whole number")
        jobs = await daemon.store.recent(limit)  # a StorageError becomes a JSON error in the guard
        listed = [{**protocol.job_of(job), "client_id": job.client_id, "seq": job.seq} for job in jobs]
        return JSONResponse({"status": "ok", "jobs": listed})

    return recent


def _reprint(daemon: Daemon) -> Endpoint:
    async def reprint(request: Request) -> Response:
        job_id = str(request.path_params["job_id"])
        target = await _operator_target(daemon, request, job_id)
        if isinstance(target, Response):
            return target
        try:
            copy = await daemon.reprint(target.seq)
        except OverflowError:
            return _error(503, protocol.QUEUE_FULL, job_id)
        except TicketError as error:  # e.g. its printer is no longer configured: not reprinted
            return _error(409, str(error), job_id)
        if copy is None:
            return _error(404, f"Job not found or its receipt is no longer stored: {job_id}", job_id)
        audit("job reprinted", job=job_id, copy=copy.id)
        return JSONResponse(protocol.job_of(copy), status_code=202)

    return reprint


def _cancel(daemon: Daemon) -> Endpoint:
    async def cancel(request: Request) -> Response:
        job_id = str(request.path_params["job_id"])
        target = await _operator_target(daemon, request, job_id)
        if isinstance(target, Response):
            return target
        try:
            cancelled = await daemon.cancel(target.seq)
        except InvalidTransition:
            return _error(409, "VALIDATION: only a queued or waiting job can be cancelled", job_id)
        except KeyError:
            cancelled = None
        if cancelled is None:
            return _error(404, protocol.JOB_NOT_FOUND.format(id=job_id), job_id)
        audit("job cancelled", job=job_id)
        return JSONResponse(protocol.job_of(cancelled))

    return cancel


async def _operator_target(daemon: Daemon, request: Request, job_id: str) -> Job | Response:
    """The job an operator's reprint/cancel names: ``?seq=N`` (must carry this id), else ``?owner=CLIENT``'s newest
    job with this id, else the newest job with this id among the recent ones, when only one client used it (two
    clients may use the same id: then the operator must say which)."""
    not_found = _error(404, protocol.JOB_NOT_FOUND.format(id=job_id[:MAX_JOB_ID_CHARS]), job_id[:MAX_JOB_ID_CHARS])
    seq_text, owner = request.query_params.get("seq"), request.query_params.get("owner")
    try:
        if seq_text is not None:
            if not seq_text.isdigit() or len(seq_text) > 18:
                return _error(400, "VALIDATION: 'seq' must be a whole number", job_id)
            job = await daemon.store.get(int(seq_text))
            return job if job is not None and job.id == job_id else not_found
        if owner is not None:
            found = await daemon.store.find(owner, job_id)
            return found if found is not None else not_found
        named = [job for job in await daemon.store.recent(MAX_LISTED_JOBS) if job.id == job_id]
    except TicketError as error:
        return _error(503, str(error), job_id)
    if not named:
        return not_found
    if len({job.owner for job in named}) > 1:
        ambiguous = f"VALIDATION: several clients used id '{job_id}': name the job with ?seq= or ?owner="
        return _error(409, ambiguous, job_id)
    return named[0]  # recent() is newest first
