"""``ticket-daemon virtual-printer``: run the network printer simulator
(:class:`~ticket_daemon.printers.virtual_server.VirtualPrinterServer`) until SIGTERM or SIGINT."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..printers.virtual_server import VirtualPrinterServer

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The command's options (what the simulated printer is and how it behaves)."""
    parser.add_argument("--listen", default="127.0.0.1:9100", help="HOST:PORT to listen on")
    parser.add_argument("--out", required=True, help="directory where each job's bytes, PNG and text are saved")
    parser.add_argument("--bytes-per-second", type=int, default=0, help="print speed limit (0 = unlimited)")
    parser.add_argument(
        "--status",
        choices=["ok", "paper_out", "cover_open", "offline"],
        default="ok",
        help="the printer state it reports",
    )
    parser.add_argument("--width", type=int, default=None, help="paper width in dots (default: the model's, else 576)")
    parser.add_argument("--model", help="act as this escpos-printer-db model: answer GS I, use its ESC t table")
    parser.add_argument("--fail-after-bytes", type=int, default=0, help="drop the link after N bytes (0: never)")


def parse_listen(listen: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[::1]:9100`` for IPv6) → (host, port); port 0 asks for any free port."""
    host, colon, port_text = listen.strip().rpartition(":")
    host = host.removeprefix("[").removesuffix("]")
    if not colon or not host or not port_text.isdigit() or int(port_text) > 65535:
        raise ValueError(f"--listen must be HOST:PORT (port 0-65535), not '{listen}'")
    return host, int(port_text)


def run(args: argparse.Namespace) -> int:
    """``ticket-daemon virtual-printer``: serve until SIGTERM or SIGINT. Prints ``virtual-printer listening on
    HOST:PORT`` (the real port) once it accepts connections."""
    from ..document.errors import Category, TicketError  # lazily: the parser is built without the printers package
    from ..escpos.printerdb import find_model
    from ..printers.virtual_server import STATUS_FILE_ENV, VirtualPrinterServer

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s", stream=sys.stderr)
    status_file = os.environ.get(STATUS_FILE_ENV)
    try:
        host, port = parse_listen(args.listen)
        model_name = getattr(args, "model", None)
        model = find_model(model_name) if model_name else None
        if model_name and model is None:
            raise ValueError(
                f"--model '{model_name}' is not a printer model of escpos-printer-db "
                "(`ticket-daemon printers profiles` lists them)"
            )
        width = args.width if args.width is not None else (model.dot_width if model and model.dot_width else 576)
        server = VirtualPrinterServer(
            host,
            port,
            Path(args.out),
            bytes_per_second=args.bytes_per_second,
            status=args.status,
            dot_width=width,
            status_file=Path(status_file) if status_file else None,
            fail_after_bytes=getattr(args, "fail_after_bytes", 0),
            model=model,
        )
    except ValueError as error:
        print(TicketError(str(error), category=Category.VALIDATION), file=sys.stderr)
        return 2
    try:
        return asyncio.run(_serve(server))
    except TicketError as error:
        print(error, file=sys.stderr)
        return 2


async def _serve(server: VirtualPrinterServer) -> int:
    from ..printers.errors import PrinterError, cannot_write

    try:
        await server.start()
    except PermissionError:
        raise cannot_write(str(server.out_dir), "permission denied", retryable=False) from None
    except OSError as error:
        reason = (error.strerror or str(error)).lower()
        raise PrinterError(f"Cannot listen on {server.address}: {reason}", retryable=False) from None
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError):  # Windows: Ctrl+C arrives as KeyboardInterrupt instead
            loop.add_signal_handler(signum, stopping.set)
    print(f"virtual-printer listening on {server.address}", flush=True)
    try:
        await stopping.wait()
    finally:
        await server.stop()
    log.info("virtual-printer stopped")
    return 0
