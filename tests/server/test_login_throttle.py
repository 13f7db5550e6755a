"""Login lock-out keys: an address is not a person. Every address of an IPv6 /64 shares one budget, all of
loopback is one client, and a ceiling over all addresses locks the account. Driven with a clock we move."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from ticket_daemon.server.sessions import LOCKOUT_SECONDS, MAX_FAILED_LOGINS, LoginThrottle, throttle_keys


@dataclass
class FakeClock:
    now: float = 5000.0

    def __call__(self) -> float:
        return self.now


def fail(throttle: LoginThrottle, address: str) -> bool:
    """One wrong password from ``address`` the way the dashboard does it; True when it was even checked."""
    if throttle.locked_for(address) > 0:
        return False
    throttle.attempt(address)
    throttle.failure(address)
    return True


def test_each_address_of_an_ipv6_slash_64_draws_on_one_budget() -> None:
    clock = FakeClock()
    throttle = LoginThrottle(clock=clock)
    checked = [fail(throttle, f"2001:db8:1:2::{n:x}") for n in range(1, 21)]
    assert checked.count(True) == MAX_FAILED_LOGINS  # not 4 more guesses per fresh address
    assert throttle.locked_for("2001:db8:1:2:ffff::1") == pytest.approx(LOCKOUT_SECONDS)
    assert throttle.locked_for("2001:db8:1:3::1") == 0  # the next /64 is another site
    clock.now += LOCKOUT_SECONDS
    assert throttle.locked_for("2001:db8:1:2::99") == 0


def test_loopback_addresses_are_one_client() -> None:
    throttle = LoginThrottle(clock=FakeClock())
    addresses = [f"127.0.0.{n}" for n in range(1, 30)] + ["::1", "::ffff:127.0.0.9"]
    checked = [fail(throttle, address) for address in addresses]
    assert checked.count(True) == MAX_FAILED_LOGINS
    assert all(throttle.locked_for(address) > 0 for address in addresses)
    assert throttle_keys("127.0.0.5") == throttle_keys("::1") == ["loopback"]


def test_ipv4_addresses_keep_their_own_budget_up_to_the_global_ceiling() -> None:
    clock = FakeClock()
    throttle = LoginThrottle(clock=clock, max_global_failures=12)
    for address in ("10.0.0.1", "10.0.0.2"):
        assert [fail(throttle, address) for _ in range(6)].count(True) == MAX_FAILED_LOGINS
    assert throttle.locked_for("10.0.0.3") == 0
    assert fail(throttle, "10.0.0.3") and fail(throttle, "10.0.0.4")  # the 12th failure from anywhere
    # The network is slowed to the ceiling's rate (12 per lock-out time); this machine is not.
    assert throttle.locked_for("192.0.2.77") == pytest.approx(LOCKOUT_SECONDS / 12)
    assert throttle.locked_for("::1") == throttle.locked_for("127.0.0.1") == 0
    clock.now += LOCKOUT_SECONDS
    assert throttle.locked_for("192.0.2.77") == 0


def test_failures_spread_past_the_window_do_not_reach_the_global_ceiling() -> None:
    clock = FakeClock()
    throttle = LoginThrottle(clock=clock, max_global_failures=10)
    for n in range(30):
        assert fail(throttle, f"10.1.{n}.1")
        clock.now += LOCKOUT_SECONDS / 5 + 1  # at most 5 failures inside any window
    assert throttle.locked_for("10.9.9.9") == 0


def test_a_right_password_clears_the_address_and_its_network() -> None:
    throttle = LoginThrottle(clock=FakeClock())
    for _ in range(MAX_FAILED_LOGINS - 1):
        fail(throttle, "2001:db8::1")
    throttle.attempt("2001:db8::2")
    throttle.success("2001:db8::2")
    # The network's count is gone (the owner logged in from it); another address of it may try again at once.
    assert fail(throttle, "2001:db8::3")
    assert throttle.locked_for("2001:db8::3") == 0
