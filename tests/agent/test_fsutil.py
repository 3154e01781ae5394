"""URL decoding, form parsing, dates and atomic writes: the small helpers the server trusts."""

from __future__ import annotations

import email.utils
import errno
import os
import stat
from pathlib import Path
from typing import Any

import pytest

from luckfox_agent.config import parse_url
from luckfox_agent.fsutil import (
    atomic_write,
    http_date,
    parse_form,
    percent_decode,
    stage_write,
    staged_for,
)
from luckfox_agent.packing import Packer


@pytest.mark.parametrize(
    ("raw", "decoded"),
    [
        ("/a%20b", "/a b"),
        ("/%2e%2e/x", "/../x"),
        ("/%252e", "/%2e"),
        ("/%", None),
        ("/%zz", None),
        ("/%c0%ae", None),
        ("/plain", "/plain"),
        ("/%E2%82%AC", "/\u20ac"),
    ],
)
def test_percent_decoding_is_strict_and_single_pass(raw: str, decoded: str | None) -> None:
    assert percent_decode(raw) == decoded


def test_forms_keep_the_first_value_and_decode_plus_as_space() -> None:
    assert parse_form("csrf=ab&password=a+b%21&csrf=evil") == {"csrf": "ab", "password": "a b!"}


def test_http_dates_match_the_standard_format() -> None:
    assert http_date(0) == "Thu, 01 Jan 1970 00:00:00 GMT"
    assert http_date(1764198000) == email.utils.formatdate(1764198000, usegmt=True)


def test_an_atomic_write_replaces_the_file_and_leaves_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "f.json"
    target.write_bytes(b"old")
    inode = target.stat().st_ino
    atomic_write(str(target), [b"new ", b"bytes"])
    assert target.read_bytes() == b"new bytes"
    assert target.stat().st_ino != inode
    assert os.listdir(tmp_path) == ["f.json"]


def test_an_atomic_write_syncs_its_folder_after_the_rename(
    tmp_path: Path, disk_log: list[tuple[str, str]]
) -> None:
    target = tmp_path / "state.json"
    target.write_bytes(b"old")
    atomic_write(str(target), [b"new"])
    folder = os.path.realpath(tmp_path)
    assert disk_log == [("rename", os.path.join(folder, "state.json")), ("sync", folder)]


@pytest.mark.parametrize("refusal", ["open", "fsync"])
def test_a_folder_that_refuses_to_be_synced_still_gets_its_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, refusal: str
) -> None:
    # Some file systems refuse to open a folder for writing back (EACCES) or to sync one
    # (EINVAL): the file is replaced all the same, and no descriptor is left open.
    tried: list[str] = []
    real_open, real_fsync = os.open, os.fsync

    def open_folder(path: Any, flags: int, *args: Any, **kwargs: Any) -> int:
        if os.path.isdir(path):
            tried.append("open")
            if refusal == "open":
                raise PermissionError(errno.EACCES, "Permission denied", path)
        return real_open(path, flags, *args, **kwargs)

    def sync_folder(fd: int) -> None:
        if stat.S_ISDIR(os.fstat(fd).st_mode):
            tried.append("fsync")
            if refusal == "fsync":
                raise OSError(errno.EINVAL, "Invalid argument")
        real_fsync(fd)

    monkeypatch.setattr(os, "open", open_folder)
    monkeypatch.setattr(os, "fsync", sync_folder)
    target = tmp_path / "state.json"
    open_before = len(os.listdir("/proc/self/fd"))
    atomic_write(str(target), [b"new"])
    assert target.read_bytes() == b"new"
    assert tried == (["open"] if refusal == "open" else ["open", "fsync"])
    assert len(os.listdir("/proc/self/fd")) == open_before


def test_the_agent_knows_every_temporary_name_it_writes_for_the_cleanup_at_start(
    tmp_path: Path,
) -> None:
    target = str(tmp_path / "daily.json")
    staged = stage_write(target, [b'{"rows": []}'])
    packed = Packer().compress(staged, target)
    if packed is None:
        pytest.skip("needs a gzip program")
    assert staged_for(os.path.basename(staged)) == ("daily.json", os.getpid())
    assert staged_for(os.path.basename(packed)) == ("daily.json.gz", os.getpid())


@pytest.mark.parametrize(
    "name", [".daily.json.tmp", "daily.json.12.3.tmp", ".12.3.tmp", ".a.0.1.tmp", ".a.1.x.tmp"]
)
def test_a_name_the_agent_does_not_write_is_no_temporary_of_its_own(name: str) -> None:
    assert staged_for(name) is None


@pytest.mark.parametrize(
    "url",
    ["ftp://ha/", "http://user:pw@ha/", "http:///x", "https://[::1/x", "http://ha:0/"],
)
def test_a_bad_source_url_is_refused(url: str) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - the message is checked by the CLI tests
        parse_url(url)


def test_a_source_url_is_split_for_the_client() -> None:
    url = parse_url("http://homeassistant.local:8123/api/powerstats/data")
    assert (url.scheme, url.host, url.port, url.path) == (
        "http",
        "homeassistant.local",
        8123,
        "/api/powerstats/data/",
    )
    assert parse_url("https://[fe80::1]/p/").port == 443
