"""Password hashes, sessions, login tokens and throttling, with an injected clock (no waiting)."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from luckfox_agent.auth import (
    PBKDF2_ITERATIONS,
    LoginTokens,
    Sessions,
    Throttle,
    hash_password,
    verify_password,
)
from luckfox_agent.fsutil import hmac_sha256


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_hash_verifies_only_its_own_password() -> None:
    stored = hash_password("a good long password")
    assert stored.startswith("scrypt$8192$8$1$")
    assert verify_password("a good long password", stored)
    assert not verify_password("a good long passworD", stored)


def test_a_pbkdf2_hash_from_a_python_without_scrypt_still_verifies() -> None:
    salt = bytes(range(16))
    digest = hashlib.pbkdf2_hmac("sha256", b"fallback password", salt, PBKDF2_ITERATIONS)
    stored = f"pbkdf2_sha256${PBKDF2_ITERATIONS}${salt.hex()}${digest.hex()}"
    assert verify_password("fallback password", stored)
    assert not verify_password("other password", stored)


@pytest.mark.parametrize(
    "stored",
    [
        "",
        "plain-text-password",
        "scrypt$8192$8$1$zz$00",
        "scrypt$99999999$8$1$00$00",
        "pbkdf2_sha256$0$00$00",
        "md5$00$00",
    ],
)
def test_a_malformed_or_weak_hash_never_verifies(stored: str) -> None:
    assert not verify_password("plain-text-password", stored)


def test_throttling_lifts_after_the_wait_and_doubles_on_repeat() -> None:
    clock = Clock()
    throttle = Throttle(clock=clock)
    for _ in range(5):
        assert throttle.acquire("10.0.0.2") == 0
        throttle.failed("10.0.0.2")
    assert throttle.acquire("10.0.0.2") == pytest.approx(15.0)
    assert throttle.acquire("10.0.0.3") == 0
    clock.now += 15.0
    assert throttle.acquire("10.0.0.2") == 0
    throttle.failed("10.0.0.2")
    assert throttle.acquire("10.0.0.2") == pytest.approx(30.0)
    throttle.succeeded("10.0.0.2")
    assert throttle.acquire("10.0.0.2") == 0


def test_ninety_rotating_addresses_get_one_guess_per_refill_and_never_slow_a_known_admin() -> None:
    clock = Clock()
    throttle = Throttle(clock=clock)
    throttle.succeeded("10.0.9.9")  # the admin's own laptop logged in once before
    guesses = 0
    longest_wait = 0.0
    for second in range(3600):  # an hour of guessing from 90 addresses in turn, 1 try/s each
        guesser = f"10.0.1.{second % 90}"
        if throttle.acquire(guesser) == 0:
            throttle.failed(guesser)
            guesses += 1
        if second % 60 == 30:  # now and then someone new comes to log in
            longest_wait = max(longest_wait, throttle.acquire(f"10.0.2.{second // 60}"))
        assert throttle.acquire("10.0.9.9") == 0, "a known address is never slowed by others"
        throttle.succeeded("10.0.9.9")
        clock.now += 1
    assert guesses <= 30 + 3600 / throttle.refill, "the global rate of password checks is bounded"
    # What a new address is told (Retry-After); it then competes with the guessers for the turn.
    assert longest_wait <= throttle.refill, "a new address is told to come back within a refill"
    clock.now += throttle.refill
    assert throttle.acquire("10.0.3.1") == 0


def test_refusals_are_logged_once_per_address_and_window() -> None:
    clock = Clock()
    throttle = Throttle(clock=clock)
    for _ in range(5):
        throttle.failed("10.0.0.2")
    logged = [throttle.should_log("10.0.0.2") for _ in range(1000)]
    assert logged.count(True) == 1
    assert throttle.should_log("10.0.0.3"), "another address gets its own line"
    clock.now += throttle.window
    assert throttle.should_log("10.0.0.2"), "and the next window one more"


def test_an_idle_session_expires_and_the_table_stays_bounded() -> None:
    clock = Clock()
    sessions = Sessions(idle_seconds=60, clock=clock)
    session = sessions.new()
    clock.now += 59
    assert sessions.get(session.sid) is session
    clock.now += 61
    assert sessions.get(session.sid) is None
    for _ in range(200):
        sessions.new()
    assert len(sessions.table) <= Sessions.MAX_USERS
    assert sessions.get("0" * 64) is None
    assert sessions.get("short") is None


def test_a_login_token_is_valid_only_with_the_nonce_it_was_made_for() -> None:
    tokens = LoginTokens()
    nonce = tokens.nonce()
    token = tokens.token(nonce)
    assert tokens.valid(nonce, token)
    assert not tokens.valid(tokens.nonce(), token)
    assert not tokens.valid(nonce, "0" * 64)
    assert not tokens.valid(None, token)
    assert not LoginTokens().valid(nonce, token), "another process's secret signs otherwise"


def test_the_builtin_hmac_matches_the_standard_library() -> None:
    for key in (b"", b"k" * 32, b"k" * 64, b"k" * 100):
        for message in (b"", b"login:" + b"0" * 32, bytes(range(256))):
            assert hmac_sha256(key, message) == hmac.new(key, message, hashlib.sha256).digest()
