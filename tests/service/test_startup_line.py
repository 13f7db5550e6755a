"""The start-up line names the origins pages may really connect from: the configured ones and those an operator
allowed from the dashboard (kept in ``allowed_origins.json``), with localhost always among them."""

from __future__ import annotations

import json
import signal
import sys
from pathlib import Path

import pytest

from service.helpers import ServeProcess, wait_until, write_config

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")


def started_line(data_dir: Path, server: dict[str, object]) -> str:
    config = write_config(data_dir.parent / "config.toml", {"port": 0, **server}, storage={"data_dir": str(data_dir)})
    daemon = ServeProcess(config)
    try:
        log_file = data_dir / "logs" / "ticket-daemon.log"
        wait_until(lambda: "allowed origins: " in log_file.read_text(encoding="utf-8"), "the start-up line")
        daemon.signal(signal.SIGTERM)
        assert daemon.wait() == 0
    finally:
        daemon.kill()
    return next(line for line in log_file.read_text(encoding="utf-8").splitlines() if "allowed origins: " in line)


def test_startup_line_names_the_origins_an_operator_allowed_as_well_as_the_configured_ones(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    (data_dir / "allowed_origins.json").write_text(json.dumps({"allowed": ["http://pos.lan:5173"]}), encoding="utf-8")
    line = started_line(data_dir, {"allowed_origins": ["https://shop.example"]})
    assert line.endswith("allowed origins: localhost, http://pos.lan:5173, https://shop.example"), line


def test_startup_line_says_localhost_only_when_nothing_else_is_allowed(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    line = started_line(data_dir, {})
    assert line.endswith("allowed origins: localhost only"), line
