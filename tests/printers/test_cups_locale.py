"""A till whose desktop runs in Spanish still gets the daemon's English sentences about CUPS failures: ``lp`` is run in
the C locale so its messages can be recognised."""

from __future__ import annotations

import asyncio
import os
import stat
from pathlib import Path

import pytest

from ticket_daemon.printers.cups import CupsTransport

WAIT_S = 10.0


def fake_lp(folder: Path, seen: Path) -> None:
    """An ``lp`` that notes the locale it was started in and accepts the job."""
    script = folder / "lp"
    script.write_text(
        f'#!/bin/sh\necho "$LC_ALL|$LANG" > "{seen}"\ncat > /dev/null\necho "request id is receipts-7 (0 file(s))"\n'
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)


def test_lp_runs_in_the_c_locale_whatever_the_users_locale(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seen = tmp_path / "locale.txt"
    fake_lp(tmp_path, seen)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ.get('PATH', '')}")
    monkeypatch.setenv("LANG", "es_ES.UTF-8")
    monkeypatch.setenv("LC_ALL", "es_ES.UTF-8")
    printer = CupsTransport("receipts")

    asyncio.run(asyncio.wait_for(printer.send(b"HOLA\n"), WAIT_S))

    assert seen.read_text().strip() == "C|C"
    assert printer.last_request_id == "receipts-7"
