"""Atomic writes: a reader sees the old file or the new one, never a part, and no leftovers."""

from __future__ import annotations

from pathlib import Path

import pytest

from custom_components.powerstats.core.fileio import set_aside, write_atomically


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


def test_a_folder_without_a_manifest_stays(tmp_path: Path) -> None:
    (tmp_path / "powerstats").mkdir()
    assert set_aside(tmp_path / "powerstats", "20261203-1700") is None
    assert set_aside(tmp_path / "missing", "20261203-1700") is None
    assert (tmp_path / "powerstats").is_dir()
