"""ui.throttle: failed logins slowed down per account and per client, then locked out."""

from __future__ import annotations

import logging

import pytest

from ui.throttle import LoginThrottle, ThrottlePolicy, client_id, constant_time_equal


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def _throttle(clock: Clock) -> LoginThrottle:
    return LoginThrottle(ThrottlePolicy(free_failures=3, base_delay_s=1, max_delay_s=60,
                                        lockout_failures=10, lockout_s=900, window_s=900),
                         clock=clock)


def test_delays_grow_exponentially_after_the_free_failures():
    p = ThrottlePolicy(free_failures=3, base_delay_s=1, max_delay_s=60)
    assert [p.delay_after(n) for n in range(1, 11)] == [0, 0, 0, 1, 2, 4, 8, 16, 32, 60]


def test_wrong_passwords_are_delayed_then_locked_out(clock):
    th = _throttle(clock)
    calls = []

    def wrong() -> bool:
        calls.append(1)
        return False
    waits = []
    for _ in range(10):
        a = th.attempt("staff", "10.0.0.1", wrong)
        assert a.checked and not a.ok
        waits.append(a.retry_after_s)
        clock.now += a.retry_after_s  # wait exactly as long as asked
    assert waits == [0, 0, 0, 1, 2, 4, 8, 16, 32, 900]
    assert len(calls) == 10
    clock.now -= 1  # one second before the lock-out ends
    refused = th.attempt("staff", "10.0.0.1", lambda: True)  # even the right password
    assert not refused.ok and refused.locked and not refused.checked
    assert refused.retry_after_s == pytest.approx(1.0)
    clock.now += 1
    assert th.attempt("staff", "10.0.0.1", lambda: True).ok


def test_an_attempt_while_throttled_is_refused_without_checking_the_password(clock):
    th = _throttle(clock)
    for _ in range(4):
        th.attempt("staff", "c", lambda: False)
    checked = []
    a = th.attempt("staff", "c", lambda: checked.append(1) or True)
    assert not a.ok and not a.checked and a.retry_after_s == pytest.approx(1.0)
    assert checked == []  # no scrypt work for a refused attempt
    clock.now += 1.0
    assert th.attempt("staff", "c", lambda: True).ok


def test_the_account_is_throttled_from_any_client_and_the_client_for_any_account(clock):
    th = _throttle(clock)
    for i in range(4):
        th.attempt("staff", f"10.0.0.{i}", lambda: False)  # one account, many clients
    assert th.retry_after("staff", "10.0.0.99")[0] == pytest.approx(1.0)
    assert th.retry_after("annan", "10.0.0.99")[0] == 0.0
    for i in range(4):
        th.attempt(f"konto{i}", "192.168.1.5", lambda: False)  # one client, many accounts
    assert th.retry_after("nytt-konto", "192.168.1.5")[0] == pytest.approx(1.0)


def test_success_clears_and_old_failures_are_forgotten(clock):
    th = _throttle(clock)
    for _ in range(5):
        th.attempt("staff", "c", lambda: False)
        clock.now += 60
    assert th.attempt("staff", "c", lambda: True).ok
    assert th.retry_after("staff", "c") == (0.0, False)
    for _ in range(3):
        th.attempt("staff", "c", lambda: False)
    clock.now += 901
    th.attempt("staff", "c", lambda: False)  # counts as the first again
    assert th.retry_after("staff", "c")[0] == 0.0


def test_account_names_compare_case_insensitively(clock):
    th = _throttle(clock)
    for _ in range(4):
        th.attempt("Staff ", "a", lambda: False)
    assert th.retry_after("staff", "b")[0] > 0


def test_failures_are_logged_without_names_or_addresses(clock, caplog):
    th = _throttle(clock)
    with caplog.at_level(logging.WARNING, logger="ui.throttle"):
        for _ in range(10):
            th.attempt("anna.andersson@stromstad.se", "203.0.113.7", lambda: False)
            clock.now += 100
    text = caplog.text
    assert "failed login: account#" in text and "locked out: account#" in text
    assert "anna" not in text and "203.0.113.7" not in text


def test_memory_is_bounded(clock):
    th = LoginThrottle(ThrottlePolicy(max_keys=100), clock=clock)
    for i in range(1000):
        th.failure(f"konto{i}", "c")
    assert len(th._records) <= 100


def test_client_id_and_constant_time_equal():
    assert client_id(" 10.1.2.3 ") == "10.1.2.3" and client_id(None) == "unknown"
    assert constant_time_equal("abc", "abc") and not constant_time_equal("abc", "abd")
    assert constant_time_equal(b"\x00", b"\x00") and not constant_time_equal("a", "ab")
