"""One status check of a printer by URI, bounded in time, for reports that must never fail on one printer."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from ..document.errors import TicketError
from .status import PrinterState
from .uri import PrinterURI, open_transport

log = logging.getLogger(__name__)

# Any paper width will do: a status check sends no job.
_STATUS_DOT_WIDTH = 576


async def probe_state(uri: PrinterURI | str, *, data_dir: Path, timeout: float) -> PrinterState:
    """The printer's state, checked within ``timeout`` seconds: ``unknown`` for links that cannot read back,
    ``offline`` for one that cannot be reached. Never raises."""
    try:
        transport = open_transport(uri, dot_width=_STATUS_DOT_WIDTH, data_dir=data_dir)
    except TicketError:
        return PrinterState.error
    if not transport.can_read_status:
        return PrinterState.unknown
    try:
        async with asyncio.timeout(timeout):
            await transport.open()
            return await transport.status()
    except (TicketError, TimeoutError, OSError):
        return PrinterState.offline
    except Exception:  # a transport bug must not take down the report of every other printer
        shown = uri if isinstance(uri, str) else f"{uri.scheme}://{uri.location}"
        log.exception("status check of printer %s failed", shown)
        return PrinterState.unknown
    finally:
        await transport.close()
