"""The renderer's background load switches threads often while it runs, and always gives back the interval set
before, even when loads overlap (several daemons in one process) and end in any order."""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest

from ticket_daemon.render.loading import LOADING_SWITCH_INTERVAL_S, fast_thread_switches, load_renderer


@pytest.fixture
def interval_kept() -> Iterator[float]:
    before = sys.getswitchinterval()
    sys.setswitchinterval(0.003)  # not the default, so a restore to a constant would show
    try:
        yield 0.003
    finally:
        sys.setswitchinterval(before)


def test_overlapping_loads_restore_the_interval_set_before_the_first_when_the_last_ends(interval_kept: float) -> None:
    first, second = fast_thread_switches(), fast_thread_switches()
    first.__enter__()
    assert sys.getswitchinterval() == pytest.approx(LOADING_SWITCH_INTERVAL_S)
    second.__enter__()
    first.__exit__(None, None, None)  # the first ends while the second still runs
    assert sys.getswitchinterval() == pytest.approx(LOADING_SWITCH_INTERVAL_S)
    second.__exit__(None, None, None)
    assert sys.getswitchinterval() == pytest.approx(interval_kept)


def test_a_load_gives_back_the_interval_when_it_ends(interval_kept: float) -> None:
    load_renderer()
    assert "ticket_daemon.render.work" in sys.modules
    assert sys.getswitchinterval() == pytest.approx(interval_kept)
