"""The ``DLE EOT 1, 2, 4`` exchange every two-way transport (tcp, serial, usb) holds with its printer.

One place knows what is asked (one query per ``STATUS_QUERIES``, sent together), how long the answer may take (the
status timeout, plus the time the printer needs to take the bytes of a job still ahead of the query: the printer
answers only once it has read that far), and what an answer means:

- all replies (one byte each): the state they describe (``status.parse_status``);
- nothing at all: what silence means on that link (a serial printer that says nothing is switched off, a network
  or USB printer that says nothing gives no status);
- some but not all replies: ``unknown``, and ``unknown`` from then on for this connection, because the missing bytes
  may still arrive and be taken for the answer to the next query.

The transport supplies the link: ``collect`` runs in the transport's I/O thread with a ``write`` and a
``read(count, seconds)`` that returns what arrived (possibly nothing) or raises ``TimeoutError`` when the link says
nothing more will come in time. The network transport collects replies on the event loop instead and uses the rest.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from ..escpos.commands import status_request
from .base import Timeouts
from .status import STATUS_QUERIES, PrinterState, parse_status

STATUS_QUERY = b"".join(status_request(n) for n in STATUS_QUERIES)
REPLY_COUNT = len(STATUS_QUERIES)  # an Epson-compatible printer answers each query with one byte, in order


class StatusExchange:
    """The status exchange of one connection: its time budget, and whether an earlier query went unanswered."""

    def __init__(self, timeouts: Timeouts) -> None:
        self.timeouts = timeouts
        self.unanswered = False
        # Until when bytes already sent may still sit in link and printer buffers ahead of a status query.
        self._busy_until = 0.0

    def restart(self) -> None:
        """A new connection: nothing late can arrive on it."""
        self.unanswered = False

    def job_sent(self, size: int, *, since: float | None = None) -> None:
        """``size`` bytes were handed to the link: the printer may still be working through them. ``since`` (a
        ``time.monotonic()``): when they began to go out, for a link whose send returns only once the printer took
        them, so the time it already spent taking them counts."""
        start = time.monotonic() if since is None else since
        self._busy_until = start + size / self.timeouts.slowest_bytes_per_second

    def budget(self) -> float:
        """Seconds the answer to a query sent now may take."""
        return self.timeouts.status + max(0.0, self._busy_until - time.monotonic())

    @staticmethod
    def collect(write: Callable[[bytes], object], read: Callable[[int, float], bytes], budget: float) -> bytes:
        """Blocking: send the query, then read until every reply is in or ``budget`` seconds have passed."""
        write(STATUS_QUERY)
        replies = bytearray()
        stop = time.monotonic() + budget
        while len(replies) < REPLY_COUNT and (left := stop - time.monotonic()) > 0:
            try:
                replies += read(REPLY_COUNT - len(replies), left)
            except TimeoutError:
                break
        return bytes(replies)

    def verdict(self, replies: bytes, *, silence: PrinterState) -> PrinterState:
        """The printer's state from what it answered; ``silence`` is what no answer at all means on this link."""
        if len(replies) >= REPLY_COUNT:
            return parse_status(dict(zip(STATUS_QUERIES, replies, strict=False)))
        if not replies and silence is not PrinterState.unknown:
            return silence
        self.unanswered = True
        return PrinterState.unknown
