"""Fixtures for the life-cycle tests: no TICKET_* environment leaking in, and the root logger left as found."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from server.harness import PrinterFarm


@pytest.fixture(autouse=True)
def isolated_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.upper().startswith("TICKET_"):
            monkeypatch.delenv(name)


@pytest.fixture(autouse=True)
def restore_logging(restore_logging: None) -> Iterator[None]:
    """The service configures the root logger (file + console handlers): undone after every test here."""
    yield


@pytest.fixture
def printer_farm(tmp_path: Path) -> Iterator[PrinterFarm]:
    farm = PrinterFarm(tmp_path / "printers")
    yield farm
    farm.stop()
