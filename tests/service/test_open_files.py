"""The open-file limit: every connection is a file, so the daemon raises its soft limit to the hard one at start
and the systemd unit asks for 65 536 (the usual 1 024 is what a half-open flood exhausts)."""

from __future__ import annotations

import sys

import pytest

from ticket_daemon.service.httplimits import raise_open_file_limit
from ticket_daemon.service.systemd import render_unit


def test_systemd_unit_raises_the_open_file_limit() -> None:
    for user in (False, True):
        unit = render_unit(user=user, config_file=None, grace_seconds=10.0, python="/usr/bin/python3")
        assert "LimitNOFILE=65536" in unit.splitlines()


@pytest.mark.skipif(sys.platform == "win32", reason="no RLIMIT_NOFILE on Windows")
def test_the_soft_open_file_limit_is_raised_to_the_hard_one() -> None:
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    lowered = min(256, hard)
    resource.setrlimit(resource.RLIMIT_NOFILE, (lowered, hard))
    try:
        assert raise_open_file_limit() == (lowered, hard if hard != resource.RLIM_INFINITY else 1 << 20)
        assert resource.getrlimit(resource.RLIMIT_NOFILE)[0] == (hard if hard != resource.RLIM_INFINITY else 1 << 20)
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
