"""Password hashes, sessions and throttling, with an injected clock (no waiting)."""

from __future__ import annotations

import hashlib

import pytest

from luckfox_agent.auth import PBKDF2_ITERATIONS, Sessions, Throttle, hash_password, verify_password


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
        assert throttle.retry_after("10.0.0.2") == 0
        throttle.failed("10.0.0.2")
    assert throttle.retry_after("10.0.0.2") == pytest.approx(15.0)
    assert throttle.retry_after("10.0.0.3") == 0
    clock.now += 15.0
    assert throttle.retry_after("10.0.0.2") == 0
    throttle.failed("10.0.0.2")
    assert throttle.retry_after("10.0.0.2") == pytest.approx(30.0)
    throttle.succeeded("10.0.0.2")
    assert throttle.retry_after("10.0.0.2") == 0


def test_the_global_limit_reopens_when_the_window_passes() -> None:
    clock = Clock()
    throttle = Throttle(clock=clock)
    for n in range(30):
        throttle.failed(f"10.0.1.{n}")
    assert throttle.retry_after("10.0.2.1") > 0
    clock.now += throttle.window
    assert throttle.retry_after("10.0.2.1") == 0


def test_an_idle_session_expires_and_the_table_stays_bounded() -> None:
    clock = Clock()
    sessions = Sessions(idle_seconds=60, clock=clock)
    session = sessions.new(user=True)
    clock.now += 59
    assert sessions.get(session.sid) is session
    clock.now += 61
    assert sessions.get(session.sid) is None
    for _ in range(200):
        sessions.new()
    assert len(sessions.table) <= Sessions.MAX_ANONYMOUS
    assert sessions.get("0" * 64) is None
    assert sessions.get("short") is None
