"""Gzip siblings of the mirrored data files, made once per file version by the system's gzip.

The agent loads no zlib: compressing in-process would cost about 0.2 MB resident for good, and
0.3 MB at the peak of each compression (measured with Python 3.9 and 3.13), close to all the
room the memory target leaves. A child process running `gzip -c` (BusyBox has it) costs the
agent nothing: posix_spawn starts it without copying the agent's memory. Without a gzip program
the data files are simply sent uncompressed.

A sibling is named after the sha256 of the bytes it was made from (`yearly.json.<sha256>.gz`),
so after a restart the mirror knows which sibling belongs to the file it holds without
decompressing anything; the server sends it only while the file on disk is the very one it was
made from (same inode, mtime and size, see `Packed`).
"""

from __future__ import annotations

import os
import stat
import time

from . import log
from .fsutil import remove_quietly, staging_path, suppress

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs resident memory; mypy reads it, the board does not
    from typing import Dict, Iterable, Optional, Tuple

    # (sibling's path relative to the web root, st_ino, st_mtime_ns, st_size of the file it
    # was made from, as it lies in the web root)
    Packed = Tuple[str, int, int, int]

GZIP = ["gzip", "-c"]  # the options BusyBox's gzip shares with GNU gzip
# A compression of a data file (tens of kB) takes milliseconds even on the board's core.
DEADLINE = 30.0
NOT_RUN = 127  # the exit status of a spawned child whose program could not be executed


def sibling_name(path: str, sha256: str) -> str:
    """The sibling of data file `path` (relative) holding the gzip of the bytes with `sha256`."""
    return f"{path}.{sha256}.gz"


def is_sibling_of(name: str, base: str) -> bool:
    """Whether file `name` is a gzip sibling of the file called `base`, in the same folder."""
    middle = name[len(base) + 1 : -3]
    return (
        name.startswith(base + ".")
        and name.endswith(".gz")
        and len(middle) == 64
        and all(c in "0123456789abcdef" for c in middle)
    )


def identity(path: str) -> Optional[Tuple[int, int, int]]:
    """(st_ino, st_mtime_ns, st_size) of a regular file, or None."""
    try:
        info = os.stat(path, follow_symlinks=False)
    except OSError:
        return None
    if not stat.S_ISREG(info.st_mode):
        return None
    return info.st_ino, info.st_mtime_ns, info.st_size


class Packer:
    """Runs the system's gzip on staged files; gives up for good once no gzip program exists."""

    def __init__(self) -> None:
        self.available = getattr(os, "posix_spawnp", None) is not None

    def compress(self, source: str, beside: str) -> Optional[str]:
        """Gzip file `source` into a new temporary file next to `beside`; its name, or None.

        The temporary file starts with a dot (never served) and is fsynced, ready to be renamed
        into place; on any failure nothing is left behind and None says: send uncompressed.
        """
        if not self.available:
            return None
        name = os.path.basename(beside)
        tmp = staging_path(beside + ".gz")  # `.<name>.gz.<pid>.<n>.tmp`
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
        try:
            pid = os.posix_spawnp(
                GZIP[0],
                GZIP,
                os.environ,
                file_actions=[
                    (os.POSIX_SPAWN_OPEN, 0, source, os.O_RDONLY, 0),
                    (os.POSIX_SPAWN_OPEN, 1, tmp, flags, 0o644),
                    (os.POSIX_SPAWN_OPEN, 2, os.devnull, os.O_WRONLY, 0),
                ],
            )
        except OSError as err:
            remove_quietly(tmp)
            if isinstance(err, (FileNotFoundError, PermissionError)):
                self._not_found()
            else:
                log.warning("cannot run gzip for %s: %s", name, err.strerror or err)
            return None
        status = self._exit_status(pid)
        if status == NOT_RUN:
            # Where the C library cannot report a failed exec to posix_spawnp (emulators, some
            # libcs), the child exits with 127 instead: gzip itself never does.
            remove_quietly(tmp)
            self._not_found()
            return None
        if status != 0 or not self._synced(tmp):
            remove_quietly(tmp)
            log.warning("gzip failed on %s; it is sent uncompressed", name)
            return None
        return tmp

    def _not_found(self) -> None:
        self.available = False
        log.info("no gzip program found: the data files are sent uncompressed")

    @staticmethod
    def _exit_status(pid: int) -> Optional[int]:
        """Wait for the child; its exit status, or None when it did not exit within DEADLINE
        (it is killed then) or was killed by a signal."""
        deadline = time.monotonic() + DEADLINE
        pause = 0.001
        try:
            while True:
                done, status = os.waitpid(pid, os.WNOHANG)
                if done:
                    return os.WEXITSTATUS(status) if os.WIFEXITED(status) else None
                if time.monotonic() > deadline:
                    with suppress(OSError):
                        os.kill(pid, 9)
                    os.waitpid(pid, 0)
                    return None
                time.sleep(pause)
                pause = min(pause * 2, 0.05)
        except OSError:  # the child is gone (SIGCHLD ignored by whoever started the agent)
            return None

    @staticmethod
    def _synced(path: str) -> bool:
        """fsync a finished file (a gzip stream is at least 18 bytes); False when it is not."""
        try:
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        except OSError:
            return False
        try:
            os.fsync(fd)
            return os.fstat(fd).st_size >= 18
        except OSError:
            return False
        finally:
            os.close(fd)


def prune(webroot: str, path: str, keep: Iterable[str] = ()) -> None:
    """Remove every gzip sibling of data file `path` but those named in `keep`."""
    directory, base = os.path.split(os.path.join(webroot, path))
    kept = {os.path.basename(k) for k in keep}
    try:
        names = os.listdir(directory)
    except OSError:
        return
    for name in names:
        if name not in kept and is_sibling_of(name, base):
            remove_quietly(os.path.join(directory, name))


def found_siblings(webroot: str, contents: Dict[str, Optional[str]]) -> Dict[str, Packed]:
    """The siblings that match the files as they lie in the web root (path -> real sha256).

    Run at start: whatever happened before (a crash between two renames, a file replaced by
    hand), a sibling is kept only if it was made from the bytes the file holds now; the others
    are removed.
    """
    packed: Dict[str, Packed] = {}
    for path, sha256 in contents.items():
        keep = []
        found = identity(os.path.join(webroot, path))
        if sha256 is not None and found is not None:
            name = sibling_name(path, sha256)
            if identity(os.path.join(webroot, name)) is not None:
                packed[path] = (name, found[0], found[1], found[2])
                keep.append(name)
        prune(webroot, path, keep)
    return packed
