"""Atomic file writes: every file PowerStats writes goes through here. Executor only."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


def write_atomically(target: Path, data: bytes) -> None:
    """Write `data` to `target` so that a reader only ever sees the old or the new file.

    A temporary file in the same folder is written and synced, then renamed over the target:
    a crash or power cut in the middle leaves the previous file intact. The folder is synced
    after the rename, so that once this returns a power cut cannot bring the old file back.
    """
    make_folder(target.parent)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes it private; these files are meant to be read
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    sync_folder(target.parent)


def make_folder(folder: Path) -> None:
    """Create `folder` and its missing parents, each kept by a power cut like a renamed file."""
    if folder.is_dir():
        return
    make_folder(folder.parent)
    folder.mkdir(exist_ok=True)
    sync_folder(folder.parent)


def sync_folder(folder: Path) -> None:
    """Sync `folder`'s list of names to disk: a rename or a new file in it survives a power cut.

    Where the platform or its file system cannot open or sync a folder (Windows, some network
    shares) there is nothing more to be done: the write itself is complete.
    """
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)


def set_aside(folder: Path, stamp: str) -> Path | None:
    """Move `folder` to `<folder>.before-<stamp>` (a number added while that name is taken)
    when it holds a manifest.json and a meter's folder; returns where it went, None when there
    was nothing to move.

    A fresh dataset would otherwise write over files it did not write: the history a removed
    PowerStats left in the config folder, which a restore can read back from where it goes. A
    manifest alone holds no history (a dataset whose meters were all removed writes one), and
    moving it would leave one more folder aside at every start.
    """
    if not (folder / "manifest.json").is_file():
        return None
    if not any(entry.is_dir() for entry in folder.iterdir()):
        return None
    aside = folder.with_name(f"{folder.name}.before-{stamp}")
    n = 2
    while aside.exists():
        aside = folder.with_name(f"{folder.name}.before-{stamp}-{n}")
        n += 1
    folder.rename(aside)
    # Undone by a power cut, the fresh dataset would write into the files it moved aside.
    sync_folder(folder.parent)
    return aside
