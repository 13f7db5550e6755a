"""Printer errors: ``PRINTER: sentence`` messages a shop assistant can act on.

``retryable`` is what the spool decides from (style §5, after CUPS backend exit codes): a printer that is off, out of
paper or unreachable may work later, so the job waits; an unknown printer or a device the daemon may not write to
needs someone to change the configuration, so the job fails now.
"""

from __future__ import annotations

from ..document.errors import Category, TicketError


class PrinterError(TicketError):
    """Something between the daemon and the printer went wrong. Retryable unless said otherwise."""

    category = Category.PRINTER
    retryable = True


def cannot_connect(address: str, reason: str = "") -> PrinterError:
    """``Cannot connect to 10.0.0.5:9100`` (refused), or with the reason when it says more (timeout, no route)."""
    suffix = f" ({reason})" if reason else ""
    return PrinterError(f"Cannot connect to {address}{suffix}")


def connection_lost() -> PrinterError:
    return PrinterError("Connection lost while printing")


def send_timed_out(address: str) -> PrinterError:
    return PrinterError(f"Timed out sending to {address}")


def unknown_printer(name: str, known: list[str]) -> PrinterError:
    return PrinterError(f"Unknown printer '{name}' (configured: {', '.join(known)})", retryable=False)


def unsupported_uri(uri: str, why: str) -> PrinterError:
    return PrinterError(f"Unsupported printer URI '{uri}': {why}", retryable=False)


def cannot_write(path: str, reason: str, *, retryable: bool) -> PrinterError:
    return PrinterError(f"Cannot write to {path}: {reason}", retryable=retryable)
