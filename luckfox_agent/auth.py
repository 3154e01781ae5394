"""Admin authentication: password hashes, sessions, CSRF tokens and login throttling.

Before login there is no server-side state at all: the login form's CSRF token is a MAC of a
random nonce that the browser holds in a cookie (signed double submit), so no number of
strangers fetching the login page can push the admin's pending login out of a table.

Password hashes use scrypt with n=2**13, r=8, p=1 (8 MiB, about 1 s on the board's single
Cortex-A7 at 1.2 GHz); PBKDF2-SHA256 with 100,000 iterations is the fallback where Python
lacks scrypt. docs/agent.md records why. `hashlib` (and OpenSSL with it) is imported only
when a password is actually checked, so an agent nobody logs into never pays for it.
"""

from __future__ import annotations

import os
import threading
import time

from . import log
from .fsutil import compare_digest, hmac_sha256, random_token

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs resident memory; mypy reads it, the board does not
    from typing import Callable, Dict, Optional, Tuple

SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**13, 8, 1
PBKDF2_ITERATIONS = 100_000
MAX_PASSWORD = 1024


def _scrypt(password: bytes, salt: bytes, n: int, r: int, p: int) -> Optional[bytes]:
    import hashlib

    scrypt = getattr(hashlib, "scrypt", None)
    if scrypt is None:
        return None
    digest: bytes = scrypt(password, salt=salt, n=n, r=r, p=p, maxmem=256 * n * r * p, dklen=32)
    return digest


