"""Fixtures for the life-cycle tests: no TICKET_* environment leaking in, and the root logger left as found."""

from __future__ import annotations

import logging
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
def restore_logging() -> Iterator[None]:
    """The service configures the root logger (file + console handlers); undo it so other tests see no change."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    # configure_logging also turns off the caller/thread/process look-ups of every record (logs.py).
    lookups = (logging._srcfile, logging.logThreads, logging.logProcesses, logging.logMultiprocessing)
    yield
    logging._srcfile, logging.logThreads, logging.logProcesses, logging.logMultiprocessing = lookups
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
            handler.close()
    root.setLevel(level)


@pytest.fixture
def printer_farm(tmp_path: Path) -> Iterator[PrinterFarm]:
    farm = PrinterFarm(tmp_path / "printers")
    yield farm
    farm.stop()
