"""The diagnostic dashboard's routes: the page, its login, its static files and the virtual printers' output.

docs/protocol.md "HTTP": ``GET /`` (login required when a dashboard password is set), ``GET /login``,
``POST /auth/login``, ``POST /auth/logout`` (and ``GET /auth/logout``, which the original's dashboard uses).
Ours besides: ``GET /auth/session`` (does the page need a login?),
``/static/…`` (dashboard files and ``ticket-client.js``), ``GET /api/v1/virtual/{printer}/jobs`` and
``GET /api/v1/virtual/{printer}/jobs/{job}.png`` (the last receipts of a ``virtual://`` printer).

With no password hash configured the dashboard is open (the local default) and says so on the page.

With ``server.auth_token`` set, every operator route here (the virtual printers' receipts, and the routes built
with :meth:`_Dashboard.operator_guard`: origins, recent jobs, reprint, cancel) also needs ``Authorization: Bearer
<token>``. The operator's page carries it: ``GET /`` (served only to the operator: a live session, or an open
dashboard on this machine) holds ``<meta name="ticket-auth-token" content="…">`` for the dashboard's script. No
other response carries it, and none is readable from another origin (no CORS headers here).
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import ipaddress
import logging
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qs, quote, urlencode, urlsplit

from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from .. import web
from ..config import Settings
from ..document.errors import Category, TicketError
from ..logs import audit
from ..printers.registry import PrinterRegistry
from ..printers.virtual import VirtualJob, list_jobs, virtual_printer_dir
from ..protocol import requests
from ..protocol.messages import AUTH_INVALID
from .passwords import is_password_hash, verify_password
from .security import is_loopback_address, token_matches
from .sessions import (
    SESSION_COOKIE,
    Clock,
    LoginThrottle,
    SessionStore,
    clear_session_cookie,
    set_session_cookie,
)

log = logging.getLogger(__name__)

STATIC_DIR = Path(web.__file__).resolve().parent / "static"
# A login body is a password and little else; anything bigger is refused before it is read in full.
MAX_LOGIN_BODY_BYTES = 8 * 1024
# Transcripts listed per job are cut here: a receipt's text is a few KB; a runaway raw job must not bloat the list.
MAX_TRANSCRIPT_CHARS = 16 * 1024
LOCAL_HOSTNAMES = frozenset({"localhost", "127.0.0.1", "::1"})
# argon2 costs tens of ms of CPU and ~100 MB/s of memory bandwidth per check: a few at once, whatever the load
# so a flood of logins cannot starve the event loop's threads; each address gets one at a time.
MAX_CONCURRENT_PASSWORD_CHECKS = 2
# An open dashboard (no password) is served to this machine only: anyone on the network could print otherwise.
REMOTE_NEEDS_PASSWORD = "AUDIT: Set server.dashboard_password_hash to use the dashboard from another machine"

# The page's meta tag that hands the auth token to the dashboard's script (web/static/dashboard.js reads it).
TOKEN_META_NAME = "ticket-auth-token"
_HEAD_TAG = re.compile(rb"<head(?:\s[^>]*)?>", re.IGNORECASE)

# Scripts and styles come only from /static (no inline code); images may be blob:/data: (preview, favicon).
_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "connect-src 'self' {ws}; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)

Endpoint = Callable[[Request], Awaitable[Response]]
# A ``TicketError`` from an operator endpoint → its HTTP status (anything else: the thing asked for is not there).
_STATUS_OF_CATEGORY = {Category.VALIDATION: 400, Category.STORAGE: 503}


class DashboardHost(Protocol):
    """What the dashboard needs from the daemon (``server.daemon.Daemon``): its settings and printer registry."""

    @property
    def settings(self) -> Settings: ...

    @property
    def registry(self) -> PrinterRegistry: ...


# Operator routes living elsewhere (``jobs_api.py``), built with the dashboard's guard (session + origin check).
OperatorRoutes = Callable[[Callable[[Endpoint], Endpoint]], list[BaseRoute]]


def dashboard_routes(
    daemon: DashboardHost, *, clock: Clock = time.monotonic, operator_routes: OperatorRoutes | None = None
) -> list[BaseRoute]:
    """The dashboard's routes for ``create_app``. ``clock`` (monotonic seconds) drives session expiry and lock-out."""
    dashboard = _Dashboard(daemon.settings, daemon.registry, clock)
    extra = operator_routes(dashboard.operator_guard) if operator_routes is not None else []
    return [*extra, *dashboard.routes()]


