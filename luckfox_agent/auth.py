"""Admin authentication: password hashes, sessions, CSRF tokens and login throttling.

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
from .fsutil import compare_digest, random_token

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs resident memory; mypy reads it, the board does not
    from typing import Callable, Dict, List, Optional, Tuple

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


class Session:
    """One browser's session: anonymous until login, with its CSRF token."""

    __slots__ = (
        "created",
        "csrf",
        "flash",
        "seen",
        "sid",
        "user",
    )

    sid: str
    csrf: str
    created: float
    seen: float
    user: bool
    flash: str

    def __init__(
        self,
        sid: str,
        csrf: str,
        created: float,
        seen: float,
        user: bool = False,
        flash: str = "",
    ) -> None:
        self.sid = sid
        self.csrf = csrf
        self.created = created
        self.seen = seen
        self.user = user
        self.flash = flash


class Sessions:
    """A small in-memory session table (sessions end when the agent restarts)."""

    MAX_ANONYMOUS = 64
    MAX_USERS = 8
    ABSOLUTE = 12 * 3600.0

    def __init__(self, idle_seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.idle = idle_seconds
        self.clock = clock
        self.lock = threading.Lock()
        self.table: Dict[str, Session] = {}

    def _expired(self, session: Session, now: float) -> bool:
        idle = self.idle if session.user else min(self.idle, 1800.0)
        return now - session.seen > idle or now - session.created > self.ABSOLUTE

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

    def new(self, user: bool = False) -> Session:
        """Create a session with fresh, unguessable id and CSRF token."""
        now = self.clock()
        session = Session(random_token(), random_token(), now, now, user)
        with self.lock:
            for key, old in list(self.table.items()):
                if self._expired(old, now):
                    del self.table[key]
            same = sorted((s for s in self.table.values() if s.user == user), key=lambda s: s.seen)
            limit = self.MAX_USERS if user else self.MAX_ANONYMOUS
            for old in same[: max(0, len(same) - limit + 1)]:
                del self.table[old.sid]
            self.table[session.sid] = session
        return session

    def drop(self, session: Session) -> None:
        """End a session (logout, or its replacement at login)."""
        with self.lock:
            self.table.pop(session.sid, None)


class _Client:
    __slots__ = (
        "blocked_until",
        "failures",
        "last",
    )

    failures: int
    blocked_until: float
    last: float

    def __init__(
        self,
        failures: int = 0,
        blocked_until: float = 0.0,
        last: float = 0.0,
    ) -> None:
        self.failures = failures
        self.blocked_until = blocked_until
        self.last = last


class Throttle:
    """Slows password guessing: per client address and across all clients.

    After `free` failures a client waits 15, 30, 60 ... seconds (up to `cap`) before it may try
    again; more than `global_limit` failures in `window` seconds from anyone close the login
    for everyone until the window passes. A throttled attempt is refused before the password
    is hashed, so guessing also cannot burn the board's CPU.
    """

    __slots__ = (
        "cap",
        "clients",
        "clock",
        "free",
        "global_limit",
        "lock",
        "recent",
        "window",
    )

    free: int
    cap: float
    global_limit: int
    window: float
    clock: Callable[[], float]
    clients: Dict[str, _Client]
    recent: List[float]
    lock: threading.Lock

    def __init__(
        self,
        free: int = 5,
        cap: float = 900.0,
        global_limit: int = 30,
        window: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.free = free
        self.cap = cap
        self.global_limit = global_limit
        self.window = window
        self.clock = clock
        self.clients = {}
        self.recent = []
        self.lock = threading.Lock()

    def retry_after(self, client: str) -> float:
        """Seconds this client must wait before trying; 0 = may try now."""
        now = self.clock()
        with self.lock:
            self.recent = [t for t in self.recent if now - t < self.window]
            wait = 0.0
            if len(self.recent) >= self.global_limit:
                wait = self.window - (now - self.recent[0])
            state = self.clients.get(client)
            if state is not None:
                wait = max(wait, state.blocked_until - now)
            return max(wait, 0.0)

    def failed(self, client: str) -> None:
        """Record a wrong password from `client`."""
        now = self.clock()
        with self.lock:
            self.recent.append(now)
            state = self.clients.setdefault(client, _Client())
            state.failures += 1
            state.last = now
            if state.failures >= self.free:
                state.blocked_until = now + min(self.cap, 15.0 * 2 ** (state.failures - self.free))
            if len(self.clients) > 1024:  # forget the oldest so the table stays small
                oldest = sorted(self.clients.items(), key=lambda kv: kv[1].last)[:256]
                for key, _ in oldest:
                    del self.clients[key]

    def succeeded(self, client: str) -> None:
        """A correct password resets that client's count."""
        with self.lock:
            self.clients.pop(client, None)


def split_cookies(header: str) -> Tuple[Tuple[str, str], ...]:
    """Parse a Cookie header into (name, value) pairs."""
    pairs = []
    for item in header.split(";"):
        name, sep, value = item.strip().partition("=")
        if sep:
            pairs.append((name.strip(), value.strip()))
    return tuple(pairs)
