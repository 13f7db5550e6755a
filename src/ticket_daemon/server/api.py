"""HTTP mirror (docs/protocol.md "HTTP"): ``GET /api/v1/printers`` and ``POST /api/v1/preview`` → image/png,
and the operator's origin list (``GET/POST/DELETE /api/v1/origins``).

Same rules as ``/ws``: bodies bounded by ``max_frame_bytes``, a page from a foreign origin is refused (a
browser sends ``Origin`` with every POST), rendering runs in a worker thread, errors are ``CATEGORY: sentence``
in ``{"status":"error","mensaje":…}``. When ``server.auth_token`` is configured, every path that prints, renders
or reveals jobs takes it as ``Authorization: Bearer <token>`` (:func:`token_refusal`).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from ..document.errors import TicketError
from ..logs import audit
from ..protocol import messages, requests
from .daemon import Daemon
from .origins import OriginRegistry
from .security import token_matches

Endpoint = Callable[[Request], Awaitable[Response]]
Guard = Callable[[Endpoint], Endpoint]


def api_routes(daemon: Daemon) -> list[BaseRoute]:
    return [
        Route("/api/v1/printers", _printers(daemon), methods=["GET"]),
        Route("/api/v1/preview", _preview(daemon), methods=["POST"]),
    ]


def _error(status_code: int, mensaje: str) -> JSONResponse:
    return JSONResponse({"status": "error", "mensaje": mensaje}, status_code=status_code)


def _printers(daemon: Daemon) -> Endpoint:
    async def printers(request: Request) -> Response:
        """Configured printers with their live state, then the OS printers not configured yet (each with the
        ``uri`` that would configure it)."""
        details, summary = await daemon.spool.printers_report(discover=True)
        return JSONResponse({"status": "ok", "printers": details, "summary": summary})

    return printers


def _preview(daemon: Daemon) -> Endpoint:
    limit = daemon.settings.server.max_frame_bytes

    async def preview(request: Request) -> Response:
        refusal = token_refusal(daemon, request)
        if refusal is not None:
            return refusal
        body = await read_request_body(daemon, request, limit)
        if isinstance(body, Response):
            return body
        payload = await off_loop_if_big(requests.read_message, body)
        if isinstance(payload, requests.Refusal):
            return _error(400, payload.mensaje)
        document = _document_of(payload)
        if document is None:
            return _error(400, "VALIDATION: the body must be a print document (or a ticket message with 'datos')")
        # Previews spend the rate limit like tickets: an HTTP request has no connection, so its address's budget.
        address = request.client.host if request.client else "unknown"
        if not daemon.rate_limiter.allow(address, time.monotonic()):
            audit("rate limited", address=address, path=request.url.path)
            return _error(429, messages.RATE_LIMITED)
        try:
            client = f"http:{address}"
            raw_policy = daemon.settings.server.raw_policy
            drawn = await daemon.spool.render_pool.preview(client, document, raw_policy=raw_policy)
        except TicketError as error:
            return _error(400, str(error))
        headers = {"X-Image-Width": str(drawn.width), "X-Image-Height": str(drawn.height), "Cache-Control": "no-store"}
        if drawn.notes:
            # A JSON array of the notes (docs/document.md "Lenient (default) and strict"), ASCII-escaped: header
            # values are Latin-1 only.
            headers["X-Render-Notes"] = json.dumps(list(drawn.notes))
        return Response(drawn.png, media_type="image/png", headers=headers)

    return preview


def _document_of(payload: dict[str, Any]) -> Mapping[str, Any] | None:
    datos = payload.get("datos")
    if "commands" not in payload and isinstance(datos, dict):
        return datos
    return payload


ErrorResponse = Callable[[int, str], Response]


def bearer_token(request: Request) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header; None without one."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def token_refusal(daemon: Daemon, request: Request, error: ErrorResponse | None = None) -> Response | None:
    """A 401 ``Invalid or missing auth token`` when a token is configured and the request does not carry it as
    ``Authorization: Bearer``; None when it may go on. Compared in constant time."""
    expected = daemon.settings.server.auth_token.get_secret_value()
    if not expected or token_matches(bearer_token(request), expected):
        return None
    audit("auth token refused", path=request.url.path, address=request.client.host if request.client else "-")
    return (error or _error)(401, messages.AUTH_INVALID)


# Bodies bigger than this are read by the protocol in a worker thread, as ``/ws`` reads big frames.
INLINE_JSON_BYTES = 64 * 1024
_T = TypeVar("_T")


async def off_loop_if_big(read: Callable[[bytes], _T], body: bytes) -> _T:
    """``read(body)``, in a worker thread when the body is big (parsing must not hold up the event loop)."""
    if len(body) > INLINE_JSON_BYTES:
        return await asyncio.to_thread(read, body)
    return read(body)


async def read_request_body(
    daemon: Daemon, request: Request, limit: int, error: ErrorResponse | None = None
) -> bytes | Response:
    """The request's body for the protocol to read, or the error response to send instead: a foreign origin
    (403) or a body over ``limit`` bytes (413). ``error`` shapes the response body (default
    ``{"status":"error","mensaje":…}``)."""
    reply = error or _error
    origin = request.headers.get("origin")
    if not daemon.origin_policy.allows(origin, request.headers.get("host")):
        audit("origin refused", origin=repr((origin or "")[:100]), path=request.url.path)
        return reply(403, "AUDIT: Origin not allowed")
    body = await read_bounded(request, limit)
    if body is None:
        return reply(413, f"JSON: request body is larger than {limit} bytes")
    return body


async def read_bounded(request: Request, limit: int) -> bytes | None:
    """The body, or None as soon as it grows past ``limit`` (never buffers more than that)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def origin_routes(origins: OriginRegistry, guard: Guard) -> list[BaseRoute]:
    """docs/protocol.md "Who may connect": listing, allowing and removing, operator only."""

    async def listing(request: Request) -> Response:
        return JSONResponse(origins.snapshot(), headers={"Cache-Control": "no-store"})

    async def allow(request: Request) -> Response:
        body = await read_bounded(request, MAX_ORIGIN_BODY_BYTES)
        if body is None:
            return _error(413, f"JSON: request body is larger than {MAX_ORIGIN_BODY_BYTES} bytes")
        payload = requests.read_message(body)
        if isinstance(payload, requests.Refusal):
            return _error(400, payload.mensaje)
        origin = payload.get("origin")
        allowed = origins.allow(origin)  # TicketError → JSON error in the guard
        return JSONResponse({"status": "ok", "origin": allowed, **origins.snapshot()})

    async def remove(request: Request) -> Response:
        origin = request.query_params.get("origin")
        if not origins.remove(origin):
            return _error(404, f"VALIDATION: origin '{str(origin)[:256]}' is not allowed at run time")
        return JSONResponse({"status": "ok", **origins.snapshot()})

    return [
        Route("/api/v1/origins", guard(listing), methods=["GET"]),
        Route("/api/v1/origins", guard(allow), methods=["POST"]),
        Route("/api/v1/origins", guard(remove), methods=["DELETE"]),
    ]


# An origin is at most a few hundred characters; the body is {"origin": …}.
MAX_ORIGIN_BODY_BYTES = 4096