class _Dashboard:
    def __init__(self, settings: Settings, registry: PrinterRegistry, clock: Clock) -> None:
        self.settings = settings
        self.registry = registry
        self.password_hash = settings.server.dashboard_password_hash.get_secret_value()
        if self.password_hash and not is_password_hash(self.password_hash):
            log.error(
                "server.dashboard_password_hash is not an argon2 hash: nobody can log in to the dashboard "
                "(create one with `ticket-daemon hash-password`)"
            )
        self.auth_token = settings.server.auth_token.get_secret_value()
        self.sessions = SessionStore(clock=clock)
        self.throttle = LoginThrottle(clock=clock)
        self._password_checks = asyncio.Semaphore(MAX_CONCURRENT_PASSWORD_CHECKS)
        self._checking: dict[str, _AddressLock] = {}  # address → its logins running or waiting

    @property
    def password_required(self) -> bool:
        return bool(self.password_hash)

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/", self.index, methods=["GET"]),
            Route("/login", self.login_page, methods=["GET"]),
            Route("/auth/login", self.login, methods=["POST"]),
            Route("/auth/logout", self.logout, methods=["POST"]),
            Route("/auth/logout", self.logout_link, methods=["GET"]),
            Route("/auth/session", self.session_info, methods=["GET"]),
            Route("/api/v1/virtual/{printer}/jobs", self._api(self.virtual_jobs), methods=["GET"]),
            Route("/api/v1/virtual/{printer}/jobs/{job:int}.png", self._api(self.virtual_png), methods=["GET"]),
            Mount("/static", app=StaticFiles(directory=STATIC_DIR), name="static"),
        ]

    # ---- who is asking ---------------------------------------------------------------------------------------

    def has_session(self, request: Request) -> bool:
        return self.sessions.touch(request.cookies.get(SESSION_COOKIE))

    def allowed(self, request: Request) -> bool:
        """May this request see the dashboard? A live session, or an open dashboard reached by a trusted host name."""
        if self.password_required:
            return self.has_session(request)
        return self._trusted_host(request) and _loopback_client(request)

    def _trusted_host(self, request: Request) -> bool:
        # An open dashboard answers only to localhost, IP literals and the configured origins' host names, so a
        # DNS-rebinding page (evil.example resolving to 127.0.0.1) cannot read it. With a password the session
        # cookie, bound to the real host name, already protects it.
        hostname = (request.url.hostname or "").strip("[]").lower()
        if hostname in LOCAL_HOSTNAMES or self.settings.server.host.lower() == hostname:
            return True
        try:
            ipaddress.ip_address(hostname)
            return True
        except ValueError:
            pass
        origins = self.settings.server.allowed_origins
        return "*" in origins or hostname in {(urlsplit(o).hostname or "").lower() for o in origins}

    def _same_origin_post(self, request: Request) -> bool:
        # Browsers send Origin on every POST; one from another site is a cross-site form post (login CSRF).
        origin = request.headers.get("origin")
        if origin is None:  # not a browser, or an old one: nothing a hostile page could steer
            return True
        return urlsplit(origin).netloc.lower() == request.headers.get("host", "").lower()

    # ---- pages ---------------------------------------------------------------------------------------------

    async def index(self, request: Request) -> Response:
        if self.password_required and not self.has_session(request):
            return RedirectResponse("/login", status_code=303)
        if not self._trusted_host(request) and not self.password_required:
            return _error(403, "AUDIT: This dashboard only answers on localhost or a configured origin")
        if not self.password_required and not _loopback_client(request):
            return _error(403, REMOTE_NEEDS_PASSWORD)
        if self.auth_token:  # the operator's page: it carries the token its script sends to the operator routes
            return await _page_with_token(request, STATIC_DIR / "index.html", self.auth_token)
        return _page(request, STATIC_DIR / "index.html")

    async def login_page(self, request: Request) -> Response:
        if not self.password_required or self.has_session(request):
            return RedirectResponse("/", status_code=303)
        return _page(request, STATIC_DIR / "login.html")

    async def session_info(self, request: Request) -> Response:
        return JSONResponse(
            {"password_required": self.password_required, "authenticated": self.allowed(request)},
            headers={"Cache-Control": "no-store"},
        )

    # ---- login / logout -----------------------------------------------------------------------------------

    async def login(self, request: Request) -> Response:
        wants_json = "application/json" in request.headers.get("content-type", "")
        if not self._same_origin_post(request):
            return _error(403, "AUDIT: Login refused: the form was posted from another site")
        if not self.password_required:
            return _login_ok(wants_json)
        address = request.client.host if request.client else "unknown"
        # A browser already logged in is the operator: a guessing run elsewhere must not keep it out.
        has_session = self.has_session(request)
        wait = self.throttle.locked_for(address, has_session=has_session)
        if wait > 0:
            self.throttle.refused(address)
            return _locked_out(wants_json, wait)
        password = await _read_password(request, wants_json)
        async with self._one_check_per_address(address), self._password_checks:
            # Again: attempts queued behind this one may have locked it.
            wait = self.throttle.locked_for(address, has_session=has_session)
            if wait > 0:
                self.throttle.refused(address)
                return _locked_out(wants_json, wait)
            # Counted before the slow check (undone on success), so concurrent posts cannot all
            # slip past the lock-out. argon2 takes tens of milliseconds of CPU on purpose: off the event loop.
            self.throttle.attempt(address, has_session=has_session)
            ok = password is not None and await asyncio.to_thread(verify_password, self.password_hash, password)
        if not ok:
            if self.throttle.failure(address):
                return _locked_out(wants_json, self.throttle.locked_for(address, has_session=has_session))
            if wants_json:
                return _error(401, "AUDIT: Wrong password")
            return RedirectResponse("/login?error=invalid", status_code=303)
        self.throttle.success(address)
        response = _login_ok(wants_json)
        set_session_cookie(response, self.sessions.create(), secure=request.url.scheme == "https")
        return response

    @contextlib.asynccontextmanager
    async def _one_check_per_address(self, address: str) -> AsyncIterator[None]:
        """One login of ``address`` at a time; an entry exists only while one runs or waits (bounded)."""
        entry = self._checking.setdefault(address, _AddressLock())
        entry.users += 1
        try:
            async with entry.lock:
                yield
        finally:
            entry.users -= 1
            if entry.users == 0:
                del self._checking[address]

    async def logout(self, request: Request) -> Response:
        if not self._same_origin_post(request):
            return _error(403, "AUDIT: Logout refused: the form was posted from another site")
        self.sessions.revoke(request.cookies.get(SESSION_COOKIE))
        response: Response
        if "application/json" in request.headers.get("content-type", ""):
            response = JSONResponse({"status": "ok"})
        else:
            response = RedirectResponse("/login?logged_out=1" if self.password_required else "/", status_code=303)
        clear_session_cookie(response, secure=request.url.scheme == "https")
        return response

    async def logout_link(self, request: Request) -> Response:
        """``GET /auth/logout`` (the original's dashboard logs out with a link). It only ends the session: the
        cookie is SameSite=Strict, so a link on another site arrives without it and ends nothing."""
        self.sessions.revoke(request.cookies.get(SESSION_COOKIE))
        response = RedirectResponse("/login?logged_out=1" if self.password_required else "/", status_code=303)
        clear_session_cookie(response, secure=request.url.scheme == "https")
        return response

    # ---- virtual printer output -------------------------------------------------------------------------

    def _api(self, endpoint: Endpoint) -> Endpoint:
        async def guarded(request: Request) -> Response:
            if not self.password_required and not _loopback_client(request):
                return _error(403, REMOTE_NEEDS_PASSWORD)
            if not self.allowed(request):
                return _error(401, "AUDIT: Log in to the dashboard first")
            if self.auth_token and not token_matches(_bearer_token(request), self.auth_token):
                address = request.client.host if request.client else "-"
                audit("auth token refused", path=request.url.path, address=address)
                return _error(401, AUTH_INVALID)
            try:
                return await endpoint(request)
            except TicketError as error:
                return _error(_STATUS_OF_CATEGORY.get(error.category, 404), str(error))
            except Exception:  # never let a listing problem escape as a 500 traceback
                log.exception("dashboard API %s failed", request.url.path)
                return _error(500, "EXECUTION: internal error")

        return guarded

    def operator_guard(self, endpoint: Endpoint) -> Endpoint:
        """An operator action: the dashboard's login (or trusted host), and a change (POST, DELETE) only from the
        dashboard's own origin (a hostile page must not reprint, cancel or allow itself)."""
        guarded = self._api(endpoint)

        async def checked(request: Request) -> Response:
            if request.method not in ("GET", "HEAD") and not self._same_origin_post(request):
                return _error(403, "AUDIT: Origin not allowed")
            return await guarded(request)

        return checked

    def _virtual_folder(self, printer: str) -> Path | None:
        """The output folder of the configured printer ``printer`` if it is a ``virtual://`` one."""
        configured = self.registry.get(printer)
        if configured is None:
            return None
        parsed = configured.parsed_uri
        if parsed.scheme != "virtual":
            return None
        return virtual_printer_dir(self.settings.storage.data_dir, parsed.location)

    async def virtual_jobs(self, request: Request) -> Response:
        printer = request.path_params["printer"]
        folder = self._virtual_folder(printer)
        if folder is None:
            return _error(404, f"PRINTER: '{printer}' is not a virtual printer")
        jobs = await asyncio.to_thread(_describe_jobs, folder, printer)
        return JSONResponse({"printer": printer, "jobs": jobs}, headers={"Cache-Control": "no-store"})

    async def virtual_png(self, request: Request) -> Response:
        printer, number = request.path_params["printer"], request.path_params["job"]
        folder = self._virtual_folder(printer)
        if folder is None:
            return _error(404, f"PRINTER: '{printer}' is not a virtual printer")
        jobs = await asyncio.to_thread(list_jobs, folder)
        job = next((job for job in jobs if job.number == number), None)
        if job is None or job.png_path is None:
            return _error(404, f"PRINTER: job {number} of '{printer}' is not kept (only the newest are)")
        return FileResponse(job.png_path, media_type="image/png", headers={"Cache-Control": "private, max-age=3600"})


