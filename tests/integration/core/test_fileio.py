"""Atomic writes: a reader sees the old file or the new one, never a part, and no leftovers."""

from __future__ import annotations

from pathlib import Path

import pytest

from custom_components.powerstats.core.fileio import write_atomically


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
