"""Helpers for the life-cycle tests (import as ``from service.helpers import …``)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

WAIT_S = 15.0  # upper bound for anything a test waits for


def write_config(path: Path, server: dict[str, Any], printers: Sequence[dict[str, Any]] = (), **sections: Any) -> Path:
    """A TOML configuration file (values written as JSON, which TOML reads the same for these types)."""
    lines = ["[server]", *(f"{key} = {json.dumps(value)}" for key, value in server.items())]
    for name, values in sections.items():
        lines += [f"[{name}]", *(f"{key} = {json.dumps(value)}" for key, value in values.items())]
    for printer in printers:
        lines += ["[[printers]]", *(f"{key} = {json.dumps(value)}" for key, value in printer.items())]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def get_json(url: str, timeout: float = WAIT_S) -> dict[str, Any]:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(url, timeout=timeout) as response:
        parsed = json.loads(response.read())
    assert isinstance(parsed, dict)
    return parsed


def wait_until(condition: Callable[[], bool], what: str, timeout: float = WAIT_S) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


class ServeProcess:
    """``python -m ticket_daemon serve --config FILE`` as a child process on 127.0.0.1 (port 0)."""

    def __init__(self, config: Path) -> None:
        env = {k: v for k, v in os.environ.items() if not k.upper().startswith("TICKET_")}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "ticket_daemon", "serve", "--config", str(config)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        stdout, stderr = self.process.stdout, self.process.stderr
        assert stdout is not None and stderr is not None
        ready: list[str] = []
        reader = threading.Thread(target=lambda: ready.append(stdout.readline()))
        reader.start()
        reader.join(timeout=WAIT_S * 2)
        if not ready or not ready[0].startswith("ticket-daemon ready"):
            self.kill()
            raise AssertionError(f"the daemon did not start: {ready} {stderr.read()}")
        match = re.search(r"http://127\.0\.0\.1:(\d+)/", ready[0])
        assert match, ready
        self.port = int(match.group(1))
        self.ws_url = f"ws://127.0.0.1:{self.port}/ws"
        self.http_url = f"http://127.0.0.1:{self.port}"

    def signal(self, sig: int) -> None:
        self.process.send_signal(sig)

    def wait(self, timeout: float = WAIT_S * 2) -> int:
        return self.process.wait(timeout=timeout)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=WAIT_S)
        for stream in (self.process.stdout, self.process.stderr):
            if stream is not None:
                stream.close()
