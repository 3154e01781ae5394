"""Logging: one line per event to stderr or syslog, with secrets scrubbed.

The `logging` package costs about 2.5 MB resident on the board for features the agent does
not use, so this is a few functions instead. Logs stay bounded: stderr goes to the init
system's logger, syslog is rotated by syslogd, each message is cut to one short line, and
repeated failures are logged when the situation changes, not on every poll.
"""

from __future__ import annotations

import os
import sys
import threading
import time

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs resident memory; mypy reads it, the board does not
    from typing import Any, List, Optional

DEBUG, INFO, WARNING, ERROR = 10, 20, 30, 40
_NAMES = {DEBUG: "debug", INFO: "info", WARNING: "warning", ERROR: "error"}
MAX_MESSAGE = 400
RECENT = 50

_level = INFO
_use_syslog = False
_forced_target = ""
# The last RECENT lines, for /admin: the board's syslog may be root's alone to read.
_recent: List[str] = []
_secrets: List[str] = []
_lock = threading.Lock()


def configure(level: str = "info", target: str = "stderr") -> None:
    """Choose the threshold (debug/info/warning/error) and the target (stderr/syslog)."""
    global _level, _use_syslog
    _level = {v: k for k, v in _NAMES.items()}.get(level.lower(), INFO)
    _use_syslog = False
    if (_forced_target or target) == "syslog":
        try:
            import syslog

            syslog.openlog("powerstats-agent", syslog.LOG_PID, syslog.LOG_DAEMON)
            _use_syslog = True
        except ImportError:  # pragma: no cover - syslog exists on every Linux build
            pass


def force_target(target: str) -> None:
    """Send every line to `target` whatever the config says (`serve --syslog`)."""
    global _forced_target
    _forced_target = target
    configure(_NAMES[_level], target)


def recent() -> List[str]:
    """The last lines logged by this process, oldest first (already scrubbed)."""
    with _lock:
        return list(_recent)


def add_secret(secret: Optional[str]) -> None:
    """Register a value that must never appear in a log line (a token, a password)."""
    if secret and len(secret) >= 4 and secret not in _secrets:
        _secrets.append(secret)


def scrub(text: str) -> str:
    """Replace registered secrets and Authorization headers; cut to one bounded line."""
    for secret in _secrets:
        if secret in text:
            text = text.replace(secret, "[redacted]")
    lowered = text.lower()
    marker = lowered.find("bearer ")
    if marker >= 0:
        text = text[: marker + 7] + "[redacted]"
    text = text.replace("\r", " ").replace("\n", " ")
    if len(text) > MAX_MESSAGE:
        text = text[:MAX_MESSAGE] + "..."
    return text


def _emit(level: int, message: str, args: "tuple[Any, ...]") -> None:
    if level < _level:
        return
    if args:
        try:
            message = message % args
        except (TypeError, ValueError):
            message = f"{message} {args!r}"
    line = scrub(message)
    with _lock:
        _recent.append(f"{time.strftime('%Y-%m-%d %H:%M:%S')} {_NAMES[level]}: {line}")
        if len(_recent) > RECENT:
            del _recent[0]
    if _use_syslog:
        import syslog

        priority = {DEBUG: syslog.LOG_DEBUG, INFO: syslog.LOG_INFO, WARNING: syslog.LOG_WARNING}
        syslog.syslog(priority.get(level, syslog.LOG_ERR), line)
        return
    with _lock:
        try:
            sys.stderr.write(f"powerstats-agent[{os.getpid()}] {_NAMES[level]}: {line}\n")
            sys.stderr.flush()
        except (OSError, ValueError):  # stderr closed: nowhere left to complain
            pass


def debug(message: str, *args: Any) -> None:
    """Log at debug level."""
    _emit(DEBUG, message, args)


def info(message: str, *args: Any) -> None:
    """Log at info level."""
    _emit(INFO, message, args)


def warning(message: str, *args: Any) -> None:
    """Log at warning level."""
    _emit(WARNING, message, args)


def error(message: str, *args: Any) -> None:
    """Log at error level."""
    _emit(ERROR, message, args)