def _describe_jobs(folder: Path, printer: str) -> list[dict[str, Any]]:
    """The JSON listing of a virtual printer's kept jobs, newest first. Blocking (reads the transcripts)."""
    return [_describe_job(job, printer) for job in list_jobs(folder)]


def _describe_job(job: VirtualJob, printer: str) -> dict[str, Any]:
    transcript = ""
    if job.text_path is not None:
        try:
            transcript = job.text_path.read_text("utf-8", errors="replace")[:MAX_TRANSCRIPT_CHARS]
        except OSError:  # pruned while we looked
            transcript = ""
    name = f"{job.number:06d}"
    return {
        "job": name,
        "number": job.number,
        "bytes": job.size,
        "created": datetime.fromtimestamp(job.mtime, UTC).isoformat(),
        "png_url": f"/api/v1/virtual/{quote(printer, safe='')}/jobs/{job.number}.png" if job.png_path else None,
        "transcript": transcript,
    }


# ---- responses -------------------------------------------------------------------------------------------


def _page(request: Request, path: Path) -> Response:
    return FileResponse(path, media_type="text/html; charset=utf-8", headers=_page_headers(request))


async def _page_with_token(request: Request, path: Path, token: str) -> Response:
    """The page with ``<meta name="ticket-auth-token">`` first in its head (read off the event loop)."""
    page = await asyncio.to_thread(path.read_bytes)
    meta = f'<meta name="{TOKEN_META_NAME}" content="{html.escape(token, quote=True)}">'.encode()
    found = _HEAD_TAG.search(page)
    at = found.end() if found is not None else 0
    body = page[:at] + meta + page[at:]
    return Response(body, media_type="text/html; charset=utf-8", headers=_page_headers(request))


