"""Login throttling (ui/login_throttle.py) on a hand-driven clock: per address, across addresses, and never holding
the operator back for others' failures."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from ui.login_throttle import LoginThrottle


def attempt(t: LoginThrottle, address: str, now: float, ok: bool = False) -> bool:
    """One attempt; True when the password was checked."""
    verdict = t.begin(address, now)
    if verdict.allowed:
        t.end(address, ok, now)
    return verdict.allowed


def test_eight_parallel_sessions_from_one_address_get_one_attempt_at_a_time():
    t = LoginThrottle()
    with ThreadPoolExecutor(8) as pool:
        verdicts = list(pool.map(lambda _: t.begin("10.0.0.9", 0.0), range(8)))
    assert sum(v.allowed for v in verdicts) == 1
    assert "being checked" in next(v for v in verdicts if not v.allowed).reason


def test_an_address_that_keeps_failing_waits_longer_and_is_locked_out():
    t = LoginThrottle(base_s=1.0, max_wait_s=60.0, lockout_after=10, lockout_s=900.0)
    now, checked = 0.0, 0
    while now < 39.0:  # what 8 sessions managed in 39 s before: 24 attempts
        checked += attempt(t, "10.0.0.9", now)
        now += 0.25
    assert checked <= 7  # a free retry after a typo, then 1, 2, 4, 8, 16 s waits
    for _ in range(3):  # keep trying as soon as allowed: the 8th, 9th and 10th failures
        now += t.begin("10.0.0.9", now).wait_s
        assert attempt(t, "10.0.0.9", now)
    v = t.begin("10.0.0.9", now + 120)
    assert not v.allowed and v.wait_s > 700 and "too many failed attempts from your address" in v.reason


def test_a_typo_is_free_and_a_success_clears_the_record():
    t = LoginThrottle()
    assert attempt(t, "local", 0.0) and attempt(t, "local", 0.1, ok=True)
    assert attempt(t, "local", 0.2) and attempt(t, "local", 0.3)  # the record started over


def test_many_addresses_failing_lock_out_the_failing_ones_but_not_the_operator():
    t = LoginThrottle(global_failures=30)
    for i in range(40):  # an attacker rotating addresses
        attempt(t, f"198.51.100.{i}", float(i))
    v = t.begin("198.51.100.3", 200.0)
    assert not v.allowed and "on this console" in v.reason
    assert attempt(t, "192.0.2.1", 200.0, ok=True)  # the operator, with no failure, gets in at once


def test_failures_are_forgotten_after_the_window():
    t = LoginThrottle(window_s=900.0, lockout_s=900.0)
    now = 0.0
    for _ in range(30):
        v = t.begin("10.0.0.9", now)
        if v.allowed:
            t.end("10.0.0.9", False, now)
        now += max(v.wait_s, 0.1)
    assert not t.begin("10.0.0.9", now).allowed
    assert attempt(t, "10.0.0.9", now + 2000.0)


def test_another_browsers_wrong_guesses_never_delay_the_operator_at_the_same_address():
    t = LoginThrottle(base_s=1.0)
    now = 0.0
    guesses = 0
    while guesses < 4:  # someone else's four wrong guesses, from 127.0.0.1 like every local browser
        if attempt_as(t, "local", now, "their-session"):
            guesses += 1
        else:
            now += 0.5
    v = t.begin("local", now, "operator-session")  # the operator's correct password goes at once
    assert v.allowed and v.wait_s == 0
    t.end("local", True, now, "operator-session")
    assert not t.begin("local", now, "their-session").allowed  # theirs still waits


def attempt_as(t: LoginThrottle, address: str, now: float, client: str, ok: bool = False) -> bool:
    verdict = t.begin(address, now, client)
    if verdict.allowed:
        t.end(address, ok, now, client)
    return verdict.allowed
