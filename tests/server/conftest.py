"""Fixtures for the daemon tests; the helpers behind them are in ``harness.py``."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from server.harness import DaemonLauncher, PrinterFarm


@pytest.fixture
def isolated_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No TICKET_* setting from the environment running the tests."""
    for name in list(os.environ):
        if name.upper().startswith("TICKET_"):
            monkeypatch.delenv(name)


@pytest.fixture
def daemons(tmp_path: Path, isolated_env: None) -> Iterator[DaemonLauncher]:
    launcher = DaemonLauncher(tmp_path)
    yield launcher
    launcher.stop_all()


@pytest.fixture
def printer_farm(tmp_path: Path) -> Iterator[PrinterFarm]:
    farm = PrinterFarm(tmp_path / "printers")
    yield farm
    farm.stop()