def hash_password(password: str) -> str:
    """A salted hash for the config file; the password itself is never stored."""
    import hashlib

    salt = os.urandom(16)
    raw = password.encode("utf-8")
    digest = _scrypt(raw, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
    if digest is not None:
        return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${salt.hex()}${digest.hex()}"
    log.warning("this Python has no hashlib.scrypt (needs OpenSSL 1.1+); using PBKDF2-SHA256")
    digest = hashlib.pbkdf2_hmac("sha256", raw, salt, PBKDF2_ITERATIONS)
    return f"pbkdf2_sha256${PBKDF2_ITERATIONS}${salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str) -> bool:
    """Check `password` against a stored hash in constant time; False on any malformed hash."""
    import hashlib

    if not stored or len(password) > MAX_PASSWORD:
        return False
    parts = stored.split("$")
    raw = password.encode("utf-8", "surrogatepass")
    try:
        if parts[0] == "scrypt" and len(parts) == 6:
            n, r, p = int(parts[1]), int(parts[2]), int(parts[3])
            if not (2 <= n <= 2**20 and 1 <= r <= 32 and 1 <= p <= 16):
                return False
            computed = _scrypt(raw, bytes.fromhex(parts[4]), n, r, p)
            if computed is None:
                log.error(
                    "the password hash is scrypt but this Python has no hashlib.scrypt; "
                    "create a new hash with `hash-password` on this board"
                )
                return False
            expected = bytes.fromhex(parts[5])
        elif parts[0] == "pbkdf2_sha256" and len(parts) == 4:
            iterations = int(parts[1])
            if not 1 <= iterations <= 10_000_000:
                return False
            computed = hashlib.pbkdf2_hmac("sha256", raw, bytes.fromhex(parts[2]), iterations)
            expected = bytes.fromhex(parts[3])
        else:
            return False
    except ValueError:
        return False
    return bool(compare_digest(computed, expected))


class LoginTokens:
    """CSRF tokens for the login form, kept by the browser instead of the server.

    The browser gets a random nonce in a cookie and, in the form, a MAC of that nonce under a
    secret that lives only in this process. A POST is accepted when the two match; an
    attacker can get pairs for itself but cannot set the admin's cookie or compute a MAC.
    """

    __slots__ = ("secret",)

    def __init__(self) -> None:
        self.secret = os.urandom(32)

    @staticmethod
    def nonce() -> str:
        """A fresh nonce for the login cookie."""
        return random_token(16)

    def token(self, nonce: str) -> str:
        """The form token that goes with `nonce`."""
        return hmac_sha256(self.secret, b"login:" + nonce.encode("ascii", "replace")).hex()

    @staticmethod
    def well_formed(nonce: str) -> bool:
        """True for a nonce as `nonce()` makes them (a cookie is client input)."""
        return len(nonce) == 32 and all(c in "0123456789abcdef" for c in nonce)

    def valid(self, nonce: Optional[str], token: str) -> bool:
        """True when `token` is this process's MAC of a well-formed `nonce`."""
        if nonce is None or not self.well_formed(nonce):
            return False
        return compare_digest(self.token(nonce).encode(), token.encode("utf-8", "replace"))


class Session:
    """One logged-in browser's session, with its CSRF token for the admin actions."""

    __slots__ = (
        "created",
        "csrf",
        "flash",
        "seen",
        "sid",
    )

    sid: str
    csrf: str
    created: float
    seen: float
    flash: str

    def __init__(self, sid: str, csrf: str, created: float, seen: float, flash: str = "") -> None:
        self.sid = sid
        self.csrf = csrf
        self.created = created
        self.seen = seen
        self.flash = flash


class Sessions:
    """A small in-memory table of logged-in sessions (they end when the agent restarts).

    Only a correct password creates an entry, so strangers cannot fill or evict it.
    """

    MAX_USERS = 8
    ABSOLUTE = 12 * 3600.0

    def __init__(self, idle_seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.idle = idle_seconds
        self.clock = clock
        self.lock = threading.Lock()
        self.table: Dict[str, Session] = {}

    def _expired(self, session: Session, now: float) -> bool:
        return now - session.seen > self.idle or now - session.created > self.ABSOLUTE

    def get(self, sid: Optional[str]) -> Optional[Session]:
        """The live session for a cookie value, or None."""
        if not sid or len(sid) != 64:
            return None
        now = self.clock()
        with self.lock:
            for key, candidate in list(self.table.items()):
                if compare_digest(key, sid):
                    if self._expired(candidate, now):
                        del self.table[key]
                        return None
                    candidate.seen = now
                    return candidate
        return None

    def new(self) -> Session:
        """Create a session (at login) with fresh, unguessable id and CSRF token."""
        now = self.clock()
        session = Session(random_token(), random_token(), now, now)
        with self.lock:
            for key, old in list(self.table.items()):
                if self._expired(old, now):
                    del self.table[key]
            oldest = sorted(self.table.values(), key=lambda s: s.seen)
            for old in oldest[: max(0, len(oldest) - self.MAX_USERS + 1)]:
                del self.table[old.sid]
            self.table[session.sid] = session
        return session

    def drop(self, session: Session) -> None:
        """End a session (logout)."""
        with self.lock:
            self.table.pop(session.sid, None)

    def clear(self) -> None:
        """End every session (the password changed)."""
        with self.lock:
            self.table.clear()


class _Client:
    __slots__ = (
        "blocked_until",
        "failures",
        "last",
        "logged_until",
    )

    failures: int
    blocked_until: float
    last: float
    logged_until: float

    def __init__(self) -> None:
        self.failures = 0
        self.blocked_until = 0.0
        self.last = 0.0
        self.logged_until = 0.0


class Throttle:
    """Slows password guessing: per client address and across all clients.

    After `free` failures a client waits 15, 30, 60 ... seconds (up to `cap`) before it may try
    again. Across all clients, failures draw on a bucket of `burst` attempts that refills
    one every `refill` seconds: once it is empty, password checks go on at that slow rate
    for everyone instead of stopping, so guessers from many addresses can never lock the
    admin out for longer than one refill (and an address that logged in before is not
    slowed by them at all). A throttled attempt is refused before the password is hashed, so
    guessing also cannot burn the board's CPU.
    """

    __slots__ = (
        "burst",
        "cap",
        "clients",
        "clock",
        "free",
        "known",
        "lock",
        "refill",
        "tokens",
        "updated",
        "window",
    )

    free: int
    cap: float
    burst: float
    refill: float
    window: float
    clock: Callable[[], float]
    clients: Dict[str, _Client]
    known: Dict[str, float]
    tokens: float
    updated: float
    lock: threading.Lock

    MAX_CLIENTS = 1024
    MAX_KNOWN = 16

    def __init__(
        self,
        free: int = 5,
        cap: float = 900.0,
        burst: int = 30,
        refill: float = 10.0,
        window: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.free = free
        self.cap = cap
        self.burst = float(burst)
        self.refill = refill
        self.window = window
        self.clock = clock
        self.clients = {}
        self.known = {}
        self.tokens = float(burst)
        self.updated = clock()
        self.lock = threading.Lock()

    def _refilled(self, now: float) -> None:
        self.tokens = min(self.burst, self.tokens + (now - self.updated) / self.refill)
        self.updated = now

    def acquire(self, client: str) -> float:
        """Seconds this client must wait; 0 = it may check a password now (and uses a turn)."""
        now = self.clock()
        with self.lock:
            state = self.clients.get(client)
            wait = 0.0 if state is None else state.blocked_until - now
            if wait > 0 or client in self.known:
                return max(wait, 0.0)
            self._refilled(now)
            if self.tokens < 1.0:
                return (1.0 - self.tokens) * self.refill
            self.tokens -= 1.0
            return 0.0

    def failed(self, client: str) -> None:
        """Record a wrong password from `client` (its turn stays used)."""
        now = self.clock()
        with self.lock:
            state = self.clients.setdefault(client, _Client())
            state.failures += 1
            state.last = now
            if state.failures >= self.free:
                state.blocked_until = now + min(self.cap, 15.0 * 2 ** (state.failures - self.free))
            if len(self.clients) > self.MAX_CLIENTS:  # forget the oldest: the table stays small
                oldest = sorted(self.clients.items(), key=lambda kv: kv[1].last)[:256]
                for key, _ in oldest:
                    del self.clients[key]

    def succeeded(self, client: str) -> None:
        """A correct password: the turn is given back and the address is known from now on."""
        now = self.clock()
        with self.lock:
            self.clients.pop(client, None)
            if client not in self.known:
                self.tokens = min(self.burst, self.tokens + 1.0)
            self.known[client] = now
            if len(self.known) > self.MAX_KNOWN:
                del self.known[min(self.known, key=lambda k: self.known[k])]

    def should_log(self, client: str) -> bool:
        """True for the first refusal of `client` in each window: one log line, not thousands."""
        now = self.clock()
        with self.lock:
            state = self.clients.get(client)
            if state is None:
                state = self.clients.setdefault("*", _Client())  # the global limit's own line
            if now < state.logged_until:
                return False
            state.logged_until = now + self.window
            return True


def split_cookies(header: str) -> Tuple[Tuple[str, str], ...]:
    """Parse a Cookie header into (name, value) pairs."""
    pairs = []
    for item in header.split(";"):
        name, sep, value = item.strip().partition("=")
        if sep:
            pairs.append((name.strip(), value.strip()))
    return tuple(pairs)
