"""Real-time printer status from the replies to ``DLE EOT n`` (Epson ESC/POS "Transmit real-time status").

Pure functions both ways: ``parse_status`` reads a printer's reply bytes, ``status_replies`` builds them (for the
virtual network printer); the tests check both against the bytes of Epson's bit tables.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

from ..escpos.commands import (
    STATUS_AUTOCUTTER_ERROR,
    STATUS_COVER_OPEN,
    STATUS_ERROR,
    STATUS_FIXED_BITS,
    STATUS_OFFLINE,
    STATUS_PAPER_END,
    STATUS_PAPER_NEAR_END,
    STATUS_PAPER_STOP,
    STATUS_UNRECOVERABLE,
)
from .errors import PrinterError

# Bits 0, 1, 4 and 7 of every DLE EOT reply are fixed (0, 1, 1, 0): a byte without them is not a status reply.
FIXED_BITS_MASK = 0x93

PRINTER_STATUS = 1  # DLE EOT 1 — printer status (online/offline)
OFFLINE_CAUSE = 2  # DLE EOT 2 — offline cause (cover, paper stop, error)
ERROR_CAUSE = 3  # DLE EOT 3 — error cause (autocutter, unrecoverable)
PAPER_SENSOR = 4  # DLE EOT 4 — roll paper sensor (near end, end)

# What the transports ask for: 3 (error cause) adds nothing a shop assistant can act on beyond "error" from 2.
STATUS_QUERIES = (PRINTER_STATUS, OFFLINE_CAUSE, PAPER_SENSOR)


class PrinterState(StrEnum):
    ready = "ready"
    offline = "offline"
    cover_open = "cover_open"
    paper_out = "paper_out"
    paper_near_end = "paper_near_end"
    error = "error"
    unknown = "unknown"


def is_status_byte(value: int) -> bool:
    return value & FIXED_BITS_MASK == STATUS_FIXED_BITS


def parse_status(replies: Mapping[int, int]) -> PrinterState:
    """The printer's state from its replies, keyed by the ``n`` of ``DLE EOT n``.

    The printer status reply (n=1) is required; the others refine it when present. The most specific cause wins:
    a printer with its cover open also reports "offline", but "Cover open" is what the assistant must fix.
    """
    if any(not is_status_byte(value) for value in replies.values()) or PRINTER_STATUS not in replies:
        return PrinterState.unknown
    offline_cause = replies.get(OFFLINE_CAUSE, STATUS_FIXED_BITS)
    error_cause = replies.get(ERROR_CAUSE, STATUS_FIXED_BITS)
    paper = replies.get(PAPER_SENSOR, STATUS_FIXED_BITS)
    if offline_cause & STATUS_COVER_OPEN:
        return PrinterState.cover_open
    if offline_cause & STATUS_PAPER_STOP or paper & STATUS_PAPER_END:
        return PrinterState.paper_out
    if offline_cause & STATUS_ERROR or error_cause & (STATUS_AUTOCUTTER_ERROR | STATUS_UNRECOVERABLE):
        return PrinterState.error
    if replies[PRINTER_STATUS] & STATUS_OFFLINE:
        return PrinterState.offline
    if paper & STATUS_PAPER_NEAR_END:
        return PrinterState.paper_near_end
    return PrinterState.ready


def status_replies(state: PrinterState) -> dict[int, int]:
    """The reply bytes to ``DLE EOT 1..4`` an Epson-compatible printer sends in ``state``."""
    replies = dict.fromkeys((PRINTER_STATUS, OFFLINE_CAUSE, ERROR_CAUSE, PAPER_SENSOR), STATUS_FIXED_BITS)
    if state in (PrinterState.ready, PrinterState.paper_near_end, PrinterState.unknown):
        if state is PrinterState.paper_near_end:
            replies[PAPER_SENSOR] |= STATUS_PAPER_NEAR_END
        return replies
    replies[PRINTER_STATUS] |= STATUS_OFFLINE  # every fault takes the printer offline
    if state is PrinterState.cover_open:
        replies[OFFLINE_CAUSE] |= STATUS_COVER_OPEN
    elif state is PrinterState.paper_out:
        replies[OFFLINE_CAUSE] |= STATUS_PAPER_STOP
        replies[PAPER_SENSOR] |= STATUS_PAPER_END | STATUS_PAPER_NEAR_END
    elif state is PrinterState.error:
        replies[OFFLINE_CAUSE] |= STATUS_ERROR
        replies[ERROR_CAUSE] |= STATUS_UNRECOVERABLE
    return replies


_STATE_MESSAGES: dict[PrinterState, str] = {
    PrinterState.offline: "Printer offline",
    PrinterState.cover_open: "Cover open",
    PrinterState.paper_out: "Paper out",
    PrinterState.error: "Printer error: check the printer and restart it",
}


def state_error(state: PrinterState) -> PrinterError | None:
    """The error a job meets in ``state``, or None when the printer can print (ready, paper near end, unknown).

    All of them are retryable: someone can close the cover, load paper or switch the printer on.
    """
    message = _STATE_MESSAGES.get(state)
    return PrinterError(message) if message else None
