"""Small file-system and encoding helpers: atomic writes, hashing, HTTP dates.

These avoid `tempfile`, `hashlib`, `email.utils` and `urllib.parse` on purpose: each of those
costs one to four megabytes of resident memory on the board, for one line of work here.
"""

from __future__ import annotations

import os
import time

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs resident memory; mypy reads it, the board does not
    from typing import Any, Callable, Iterable, Optional, Tuple

_counter = 0

try:  # the builtin SHA-256 avoids loading OpenSSL's libcrypto (about 3.5 MB resident)
    from _sha2 import sha256 as _sha256  # type: ignore[import-not-found,unused-ignore]
except ImportError:  # pragma: no cover - depends on the Python version
    try:
        from _sha256 import sha256 as _sha256  # type: ignore[import-not-found,no-redef,unused-ignore]
    except ImportError:
        from hashlib import sha256 as _sha256  # type: ignore[assignment,unused-ignore]


def compare_digest(a: Any, b: Any) -> bool:
    """Constant-time equality of two str/bytes values.

    The same C function as hmac.compare_digest, reached without importing hmac (which loads
    hashlib and OpenSSL); hmac is the fallback on an interpreter without it.
    """
    import _operator

    func: Any = getattr(_operator, "_compare_digest", None)
    if func is None:  # pragma: no cover - every CPython since 3.4 has it
        import hmac

        func = hmac.compare_digest
    return bool(func(a, b))


def new_sha256(data: bytes = b"") -> Any:
    """A SHA-256 object; the cheapest implementation the interpreter offers."""
    return _sha256(data)


def sha256_hex(data: bytes) -> str:
    """Hex SHA-256 of `data`."""
    return str(_sha256(data).hexdigest())


def hmac_sha256(key: bytes, message: bytes) -> bytes:
    """HMAC-SHA256 (RFC 2104) on the builtin SHA-256: `hmac` would load OpenSSL."""
    if len(key) > 64:
        key = _sha256(key).digest()
    key = key.ljust(64, b"\0")
    inner = _sha256(bytes(b ^ 0x36 for b in key))
    inner.update(message)
    outer = _sha256(bytes(b ^ 0x5C for b in key))
    outer.update(inner.digest())
    return bytes(outer.digest())


def sha256_file(path: str) -> Optional[str]:
    """Hex SHA-256 of a regular file's bytes, or None when it cannot be read."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return None
    digest = _sha256()
    try:
        while True:
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            digest.update(chunk)
    except OSError:
        return None
    finally:
        os.close(fd)
    return str(digest.hexdigest())


def random_token(nbytes: int = 32) -> str:
    """An unguessable hex token from the kernel's CSPRNG."""
    return os.urandom(nbytes).hex()


def staging_path(path: str) -> str:
    """A new temporary name beside `path`: `.<name>.<pid>.<n>.tmp`.

    It sits on the same file system as the target (so the later rename is atomic) and starts
    with a dot, which the server's allow-list never serves. The pid tells at the next start
    whether the process that wrote it is gone (see `remove_interrupted_writes`).
    """
    global _counter
    _counter += 1
    directory, name = os.path.split(path)
    return os.path.join(directory or ".", f".{name}.{os.getpid()}.{_counter}.tmp")


def staged_for(name: str) -> Optional[Tuple[str, int]]:
    """(target name, writer's pid) when file `name` is one `staging_path` makes, else None."""
    if not (name.startswith(".") and name.endswith(".tmp")):
        return None
    parts = name[1:-4].rsplit(".", 2)
    if len(parts) != 3 or not parts[0]:
        return None
    target, pid, count = parts
    if not all(part.isascii() and part.isdigit() for part in (pid, count)) or int(pid) < 1:
        return None
    return target, int(pid)


def _writer_gone(pid: int) -> bool:
    # At start this process has staged nothing yet: a file with its pid is from an earlier
    # process that had the same pid (boards start their services in the same order each boot).
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, OverflowError):
        return True
    except OSError:  # EPERM: a process of another user runs under that pid
        return False
    return False


