"""`powerstats-agent logs`: the agent's recent lines from wherever the init system put them.

systemd keeps them in the journal; OpenRC and BusyBox init send them to syslog, which BusyBox's
syslogd keeps either in a RAM ring (`syslogd -C`, read with `logread`) or in /var/log/messages,
rotated at a size (bounded either way).
"""

from __future__ import annotations

import os
import shutil
import subprocess

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs resident memory; mypy reads it, the board does not
    from typing import List, Tuple

TAG = "powerstats-agent"
SYSLOG_FILES = ("/var/log/messages", "/var/log/syslog", "/var/log/daemon.log")
TAIL_BYTES = 512 * 1024  # read at most this much of each file's end
# Log lines can carry text from the source or from clients: no control character (an escape
# sequence could drive the terminal) reaches the screen.
_CONTROLS = {c: "?" for c in [*range(32), 127] if c != 9}


def _run(argv: List[str]) -> List[str]:
    try:
        result = subprocess.run(argv, capture_output=True, text=True, errors="replace", timeout=30)
    except (OSError, subprocess.SubprocessError):
        return []
    return result.stdout.splitlines() if result.returncode == 0 else []


def _tail(path: str) -> List[str]:
    try:
        with open(path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - TAIL_BYTES))
            data = handle.read()
    except OSError:
        return []
    lines = data.decode("utf-8", "replace").splitlines()
    return lines[1:] if size > TAIL_BYTES else lines  # the first one may be cut


def recent_lines(count: int) -> Tuple[List[str], str]:
    """The last `count` lines of the agent, oldest first, and where they were looked for."""
    if os.path.isdir("/run/systemd/system") and shutil.which("journalctl"):
        lines = _run(["journalctl", "-u", TAG, "-n", str(count), "--no-pager", "-q"])
        return _printable(lines[-count:]), "the journal (journalctl -u powerstats-agent)"
    found: List[str] = []
    if shutil.which("logread"):
        found = [ln for ln in _run(["logread"]) if TAG in ln]
    if not found:
        for path in SYSLOG_FILES:
            # The rotated file first: its lines are the older ones.
            found = [ln for p in (path + ".0", path) for ln in _tail(p) if TAG in ln]
            if found:
                break
    return _printable(found[-count:]), "logread and " + ", ".join(SYSLOG_FILES)


def _printable(lines: List[str]) -> List[str]:
    return [line.translate(_CONTROLS) for line in lines]
