"""What an Epson TM printer answers to ``DLE EOT n``, written out as the bytes of Epson's bit tables (ESC/POS
"Transmit real-time status"), not computed by the project: the fakes of the serial and USB tests answer with these,
so a transport is checked against the printer, not against the project's own reply builder.

Every reply has bit 1 and bit 4 set and bits 0 and 7 clear: 0x12 alone means "nothing to report".
"""

from __future__ import annotations

from ticket_daemon.printers import PrinterState

# Keyed by n: 1 printer status, 2 offline cause, 3 error cause, 4 roll paper sensor.
EPSON_REPLIES: dict[PrinterState, dict[int, int]] = {
    PrinterState.ready: {1: 0x12, 2: 0x12, 3: 0x12, 4: 0x12},
    PrinterState.paper_near_end: {1: 0x12, 2: 0x12, 3: 0x12, 4: 0x1E},  # 4: bits 2-3 roll near end
    PrinterState.offline: {1: 0x1A, 2: 0x12, 3: 0x12, 4: 0x12},  # 1: bit 3 offline
    PrinterState.cover_open: {1: 0x1A, 2: 0x16, 3: 0x12, 4: 0x12},  # 1: bit 3 offline; 2: bit 2 cover open
    # 1: bit 3 offline; 2: bit 5 printing stopped by paper end; 4: bits 2-3 near end and bits 5-6 roll end
    PrinterState.paper_out: {1: 0x1A, 2: 0x32, 3: 0x12, 4: 0x7E},
    # 1: bit 3 offline; 2: bit 6 error occurred; 3: bit 5 unrecoverable error
    PrinterState.error: {1: 0x1A, 2: 0x52, 3: 0x32, 4: 0x12},
}


def epson_answer(state: PrinterState, requests: list[int]) -> bytes:
    """The bytes a printer in ``state`` sends back for the ``DLE EOT n`` requests it received, in order."""
    replies = EPSON_REPLIES[state]
    return bytes(replies[n] for n in requests)
