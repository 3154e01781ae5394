"""Which folders were synced to disk, and what a folder's files held when it was."""

from __future__ import annotations

import os
import stat
import threading
from dataclasses import dataclass, field
from pathlib import Path

import pytest


@dataclass
class FolderSyncs:
    """Every `os.fsync` of a folder, in order: the folder's (device, inode) and its files then."""

    synced: list[tuple[tuple[int, int], dict[str, bytes]]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def note(self, fd: int, folder: Path | None) -> None:
        info = os.fstat(fd)
        if not stat.S_ISDIR(info.st_mode):
            return
        files = {} if folder is None else _files_in(folder)
        with self._lock:
            self.synced.append(((info.st_dev, info.st_ino), files))

    def of(self, folder: Path) -> list[dict[str, bytes]]:
        """What `folder`'s files held at each of its syncs."""
        info = folder.stat()
        with self._lock:
            return [files for key, files in self.synced if key == (info.st_dev, info.st_ino)]


def _files_in(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


@pytest.fixture
def folder_syncs(monkeypatch: pytest.MonkeyPatch) -> FolderSyncs:
    """Records the folders synced (by `os.fsync`) while the test runs; the syncs still happen."""
    syncs = FolderSyncs()
    fsync = os.fsync
    opened: dict[int, Path] = {}
    os_open = os.open

    def open_noting(path: str | os.PathLike[str], flags: int, *args: int, **kw: int) -> int:
        fd = os_open(path, flags, *args, **kw)
        opened[fd] = Path(os.fsdecode(path))
        return fd

    def fsync_noting(fd: int) -> None:
        syncs.note(fd, opened.get(fd))
        fsync(fd)

    monkeypatch.setattr(os, "open", open_noting)
    monkeypatch.setattr(os, "fsync", fsync_noting)
    return syncs
