"""Origins an operator can see and allow (docs/protocol.md "Who may connect").

A browser page whose ``Origin`` is not allowed is refused at the WebSocket handshake. Until now nothing said so
anywhere: a POS served from ``http://pos.lan:5173`` reconnected every 3 s forever. Here every refused origin is
remembered (attempts, last seen), logged once at WARNING with the setting that allows it, and an operator may allow
it at run time. Allowed origins are kept in ``<data_dir>/allowed_origins.json`` (written atomically: temp file,
fsync, rename) and merged with the configured ``server.allowed_origins`` at start-up.

The registry updates the daemon's :class:`~.security.OriginPolicy` in place, so every path that checks origins
(``/ws``, the HTTP mirror) sees an allowed origin at once.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ..document.errors import Category, TicketError
from ..protocol import jsontext
from .security import OriginPolicy, normalise_origin

log = logging.getLogger(__name__)
audit_log = logging.getLogger("ticket_daemon.audit")

ORIGINS_FILE = "allowed_origins.json"
# Refused origins remembered at once; beyond it the one seen longest ago is forgotten (a page cycling through
# made-up origins cannot grow memory).
MAX_BLOCKED_ORIGINS = 200
# Origins longer than this are not real sites; they are recorded cut to this length.
MAX_ORIGIN_CHARS = 256
SETTING = "server.allowed_origins"

WallClock = Callable[[], float]


@dataclass(slots=True)
class _Blocked:
    attempts: int
    last_seen: float


class OriginRegistry:
    """The allowed origins (configured + allowed at run time) and the origins refused so far."""

    def __init__(self, policy: OriginPolicy, data_dir: Path | None, *, clock: WallClock = time.time) -> None:
        self.policy = policy
        self._configured = set(policy.allowed)
        self._path = data_dir / ORIGINS_FILE if data_dir is not None else None
        self._clock = clock
        self._blocked: dict[str, _Blocked] = {}

    def load(self) -> None:
        """Allow the origins saved in the data directory (at start-up; a missing file means none)."""
        for origin in self._load():
            self.policy.add(origin)

    # ---- the handshake side ------------------------------------------------------------------------------

    def allows(self, origin: str | None, host_header: str | None) -> bool:
        return self.policy.allows(origin, host_header)

    def refused(self, origin: str | None) -> None:
        """Remember a refused origin; the first refusal of each is logged at WARNING with how to allow it."""
        shown = normalise_origin(origin or "null")[:MAX_ORIGIN_CHARS]
        entry = self._blocked.pop(shown, None)  # re-inserted: the dict stays ordered by last refusal
        first = entry is None
        if entry is None:
            entry = _Blocked(attempts=0, last_seen=0.0)
            while len(self._blocked) >= MAX_BLOCKED_ORIGINS:
                del self._blocked[next(iter(self._blocked))]
        entry.attempts += 1
        entry.last_seen = self._clock()
        self._blocked[shown] = entry
        if first:
            audit_log.warning(
                "AUDIT: origin refused: a page from %r tried to connect (HTTP 403). If it is your POS, allow "
                "it: add it to %s in the configuration, or click Allow under 'Blocked sites' in the dashboard "
                "(POST /api/v1/origins). Further refusals of it are counted there, not logged",
                shown,
                SETTING,
            )

    # ---- the operator side --------------------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        """``{"allowed":[…],"configured":[…],"blocked":[{"origin":…,"attempts":N,"last_seen":…}]}``, most recent
        refusal first; ``configured`` are the allowed ones set in the configuration (removed there, not at run time)."""
        blocked = [
            {
                "origin": origin,
                "attempts": entry.attempts,
                "last_seen": datetime.fromtimestamp(entry.last_seen, UTC).isoformat(),
            }
            for origin, entry in reversed(self._blocked.items())
        ]
        allowed = sorted(self.policy.allowed) + (["*"] if self.policy.allow_all else [])
        return {"allowed": allowed, "configured": sorted(self._configured), "blocked": blocked}

    def allow(self, origin: object) -> str:
        """Allow ``origin`` from now on and keep it across restarts; its normalised form. Raises ``TicketError``
        (VALIDATION) for something that is not an origin, (STORAGE) when it cannot be saved."""
        normalised = validated_origin(origin)
        if normalised in self.policy.allowed:
            self._blocked.pop(normalised, None)
            return normalised
        self.policy.add(normalised)
        try:
            self._save()
        except OSError as error:
            self.policy.discard(normalised)
            raise TicketError(
                f"cannot save the allowed origins in {self._path}: {error.strerror or error}",
                category=Category.STORAGE,
            ) from None
        self._blocked.pop(normalised, None)
        audit_log.warning("AUDIT: origin %r allowed by an operator", normalised)
        return normalised

    def remove(self, origin: object) -> bool:
        """Stop allowing an origin allowed at run time; False when it was not allowed. Configured origins stay."""
        normalised = validated_origin(origin)
        if normalised in self._configured:
            raise TicketError(
                f"origin '{normalised}' is set in the configuration ({SETTING}); remove it there",
                category=Category.VALIDATION,
            )
        if normalised not in self.policy.allowed:
            return False
        self.policy.discard(normalised)
        try:
            self._save()
        except OSError as error:
            self.policy.add(normalised)
            raise TicketError(
                f"cannot save the allowed origins in {self._path}: {error.strerror or error}",
                category=Category.STORAGE,
            ) from None
        audit_log.warning("AUDIT: origin %r no longer allowed (removed by an operator)", normalised)
        return True

    # ---- the file ------------------------------------------------------------------------------------------

    def _runtime_allowed(self) -> list[str]:
        return sorted(self.policy.allowed - self._configured)

    def _load(self) -> list[str]:
        if self._path is None:
            return []
        try:
            data = jsontext.decode(self._path.read_bytes())
        except FileNotFoundError:
            return []
        except (OSError, TicketError) as error:
            log.error("STORAGE: %s cannot be read (%s): only the configured origins are allowed", self._path, error)
            return []
        listed = data.get("allowed") if isinstance(data, dict) else None
        if not isinstance(listed, list):
            log.error("STORAGE: %s has no 'allowed' list: only the configured origins are allowed", self._path)
            return []
        origins: list[str] = []
        for value in listed:
            try:
                origins.append(validated_origin(value))
            except TicketError as error:
                log.error("STORAGE: %s lists an origin that is skipped: %s", self._path, error)
        return origins

    def _save(self) -> None:
        if self._path is None:
            return
        text = json.dumps({"allowed": self._runtime_allowed()}, indent=2) + "\n"
        atomic_write(self._path, text)


def atomic_write(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` so that a crash leaves either the old file or the new one, never half of it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temp_name = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp_name, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp_name)
        raise
    if os.name == "posix":  # the rename itself is durable only once the directory is synced
        directory = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)


def validated_origin(value: object) -> str:
    """``value`` as a normalised origin (``scheme://host[:port]`` with http or https, or ``null`` for file pages);
    a ``VALIDATION:`` error otherwise."""
    if not isinstance(value, str) or not value.strip():
        raise TicketError("field 'origin' must be a non-empty string", category=Category.VALIDATION)
    normalised = normalise_origin(value)
    if normalised == "null":
        return normalised
    shown = normalised[:MAX_ORIGIN_CHARS]
    try:
        parts = urlsplit(normalised)
        _ = parts.port  # a port that is not a number raises here
    except ValueError:
        raise TicketError(f"'{shown}' is not an origin", category=Category.VALIDATION) from None
    if (
        len(normalised) > MAX_ORIGIN_CHARS
        or parts.scheme not in ("http", "https")
        or not parts.hostname
        or parts.path
        or parts.query
        or parts.fragment
        or parts.username is not None
    ):
        raise TicketError(
            f"'{shown}' is not an origin: expected scheme://host[:port] (http or https) or 'null'",
            category=Category.VALIDATION,
        )
    return normalised