def _page_headers(request: Request) -> dict[str, str]:
    host = request.headers.get("host", "")
    ws = f"ws://{host} wss://{host}" if host else ""
    return {
        "Cache-Control": "no-store",
        "Content-Security-Policy": _CSP.format(ws=ws),
        "X-Content-Type-Options": "nosniff",
        # Not "no-referrer": with it Chromium sends "Origin: null" on the login form's POST, failing the check.
        "Referrer-Policy": "same-origin",
    }


def _bearer_token(request: Request) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header; None without one."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def _error(status_code: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"status": "error", "mensaje": message}, status_code=status_code, headers=headers)


@dataclass(slots=True)
class _AddressLock:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    users: int = 0


def _loopback_client(request: Request) -> bool:
    """Whether the request comes from this machine."""
    return is_loopback_address(request.client.host if request.client else "")


def _login_ok(wants_json: bool) -> Response:
    if wants_json:
        return JSONResponse({"status": "ok"})
    return RedirectResponse("/", status_code=303)


def _locked_out(wants_json: bool, wait: float) -> Response:
    seconds = max(1, round(wait))
    headers = {"Retry-After": str(seconds)}
    if wants_json:
        minutes = max(1, -(-seconds // 60))
        return _error(429, f"AUDIT: Too many failed logins; try again in {minutes} minute(s)", headers)
    query = urlencode({"error": "locked", "retry": seconds})
    return RedirectResponse(f"/login?{query}", status_code=303, headers=headers)


async def _read_password(request: Request, wants_json: bool) -> str | None:
    """The ``password`` field of a JSON or urlencoded body; None when missing or the body is too big."""
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_LOGIN_BODY_BYTES:
            return None
    if wants_json:
        data = requests.read_message(bytes(body))  # the protocol's strict reader, as for every JSON body
        password = None if isinstance(data, requests.Refusal) else data.get("password")
        return password if isinstance(password, str) else None
    text = body.decode("utf-8", errors="replace")
    values = parse_qs(text, keep_blank_values=True).get("password")
    return values[0] if values else None
