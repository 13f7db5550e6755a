"""Shared fixtures. ``../shared`` (reference specs and real documents) is read when present; CI always has it."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
EXAMPLES = REPO / "examples"


def shared_examples(group: str) -> list[Path]:
    """Documents under ../shared/examples/<group>; empty when ../shared is absent (then the tests skip)."""
    folder = SHARED / "examples" / group
    return sorted(folder.glob("*.json")) if folder.is_dir() else []


def require_shared() -> None:
    if not SHARED.is_dir():
        if os.environ.get("CI"):
            pytest.fail("../shared must exist in CI")
        pytest.skip("../shared reference material is not present")


@pytest.fixture
def shared_dir() -> Path:
    require_shared()
    return SHARED


def command_data(document: Path, kind: str) -> list[dict[str, Any]]:
    """The ``data`` of every command of type ``kind`` in a document file, found anywhere in its JSON (so it also
    works on legacy or malformed documents the parser would refuse)."""
    found: list[dict[str, Any]] = []
    stack: list[Any] = [json.loads(document.read_text(encoding="utf-8"))]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if node.get("type") == kind and isinstance(node.get("data"), dict):
                found.append(node["data"])
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return found


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """Undo ``configure_logging``: its handlers, the root level and the record look-ups it turns off (logs.py)."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    lookups = (logging._srcfile, logging.logThreads, logging.logProcesses, logging.logMultiprocessing)
    yield
    logging._srcfile, logging.logThreads, logging.logProcesses, logging.logMultiprocessing = lookups
    for handler in list(root.handlers):
        if getattr(handler, "_ticket_daemon_handler", False):
            root.removeHandler(handler)
            handler.close()
    root.handlers[:] = handlers
    root.setLevel(level)
