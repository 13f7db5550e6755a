"""Shared fixtures. ``../shared`` (reference specs and real documents) is read when present; CI always has it."""

from __future__ import annotations

import os
from pathlib import Path

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