def remove_interrupted_writes(directory: str, targets: Callable[[str], bool]) -> int:
    """Remove the temporary files that writes cut short (a power cut, kill -9) left in
    `directory`, for the target names `targets` accepts; how many were removed.

    Only names `staging_path` makes, and only those whose writer is gone: a `mirror-once`
    run beside the daemon may be writing its own right now (after a reboot an unrelated
    process may hold a dead writer's pid; that file goes at a later start). Call it before
    this process stages anything.
    """
    removed = 0
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return 0
    for entry in entries:
        staged = staged_for(entry.name)
        if staged is None or not targets(staged[0]) or not _writer_gone(staged[1]):
            continue
        with suppress(OSError):
            if entry.is_file(follow_symlinks=False):
                os.unlink(entry.path)
                removed += 1
    return removed


def stage_write(path: str, chunks: Iterable[bytes], mode: int = 0o644, fsync: bool = True) -> str:
    """Write `chunks` to a temporary file beside `path` (`staging_path`); returns its name.

    On any error the temporary file is removed again and the error raised.
    """
    tmp = staging_path(path)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), mode)
    try:
        try:
            for chunk in chunks:
                view = memoryview(chunk)
                while view:
                    written = os.write(fd, view)
                    view = view[written:]
            if fsync:
                os.fsync(fd)
        finally:
            os.close(fd)
    except BaseException:
        remove_quietly(tmp)
        raise
    return tmp


def sync_folder(folder: str) -> None:
    """fsync a folder, so that the renames made in it survive a power cut.

    fsync on a file makes its bytes durable, not its name: until the folder is synced, a
    rename may still be lost with the power. Some platforms and file systems refuse to open
    a folder or to sync one (EACCES, EINVAL, EBADF, ...); there this quietly does nothing: the
    rename is made, nothing here could undo it, and the file system writes it with its next
    commit.
    """
    try:
        fd = os.open(folder or ".", os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        with suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(path: str, chunks: Iterable[bytes], mode: int = 0o644, fsync: bool = True) -> None:
    """Replace `path` with `chunks` so that readers see the old or the new file, never half;
    with `fsync`, the new file (bytes and name) is on the disk when this returns."""
    tmp = stage_write(path, chunks, mode, fsync)
    try:
        os.replace(tmp, path)
    except BaseException:
        remove_quietly(tmp)
        raise
    if fsync:
        sync_folder(os.path.dirname(path))


class suppress:  # lower case: it stands in for contextlib.suppress
    """contextlib.suppress without contextlib (and the modules it imports, resident for good)."""

    __slots__ = ("errors",)

    def __init__(self, *errors: type) -> None:
        self.errors = errors

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: Optional[type], value: object, trace: object) -> bool:
        return kind is not None and issubclass(kind, self.errors)


def remove_quietly(path: str) -> None:
    """Remove a file if it exists; errors are not interesting here."""
    with suppress(OSError):
        os.unlink(path)


_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def http_date(epoch: float) -> str:
    """RFC 9110 IMF-fixdate for an epoch time (locale independent)."""
    t = time.gmtime(epoch)
    return (
        f"{_DAYS[t.tm_wday]}, {t.tm_mday:02d} {_MONTHS[t.tm_mon - 1]} {t.tm_year:04d} "
        f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} GMT"
    )


def iso_utc(epoch: Optional[float]) -> Optional[str]:
    """ISO 8601 UTC timestamp for status output, or None."""
    if epoch is None:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


def percent_decode(text: str) -> Optional[str]:
    """Strict percent-decoding of a URL component; None when malformed or not UTF-8."""
    if "%" not in text:
        return text
    out = bytearray()
    i = 0
    raw = text.encode("latin-1", "replace")
    while i < len(raw):
        c = raw[i]
        if c == 0x25:  # '%'
            pair = raw[i + 1 : i + 3]
            if len(pair) != 2:
                return None
            try:
                out.append(int(pair, 16))
            except ValueError:
                return None
            i += 3
        else:
            out.append(c)
            i += 1
    try:
        return out.decode("utf-8")
    except UnicodeDecodeError:
        return None


def parse_form(body: str) -> "dict[str, str]":
    """Parse an application/x-www-form-urlencoded body; the first value of a name wins."""
    form: "dict[str, str]" = {}
    for part in body.split("&"):
        if not part:
            continue
        name, _, value = part.partition("=")
        key = percent_decode(name.replace("+", " "))
        val = percent_decode(value.replace("+", " "))
        if key is None or val is None:
            continue
        form.setdefault(key, val)
    return form


def call_quietly(func: Callable[[], Any]) -> None:
    """Run a cleanup callable, ignoring OS errors."""
    with suppress(OSError):
        func()
