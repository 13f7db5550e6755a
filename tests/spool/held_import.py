"""A module a render worker preloads in tests: its import starts (writes ``$HELD_IMPORT_DIR/started``) and then
waits until the test writes ``$HELD_IMPORT_DIR/go`` — a worker whose imports take as long as the test decides.
Bounded: after 30 s it goes on by itself."""

from __future__ import annotations

import os
import time
from pathlib import Path

_DIRECTORY = Path(os.environ["HELD_IMPORT_DIR"])
(_DIRECTORY / "started").write_text("1")
_deadline = time.monotonic() + 30
while not (_DIRECTORY / "go").exists() and time.monotonic() < _deadline:
    time.sleep(0.01)
