"""Printers that say what they are: ``GS I`` asks an ESC/POS printer its model name and manufacturer.

``GS I 67`` (``1D 49 43``) asks the model name, ``GS I 66`` (``1D 49 42``) the manufacturer; the printer answers
each with ``5F``, the text, ``00``. The answer picks the printer's escpos-printer-db profile
(:func:`~ticket_daemon.escpos.printerdb.model_from_identity`). Identification is asked once, when the daemon
starts, of a tcp, serial or USB printer configured with no profile; a printer that does not answer within the timeout
keeps the profile of a printer of no known model.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..escpos.commands import GS
from .errors import PrinterError
from .threads import run_in_daemon_thread
from .uri import PrinterURI, parse_uri

if TYPE_CHECKING:
    from .registry import PrinterRegistry
    from .usb import UsbTransport

log = logging.getLogger(__name__)

ASK_MODEL = bytes((GS, 0x49, 67))  # GS I 67 — printer model name
ASK_MANUFACTURER = bytes((GS, 0x49, 66))  # GS I 66 — manufacturer
REPLY_START, REPLY_END = 0x5F, 0x00
# A model name is a few dozen characters; anything longer is not an answer to GS I.
MAX_REPLY = 80
DEFAULT_TIMEOUT = 3.0  # seconds per printer: a printer on the shop's network answers in milliseconds
IDENTIFIED_SCHEMES = frozenset({"tcp", "serial", "usb"})
SERIAL_MARGIN = 1.0  # seconds beyond the timeout for opening and closing a serial port


@dataclass(frozen=True, slots=True)
class PrinterIdentity:
    """What a printer said it is."""

    model: str
    manufacturer: str = ""

    def as_dict(self) -> dict[str, str]:
        return {"model": self.model, "manufacturer": self.manufacturer}


def reply_text(data: bytes) -> str | None:
    """The text of a ``GS I`` reply (``5F … 00``) in ``data``, or None while it is not complete. Bytes before the
    ``5F`` (automatic status that arrived first) are skipped."""
    start = data.find(bytes((REPLY_START,)))
    if start < 0:
        return None
    end = data.find(bytes((REPLY_END,)), start + 1)
    if end < 0:
        return None
    return data[start + 1 : end].decode("ascii", errors="replace").strip()


async def identify_printer(uri: str, timeout: float = DEFAULT_TIMEOUT) -> PrinterIdentity | None:
    """Ask the printer at ``uri`` what it is, within ``timeout`` seconds; None when its transport cannot ask or it
    does not say. The link is closed again before this returns, so the printer's next conversation is its own."""
    parsed = parse_uri(uri)
    try:
        if parsed.scheme == "tcp":
            async with asyncio.timeout(timeout):
                return await _identify_tcp(parsed.host, parsed.port)
        if parsed.scheme == "serial":
            return await _identify_serial(parsed, timeout)
        if parsed.scheme == "usb":
            from .usb import UsbTarget, UsbTransport  # the USB code loads only for a USB printer

            target = UsbTarget.parse(parsed.location, dict(parsed.options))
            return await identify_over_usb(UsbTransport(target), timeout)
    except (TimeoutError, OSError, PrinterError) as error:
        log.info("%s did not say what model it is (%s)", uri, type(error).__name__)
    return None


async def _identify_tcp(host: str, port: int) -> PrinterIdentity | None:
    reader, writer = await asyncio.open_connection(host, port)
    try:

        async def ask(query: bytes) -> str | None:
            writer.write(query)
            await writer.drain()
            received = b""
            while (text := reply_text(received)) is None and len(received) < MAX_REPLY:
                chunk = await reader.read(MAX_REPLY)
                if not chunk:
                    return None
                received += chunk
            return text

        return await _ask_both(ask)
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()


async def _identify_serial(uri: PrinterURI, timeout: float) -> PrinterIdentity | None:
    """GS I over a serial line, in a thread that keeps to ``timeout`` itself and closes the port before it ends:
    a line left open would take the replies meant for the printer's worker."""
    from .serial_port import SerialSettings, open_pyserial  # the serial code loads only for a serial printer

    settings = SerialSettings.from_options(dict(uri.options))

    def exchange() -> PrinterIdentity | None:
        deadline = time.monotonic() + timeout
        port: Any = open_pyserial(uri.location, timeout=timeout, write_timeout=timeout, **settings.pyserial_arguments())
        try:

            def ask(query: bytes) -> str | None:
                port.reset_input_buffer()
                port.write(query)
                received = b""
                while (text := reply_text(received)) is None and len(received) < MAX_REPLY:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        return None
                    port.timeout = left
                    chunk = port.read(1)  # the first byte to come, then whatever arrived with it
                    if not chunk:  # nothing within the time left
                        return None
                    received += chunk + port.read(min(port.in_waiting, MAX_REPLY))
                return text

            model = ask(ASK_MODEL)
            return PrinterIdentity(model, ask(ASK_MANUFACTURER) or "") if model else None
        finally:
            with contextlib.suppress(OSError):
                port.close()

    # The thread ends by itself within the timeout; the margin is for opening and closing the port.
    async with asyncio.timeout(timeout + SERIAL_MARGIN):
        return await run_in_daemon_thread(exchange, abandoned=lambda _: None)


async def identify_over_usb(transport: UsbTransport, timeout: float) -> PrinterIdentity | None:
    """GS I over USB: bulk OUT, the answer on bulk IN; the device is released again before this returns."""
    await transport.open()
    try:

        async def ask(query: bytes) -> str | None:
            return reply_text(await transport.ask(query, lambda reply: reply_text(reply) is not None, timeout))

        return await _ask_both(ask)
    finally:
        await transport.close()


async def _ask_both(ask: Callable[[bytes], Any]) -> PrinterIdentity | None:
    model = await ask(ASK_MODEL)
    if not model:
        return None
    manufacturer = await ask(ASK_MANUFACTURER)
    return PrinterIdentity(model, manufacturer or "")


async def identify_printers(registry: PrinterRegistry, timeout: float = DEFAULT_TIMEOUT) -> None:
    """Ask every tcp and serial printer of ``registry`` that has no configured profile what it is, all at once, and
    remember each answer in the registry. A printer that does not answer is left as it is."""
    wanted = [
        printer
        for printer in registry.printers
        if printer.wants_identification and parse_uri(printer.uri).scheme in IDENTIFIED_SCHEMES
    ]
    identities = await asyncio.gather(*(identify_printer(printer.uri, timeout) for printer in wanted))
    for printer, identity in zip(wanted, identities, strict=True):
        if identity is None:
            continue
        known = registry.identified(printer.name, identity)
        profile = known.printer_model
        log.info(
            "printer '%s' says it is %s%s: %s",
            printer.name,
            f"{identity.manufacturer} " if identity.manufacturer else "",
            identity.model,
            f"profile {profile.key}" if profile is not None else "no known profile (printed with the default pages)",
        )
