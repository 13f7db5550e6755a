"""Who a client is, and one ``/ws`` connection's protocol state as one explicit object.

    OPEN ──▶ CLOSING ──▶ CLOSED

A connection is OPEN from the upgrade: it reads frames and queues replies. CLOSING begins once a close is decided
(the daemon stops, the client floods or stops reading, a bug): nothing more is queued and nothing is sent after the
close frame. CLOSED once the socket is gone. Alongside: its message budget, whether it proved the auth token, and
whether results owed to its client_id are routed to it (attached).
"""

from __future__ import annotations

import re
from collections import OrderedDict
from dataclasses import dataclass
from enum import Enum

from .flood import MessageBudget, Verdict
from .tokens import token_matches

# Owner recorded for a job sent without ``?client_id``. A client_id keeps only ``[\w.:@-]``, so no client can name
# itself ``addr/…`` and collect the results of anonymous jobs from that address.
ANONYMOUS_OWNER = "addr/{address}"
MAX_CLIENT_ID_CHARS = 64
# Ids a connection remembers for job_status (newest kept): a till's whole day of tickets, ~100 bytes each.
MAX_REMEMBERED_IDS = 1000
_UNSAFE_ID_CHARS = re.compile(r"[^\w.:@-]")


def client_id_of(raw: str | None) -> str | None:
    """docs/protocol.md ``?client_id=NAME``: it names the client in logs and result delivery, so safe characters
    only (others become ``_``), at most 64; None when empty."""
    return _UNSAFE_ID_CHARS.sub("_", (raw or "").strip())[:MAX_CLIENT_ID_CHARS] or None


@dataclass(frozen=True, slots=True)
class ClientIdentity:
    """The ``?client_id`` a client chose, else nothing, and the address it connects from."""

    address: str
    client_id: str | None = None

    @property
    def owner(self) -> str:
        """The scope its ids belong to (docs/protocol.md "Ids"): its client_id, else its
        address. Only this owner is ever sent the results of its jobs."""
        return self.client_id or ANONYMOUS_OWNER.format(address=self.address)

    @property
    def client_key(self) -> str:
        """``client_id@address`` (``-@address`` without one): its name in logs and its render fairness key. The
        address is part of it so two machines that chose the same client_id do not wait on each other."""
        return f"{self.client_id or '-'}@{self.address}"


class Phase(Enum):
    OPEN = "open"
    CLOSING = "closing"
    CLOSED = "closed"


@dataclass(frozen=True, slots=True)
class CloseRequest:
    """How the connection is to be closed: the close code and reason, and whether queued replies go out first."""

    code: int
    reason: str
    flush: bool


class ConnectionState:
    def __init__(
        self, identity: ClientIdentity, budget: MessageBudget, *, expected_token: str, presented_token: object
    ) -> None:
        self.identity = identity
        self.phase = Phase.OPEN
        self.close_request: CloseRequest | None = None
        self._budget = budget
        self._expected_token = expected_token
        # Previews and job_status need the token when one is configured: in the message, or proved once by the
        # connection (``?auth_token=`` on connect, or any message carrying the right one).
        self.token_proven = not expected_token or token_matches(presented_token, expected_token)
        # A client_id is not a secret: with a token configured, results owed to it come here only once proved.
        self.attached = False
        # docs/protocol.md "Ids": an anonymous client may reuse ids, and another tab on its machine too; job_status
        # names the newest job this connection sent with the id (id → the stored job's seq, the newest ids kept).
        self._sent: OrderedDict[str, int] = OrderedDict()

    @property
    def is_open(self) -> bool:
        return self.phase is Phase.OPEN

    def admit(self, now: float) -> Verdict:
        """May the next frame be handled (the message budget)?"""
        return self._budget.admit(now)

    def prove(self, token: object) -> bool:
        """Whether this connection may reveal or render jobs, now that it presented ``token``."""
        if not self.token_proven and token_matches(token, self._expected_token):
            self.token_proven = True
        return self.token_proven

    def may_attach(self, token: object) -> bool:
        """Whether results owed to its client_id may now come here (named, not attached yet, token proven)."""
        if self.identity.client_id is None or self.attached or self.phase is not Phase.OPEN:
            return False
        return not self._expected_token or token_matches(token, self._expected_token)

    def sent(self, job_id: str, seq: int) -> None:
        """This connection's ticket ``job_id`` was acked as stored job ``seq``: its newest job with that id."""
        self._sent.pop(job_id, None)
        self._sent[job_id] = seq
        if len(self._sent) > MAX_REMEMBERED_IDS:
            self._sent.popitem(last=False)

    def seq_sent_as(self, job_id: str) -> int | None:
        """The stored job this connection last sent under ``job_id``, if it did."""
        return self._sent.get(job_id)

    def close(self, code: int, reason: str, *, flush: bool) -> bool:
        """OPEN → CLOSING with this close; False (nothing changes) when a close was already decided."""
        if self.phase is not Phase.OPEN:
            return False
        self.phase = Phase.CLOSING
        self.close_request = CloseRequest(code, reason, flush)
        return True

    def closed(self) -> None:
        """The socket is gone (from any phase)."""
        self.phase = Phase.CLOSED
