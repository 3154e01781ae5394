"""What the agent reports about itself: mirror state, file ages, memory, disk, uptime."""

from __future__ import annotations

import os
import time

from . import STARTED, __version__
from .config import Config
from .fsutil import iso_utc
from .mirror import MirrorStatus, read_local_manifest

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs resident memory; mypy reads it, the board does not
    from typing import Any, Dict, Optional


def _proc_status_kb(field: str) -> Optional[int]:
    try:
        with open("/proc/self/status", encoding="ascii") as handle:
            for line in handle:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        return None
    return None


def collect(config: Config, mirror: MirrorStatus, now: Optional[float] = None) -> Dict[str, Any]:
    """A JSON-ready snapshot for the admin page, `status.json` and the `status` command."""
    now = time.time() if now is None else now
    _, entries, _ = read_local_manifest(config.webroot)
    files = []
    for entry in entries:
        try:
            mtime: Optional[float] = os.stat(os.path.join(config.webroot, entry.path)).st_mtime
        except OSError:
            mtime = None
        files.append(
            {
                "path": entry.path,
                "bytes": entry.size,
                "age_seconds": None if mtime is None else round(now - mtime),
            }
        )
    try:
        fs = os.statvfs(config.webroot)
        disk_free: Optional[int] = fs.f_bavail * fs.f_frsize
    except OSError:
        disk_free = None
    if mirror.last_attempt is None:
        reachable: Optional[bool] = None
    else:
        reachable = mirror.failures == 0
    return {
        "version": __version__,
        "source": config.source_url,
        "source_is_ha": config.source_is_ha,
        "source_reachable": reachable,
        "last_attempt": iso_utc(mirror.last_attempt),
        "last_success": iso_utc(mirror.last_success),
        "last_change": iso_utc(mirror.last_change),
        "last_error": mirror.last_error,
        "last_error_at": iso_utc(mirror.last_error_at),
        "failures_in_a_row": mirror.failures,
        "next_poll_in_seconds": None  # next_poll is on the monotonic clock (see MirrorLoop)
        if mirror.next_poll is None
        else max(0, round(mirror.next_poll - time.monotonic())),
        "polls": mirror.polls,
        "files_fetched": mirror.files_fetched,
        "maintenance": mirror.maintenance,
        "files": files,
        "rss_kb": _proc_status_kb("VmRSS"),
        "peak_rss_kb": _proc_status_kb("VmHWM"),
        "disk_free_bytes": disk_free,
        "uptime_seconds": round(time.monotonic() - STARTED),
    }
