"""The ``ticket-daemon`` command. Parses arguments and hands each sub-command to the module that owns it.

Each sub-command's module is imported lazily, inside a small function, so ``ticket-daemon render`` does not pay
for the web server's imports.
Every handler returns the process exit status; errors a user can fix are one ``CATEGORY: sentence`` line on
stderr with status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
from collections.abc import Callable, Sequence
from typing import NamedTuple

from .. import __version__
from . import virtual_printer

# Each command's module is imported only when that command runs, so ``ticket-daemon render`` does not pay for the web
# server's imports.


def _render(args: argparse.Namespace) -> int:
    from .documents import render_main

    return render_main(args)


def _preview(args: argparse.Namespace) -> int:
    from .documents import preview_main

    return preview_main(args)


def _serve(args: argparse.Namespace) -> int:
    # Start-up creates long-lived objects (modules, classes, validators) and little garbage: a collection while they
    # pile up only scans them again. The server turns the collector back on once it serves (service/console.py).
    gc.disable()
    # The daemon uses no pydantic plugins, and looking for them reads every installed package's metadata before the
    # first model is built. A deployment that wants one sets PYDANTIC_DISABLE_PLUGINS itself (e.g. to "").
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    try:
        from ..service.console import serve_main

        return serve_main(args)
    finally:
        gc.enable()


def _virtual_printer(args: argparse.Namespace) -> int:
    return virtual_printer.run(args)


def _hash_password(args: argparse.Namespace) -> int:
    from .hash_password import hash_password_main

    return hash_password_main(args)


def _status(args: argparse.Namespace) -> int:
    from ..service.status import status_main

    return status_main(args)


def _config(args: argparse.Namespace) -> int:
    from ..service.configcheck import config_main

    return config_main(args)


def _service(args: argparse.Namespace) -> int:
    from ..service.windows import service_main

    return service_main(args)


def _systemd_unit(args: argparse.Namespace) -> int:
    from ..service.systemd import systemd_unit_main

    return systemd_unit_main(args)


def _printers(args: argparse.Namespace) -> int:
    from .printers import printers_main

    return printers_main(args)


def _tls(args: argparse.Namespace) -> int:
    from ..service.tls import tls_main

    return tls_main(args)


def _print(args: argparse.Namespace) -> int:
    from ..client.command import print_main

    return print_main(args)


def _render_arguments(render: argparse.ArgumentParser) -> None:
    render.add_argument("document", help="document JSON file (a bare document or a whole ticket message)")
    render.add_argument("-o", "--output", required=True, help="where to write the ESC/POS bytes ('-' = stdout)")
    render.add_argument("--strict", action="store_true", help="refuse what lenient reading prints with a default")


def _preview_arguments(preview: argparse.ArgumentParser) -> None:
    preview.add_argument("document", help="document JSON file, or ESC/POS bytes with --raw")
    preview.add_argument("--raw", action="store_true", help="the input is ESC/POS bytes, not a document")
    preview.add_argument("--strict", action="store_true", help="refuse what lenient reading prints with a default")
    preview.add_argument("-o", "--output", help="PNG file to write")
    preview.add_argument("--text", action="store_true", help="print the plain-text transcript to stdout")
    preview.add_argument("--width", type=int, default=None, help="paper width in dots for --raw (default 576)")


def _serve_arguments(serve: argparse.ArgumentParser) -> None:
    serve.add_argument("--config", help="TOML configuration file")
    serve.add_argument("--host", help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to bind (default 8766)")
    serve.add_argument("--data-dir", help="where the spool, logs and virtual printer output live")


def _hash_password_arguments(hash_password: argparse.ArgumentParser) -> None:
    hash_password.add_argument("--password-stdin", action="store_true", help="read the password from stdin")


def _status_arguments(status: argparse.ArgumentParser) -> None:
    status.add_argument("--url", help="the daemon's address (default: from --config, or http://127.0.0.1:8766/)")
    status.add_argument("--config", help="TOML configuration file the daemon runs with")
    status.add_argument("--port", type=int, help="the daemon's port")
    status.add_argument("--timeout", type=float, default=None, help="seconds to wait for an answer (default 5)")


def _config_arguments(config: argparse.ArgumentParser) -> None:
    config_actions = config.add_subparsers(dest="config_action", metavar="ACTION", required=True)
    check = config_actions.add_parser("check", help="validate FILE and print the effective settings, secrets masked")
    check.add_argument("file", help="TOML configuration file")


def _service_arguments(service: argparse.ArgumentParser) -> None:
    service.add_argument("action", choices=["install", "remove", "start", "stop", "status", "run"])
    service.add_argument("--name", default="TicketServicio", help="service name (TicketServicio, TicketServicioTest)")
    service.add_argument("--config", help="TOML configuration file the service runs with")


def _systemd_unit_arguments(unit: argparse.ArgumentParser) -> None:
    unit.add_argument("--user", action="store_true", help="a user unit (systemctl --user) instead of a system one")
    unit.add_argument("--install", action="store_true", help="write the unit file instead of printing it")
    unit.add_argument("--config", help="TOML configuration file the unit runs the daemon with")
    unit.add_argument("--unit-dir", help=argparse.SUPPRESS)  # tests: where --install writes


def _printers_arguments(printers: argparse.ArgumentParser) -> None:
    printers.add_argument(
        "action", nargs="?", choices=["profiles"], help="profiles: list the printer models a printer can be set to"
    )
    printers.add_argument("--config", help="TOML configuration file")
    printers.add_argument("--json", action="store_true", help="print the printers message (docs/protocol.md) as JSON")


def _tls_arguments(tls: argparse.ArgumentParser) -> None:
    tls.add_argument("action", choices=["init"])
    tls.add_argument("--names", nargs="*", default=[], help="more host names or addresses the certificate names")
    tls.add_argument("--out", help="where to write the files (default: <data dir>/tls)")
    tls.add_argument("--config", help="TOML configuration file (for its data directory)")
    tls.add_argument("--data-dir", help="the daemon's data directory")
    tls.add_argument("--keep-ca-key", action="store_true", help="keep the CA's private key on this machine")
    tls.add_argument("--ca-key", help="the CA's private key handed out when it was made (to renew the certificate)")
    tls.add_argument("--new-ca", action="store_true", help="make a new CA (every till must trust it again)")


def _print_arguments(send: argparse.ArgumentParser) -> None:
    send.add_argument("document", help="document JSON file (a bare document or a whole ticket message)")
    send.add_argument("--url", help="the daemon's WebSocket URL (default ws://127.0.0.1:8766/ws)")
    send.add_argument("--printer", help="name of a configured printer (default: chosen by the daemon)")
    send.add_argument("--id", help="job id (default: the message's, else a new one); a resend is never reprinted")
    send.add_argument("--token", help="auth token, when the daemon requires one")
    send.add_argument(
        "--timeout",
        type=float,
        default=60.0,
        help="seconds to wait for the result (default 60); a daemon not reached within 5 s is reported at once",
    )


class Command(NamedTuple):
    """A sub-command: its one-line help, what adds its options, and what runs it."""

    help: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


COMMANDS: dict[str, Command] = {
    "render": Command("render a v1 document to ESC/POS bytes", _render_arguments, _render),
    "preview": Command("draw what a document (or raw ESC/POS) would print, as PNG", _preview_arguments, _preview),
    "serve": Command("run the daemon in the foreground", _serve_arguments, _serve),
    "virtual-printer": Command(
        "a network ESC/POS printer simulator (raw TCP, DLE EOT)", virtual_printer.add_arguments, _virtual_printer
    ),
    "hash-password": Command(
        "hash a dashboard password for the configuration", _hash_password_arguments, _hash_password
    ),
    "status": Command("ask the running daemon how it is (GET /health)", _status_arguments, _status),
    "config": Command("check a configuration file", _config_arguments, _config),
    "service": Command("install and control the Windows service (needs pywin32)", _service_arguments, _service),
    "systemd-unit": Command(
        "print (or --install) a systemd unit running the daemon", _systemd_unit_arguments, _systemd_unit
    ),
    "printers": Command(
        "list configured printers (live state) and printers found on this PC", _printers_arguments, _printers
    ),
    "tls": Command("make a local CA and a server certificate for wss:// and https://", _tls_arguments, _tls),
    "print": Command("send a document to a running daemon and show its result", _print_arguments, _print),
}


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The command line's parser. When ``argv`` names a sub-command first, only that sub-command is built (its
    help and errors read the same): argparse spends about 10 ms building all of them, start-up time ``serve``
    does not need."""
    parser = argparse.ArgumentParser(
        prog="ticket-daemon", description="Print service for web POS apps and ESC/POS thermal printers."
    )
    parser.add_argument("--version", action="version", version=f"ticket-daemon {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    named = argv[0] if argv else None
    for name, command in COMMANDS.items():
        if named in COMMANDS and name != named:
            continue
        command.add_arguments(sub.add_parser(name, help=command.help))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        return COMMANDS[args.command].run(args)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
