"""``ticket-daemon systemd-unit [--user] [--install] [--config FILE]``: the daemon as a systemd service on Linux.

The unit runs ``ticket-daemon serve`` (console mode: SIGTERM is the graceful stop, exit 0), restarts it on failure,
keeps spool and logs in a directory systemd creates and owns (``StateDirectory=``: ``/var/lib/ticket-daemon``, or
``~/.local/state/ticket-daemon`` for ``--user``), logs to the journal as well, and adds the hardening a print
server can live with: it needs the network and printer devices (serial, USB, ``/dev/usb/lp*``), nothing else.
"""

from __future__ import annotations

import argparse
import math
import os
import shlex
import sys
from pathlib import Path

from ..config import ConfigError, ServerSettings, load_settings
from .console import EXIT_CONFIG, EXIT_OK, EXIT_START_FAILED, UVICORN_GRACE_SECONDS

UNIT_NAME = "ticket-daemon.service"
SYSTEM_UNIT_DIR = Path("/etc/systemd/system")
# Groups owning serial ports (/dev/ttyS*, /dev/ttyUSB*) and parallel/USB printer devices (/dev/usb/lp*) on Debian.
PRINTER_GROUPS = ("dialout", "lp")
# Restart after a crash, but give up (and let the admin look) after 5 failures within 5 minutes.
RESTART_SECONDS = 2
START_LIMIT_BURST = 5
START_LIMIT_INTERVAL_SECONDS = 300
OPEN_FILES_LIMIT = 65536


def user_unit_dir() -> Path:
    config_home = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(config_home) / "systemd" / "user"


def stop_timeout_seconds(grace_seconds: float) -> int:
    """systemd's TimeoutStopSec: the daemon's own stop bound and a margin, after which it is killed."""
    return math.ceil(grace_seconds + UVICORN_GRACE_SECONDS) + 5


def exec_start(config_file: Path | None, *, python: str = sys.executable) -> str:
    """The ``serve`` command line with this interpreter (so a venv install works); data in the StateDirectory."""
    args = [python, "-m", "ticket_daemon", "serve", "--data-dir", "%S/ticket-daemon"]
    if config_file is not None:
        args += ["--config", str(config_file)]
    # %S is expanded by systemd (StateDirectory's parent); shlex quoting keeps paths with spaces intact.
    return " ".join(arg if arg.startswith("%S") else shlex.quote(arg) for arg in args)


def render_unit(*, user: bool, config_file: Path | None, grace_seconds: float, python: str = sys.executable) -> str:
    """The unit file text. A ``--user`` unit leaves out what only the system manager can apply (groups, namespaces)."""
    lines = [
        "[Unit]",
        "Description=ticket-daemon: prints tickets from web POS apps on ESC/POS receipt printers",
        "Wants=network-online.target",
        "After=network-online.target",
        f"StartLimitIntervalSec={START_LIMIT_INTERVAL_SECONDS}",
        f"StartLimitBurst={START_LIMIT_BURST}",
        "",
        "[Service]",
        "Type=exec",
        f"ExecStart={exec_start(config_file, python=python)}",
        # SIGTERM → graceful stop (the job in progress finishes, the rest stays in the spool), exit 0.
        "KillSignal=SIGTERM",
        f"TimeoutStopSec={stop_timeout_seconds(grace_seconds)}",
        "Restart=on-failure",
        f"RestartSec={RESTART_SECONDS}",
        "Environment=PYTHONUNBUFFERED=1",
        # Every connection is an open file: 1 024 (the usual default) is what a half-open flood exhausts.
        f"LimitNOFILE={OPEN_FILES_LIMIT}",
        "StateDirectory=ticket-daemon",
        "StateDirectoryMode=0750",
        "UMask=0027",
        "NoNewPrivileges=yes",
    ]
    if not user:
        lines += [
            # A throwaway system user, in the groups that may open serial and USB/parallel printers.
            "DynamicUser=yes",
            f"SupplementaryGroups={' '.join(PRINTER_GROUPS)}",
            "ProtectSystem=strict",
            "ProtectHome=read-only",
            "PrivateTmp=yes",
            "ProtectKernelTunables=yes",
            "ProtectKernelModules=yes",
            "ProtectControlGroups=yes",
            "RestrictSUIDSGID=yes",
            "LockPersonality=yes",
            "RestrictRealtime=yes",
            # AF_NETLINK: libusb watches for USB printers being plugged in.
            "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK",
        ]
    lines += ["", "[Install]", f"WantedBy={'default.target' if user else 'multi-user.target'}", ""]
    return "\n".join(lines)


def systemd_unit_main(args: argparse.Namespace) -> int:
    """Entry point of ``ticket-daemon systemd-unit``: print the unit, or write it with ``--install``."""
    user = bool(getattr(args, "user", False))
    config_arg: str | None = getattr(args, "config", None)
    config_file = Path(config_arg).expanduser().resolve() if config_arg else None
    grace = ServerSettings().shutdown_grace_seconds
    if config_file is not None:
        try:
            grace = load_settings(config_file).server.shutdown_grace_seconds
        except ConfigError as error:
            print(str(error), file=sys.stderr)
            return EXIT_CONFIG
    unit = render_unit(user=user, config_file=config_file, grace_seconds=grace)
    if not getattr(args, "install", False):
        sys.stdout.write(unit)
        return EXIT_OK
    target_dir = Path(getattr(args, "unit_dir", None) or (user_unit_dir() if user else SYSTEM_UNIT_DIR))
    target = target_dir / UNIT_NAME
    try:
        target_dir.mkdir(parents=True, exist_ok=True)
        target.write_text(unit, encoding="utf-8")
    except OSError as error:
        hint = " (run it as root, or use --user)" if isinstance(error, PermissionError) and not user else ""
        print(f"EXECUTION: cannot write {target}: {error.strerror or error}{hint}", file=sys.stderr)
        return EXIT_START_FAILED
    systemctl = "systemctl --user" if user else "systemctl"
    print(f"wrote {target}")
    print(f"next: {systemctl} daemon-reload && {systemctl} enable --now ticket-daemon")
    print(f"logs: journalctl {'--user ' if user else ''}-u ticket-daemon -f")
    return EXIT_OK
