"""Atomic writes: a reader sees the old file or the new one, never a part, and no leftovers."""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

import pytest

from custom_components.powerstats.core.fileio import set_aside, write_atomically

from ..folder_syncs import FolderSyncs, folder_syncs

__all__ = ["folder_syncs"]  # a fixture used by name below


def test_a_write_replaces_the_file_whole_and_leaves_it_readable_by_all(tmp_path: Path) -> None:
    target = tmp_path / "house" / "daily.json"
    write_atomically(target, b"old")
    write_atomically(target, b"new")
    assert target.read_bytes() == b"new"
    assert target.stat().st_mode & 0o777 == 0o644
    assert list(target.parent.iterdir()) == [target]


def test_a_write_that_fails_leaves_the_old_content_and_no_temporary_file(tmp_path: Path) -> None:
    # A folder where the file should go: the final rename fails after the data was written.
    target = tmp_path / "daily.json"
    target.mkdir()
    (target / "kept").write_bytes(b"old")
    with pytest.raises(IsADirectoryError):
        write_atomically(target, b"new")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["daily.json"]
    assert (target / "kept").read_bytes() == b"old"


def test_the_folder_is_synced_after_the_rename_so_a_power_cut_keeps_the_new_file(
    tmp_path: Path, folder_syncs: FolderSyncs
) -> None:
    target = tmp_path / "daily.json"
    write_atomically(target, b"old")
    write_atomically(target, b"new")
    assert [files.get("daily.json") for files in folder_syncs.of(tmp_path)][-1] == b"new"


def test_a_new_folder_is_synced_into_its_parent(tmp_path: Path, folder_syncs: FolderSyncs) -> None:
    write_atomically(tmp_path / "powerstats" / "house" / "daily.json", b"new")
    assert len(folder_syncs.of(tmp_path)) == 1
    assert len(folder_syncs.of(tmp_path / "powerstats")) == 1
    assert len(folder_syncs.of(tmp_path / "powerstats" / "house")) == 1


@pytest.mark.parametrize("refused", ["open", "fsync"])
def test_a_folder_the_platform_cannot_sync_still_gets_its_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, refused: str
) -> None:
    # Windows cannot open a folder; some file systems refuse to sync one (EINVAL).
    tried: list[str] = []
    os_open, fsync = os.open, os.fsync

    def open_folder(path: str, flags: int, *args: int) -> int:
        if os.path.isdir(path):
            tried.append("open")
            if refused == "open":
                raise PermissionError(errno.EACCES, "Permission denied")
        return os_open(path, flags, *args)

    def fsync_folder(fd: int) -> None:
        if stat.S_ISDIR(os.fstat(fd).st_mode):
            tried.append("fsync")
            if refused == "fsync":
                raise OSError(errno.EINVAL, "Invalid argument")
        fsync(fd)

    monkeypatch.setattr(os, "open", open_folder)
    monkeypatch.setattr(os, "fsync", fsync_folder)
    write_atomically(tmp_path / "daily.json", b"new")
    assert (tmp_path / "daily.json").read_bytes() == b"new"
    assert tried[-1] == refused


def test_a_folder_with_a_manifest_is_set_aside_under_a_free_name(tmp_path: Path) -> None:
    folder = tmp_path / "powerstats"
    (tmp_path / "powerstats.before-20261203-1700").mkdir()  # an earlier one, kept
    (folder / "house").mkdir(parents=True)
    (folder / "manifest.json").write_bytes(b"{}")
    (folder / "house" / "yearly.json").write_bytes(b"[]")

    aside = set_aside(folder, "20261203-1700")

    assert aside == tmp_path / "powerstats.before-20261203-1700-2"
    assert (aside / "house" / "yearly.json").read_bytes() == b"[]"
    assert not folder.exists()


def test_a_folder_set_aside_stays_aside_after_a_power_cut(
    tmp_path: Path, folder_syncs: FolderSyncs
) -> None:
    (tmp_path / "powerstats" / "house").mkdir(parents=True)
    (tmp_path / "powerstats" / "manifest.json").write_bytes(b"{}")
    set_aside(tmp_path / "powerstats", "20261203-1700")
    assert len(folder_syncs.of(tmp_path)) == 1


def test_a_folder_holding_a_manifest_of_no_meters_stays(tmp_path: Path) -> None:
    # What a dataset whose meters were all removed writes: no history to keep aside.
    (tmp_path / "powerstats").mkdir()
    (tmp_path / "powerstats" / "manifest.json").write_bytes(b'{"meters": []}')
    assert set_aside(tmp_path / "powerstats", "20261203-1700") is None
    assert (tmp_path / "powerstats" / "manifest.json").is_file()


def test_a_folder_without_a_manifest_stays(tmp_path: Path) -> None:
    (tmp_path / "powerstats").mkdir()
    assert set_aside(tmp_path / "powerstats", "20261203-1700") is None
    assert set_aside(tmp_path / "missing", "20261203-1700") is None
    assert (tmp_path / "powerstats").is_dir()
