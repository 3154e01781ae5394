"""The mirror, driven through the real agent's `mirror-once` command against a loopback source."""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import json
import os
import resource
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from luckfox_agent.config import load
from luckfox_agent.mirror import Mirror, MirrorLoop
from luckfox_agent.status import collect

from .conftest import TOKEN, Source, level_file, run_agent, write_config


def snapshot(root: Path) -> dict[str, tuple[int, int, bytes]]:
    """Every file under `root`: (inode, mtime_ns, bytes) - a write changes one of them."""
    return {
        str(p.relative_to(root)): (p.stat().st_ino, p.stat().st_mtime_ns, p.read_bytes())
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def mirrored(tmp_path: Path, source: Source, agent_python: str, **overrides: object) -> Path:
    config = write_config(tmp_path, source, **overrides)
    result = run_agent(agent_python, config, "mirror-once")
    assert result.returncode == 0, result.stderr
    return config


def test_first_mirror_copies_the_manifest_and_every_listed_file(
    tmp_path: Path, source: Source, agent_python: str
) -> None:
    config = write_config(tmp_path, source)
    result = run_agent(agent_python, config, "mirror-once")
    assert result.returncode == 0, result.stderr
    assert "mirror: updated" in result.stdout
    webroot = tmp_path / "webroot"
    assert (webroot / "manifest.json").read_bytes() == source.data.manifest()
    for path, body in source.data.files.items():
        assert (webroot / path).read_bytes() == body
    assert sorted(h.path[len(source.prefix) :] for h in source.gets()) == sorted(
        ["manifest.json", *source.data.files]
    )


def test_mirror_from_a_static_pages_site_needs_no_token(
    tmp_path: Path, static_source: Source, agent_python: str
) -> None:
    mirrored(tmp_path, static_source, agent_python)
    assert all("Authorization" not in h.headers for h in static_source.gets())
    assert (tmp_path / "webroot" / "house" / "yearly.json").exists()


def test_unchanged_poll_is_one_conditional_request_and_writes_nothing(
    tmp_path: Path, source: Source, agent_python: str
) -> None:
    config = mirrored(tmp_path, source, agent_python)
    before = snapshot(tmp_path)
    source.clear()
    result = run_agent(agent_python, config, "mirror-once")
    assert result.returncode == 0, result.stderr
    assert "mirror: unchanged" in result.stdout
    hits = source.gets()
    assert len(hits) == 1
    assert hits[0].path.endswith("/manifest.json")
    assert "If-None-Match" in hits[0].headers
    assert hits[0].status == 304
    assert snapshot(tmp_path) == before


def test_a_changed_file_is_the_only_file_fetched(
    tmp_path: Path, source: Source, agent_python: str
) -> None:
    config = mirrored(tmp_path, source, agent_python)
    before = snapshot(tmp_path / "webroot")
    new_daily = level_file("house", "daily", rows=20, seed=2.0)
    source.data.files["house/daily.json"] = new_daily
    source.clear()
    result = run_agent(agent_python, config, "mirror-once")
    assert result.returncode == 0, result.stderr
    fetched = [h.path[len(source.prefix) :] for h in source.gets()]
    assert fetched == ["manifest.json", "house/daily.json"]
    after = snapshot(tmp_path / "webroot")
    assert after["house/daily.json"][2] == new_daily
    for level in ("weekly", "monthly", "yearly"):
        assert after[f"house/{level}.json"] == before[f"house/{level}.json"]


def assert_old_copy_stays(tmp_path: Path, source: Source, agent_python: str, fault: str) -> None:
    config = mirrored(tmp_path, source, agent_python)
    before = snapshot(tmp_path / "webroot")
    source.data.files["house/daily.json"] = level_file("house", "daily", rows=30, seed=3.0)
    source.faults["house/daily.json"] = fault
    result = run_agent(agent_python, config, "mirror-once")
    assert result.returncode == 1
    assert "keeping the last good copy" in result.stderr
    assert snapshot(tmp_path / "webroot") == before


def test_a_hash_mismatch_keeps_the_old_copy(
    tmp_path: Path, source: Source, agent_python: str
) -> None:
    assert_old_copy_stays(tmp_path, source, agent_python, "garbage")


def test_a_truncated_body_keeps_the_old_copy(
    tmp_path: Path, source: Source, agent_python: str
) -> None:
    assert_old_copy_stays(tmp_path, source, agent_python, "truncate")


def test_a_server_error_keeps_the_old_copy(
    tmp_path: Path, source: Source, agent_python: str
) -> None:
    assert_old_copy_stays(tmp_path, source, agent_python, "500")


def test_a_timeout_keeps_the_old_copy(tmp_path: Path, source: Source, agent_python: str) -> None:
    assert_old_copy_stays(tmp_path, source, agent_python, "timeout")


def test_invalid_json_with_a_matching_hash_keeps_the_old_copy(
    tmp_path: Path, source: Source, agent_python: str
) -> None:
    config = mirrored(tmp_path, source, agent_python)
    before = snapshot(tmp_path / "webroot")
    source.data.files["house/daily.json"] = b'{"format": "powerstats/1", "rows": [1, 2'
    result = run_agent(agent_python, config, "mirror-once")
    assert result.returncode == 1
    assert "house/daily.json is not valid JSON" in result.stderr
    assert snapshot(tmp_path / "webroot") == before


def test_a_file_breaking_the_contract_keeps_the_old_copy(
    tmp_path: Path, source: Source, agent_python: str
) -> None:
    config = mirrored(tmp_path, source, agent_python)
    before = snapshot(tmp_path / "webroot")
    doc = json.loads(level_file("house", "daily", rows=3))
    doc["rows"][2][0] = doc["rows"][0][0]  # rows must be strictly increasing by start
    source.data.files["house/daily.json"] = json.dumps(doc).encode()
    result = run_agent(agent_python, config, "mirror-once")
    assert result.returncode == 1
    assert "not after the previous row" in result.stderr
    assert snapshot(tmp_path / "webroot") == before


def test_an_unknown_format_version_is_refused_with_a_clear_message(
    tmp_path: Path, source: Source, agent_python: str
) -> None:
    config = mirrored(tmp_path, source, agent_python)
    before = snapshot(tmp_path / "webroot")
    doc = json.loads(source.data.manifest())
    doc["format"] = "powerstats/2"
    source.data.manifest_override = json.dumps(doc).encode()
    result = run_agent(agent_python, config, "mirror-once")
    assert result.returncode == 1
    assert "understands powerstats/1" in result.stderr
    assert snapshot(tmp_path / "webroot") == before


def test_a_full_disk_keeps_the_old_copy(tmp_path: Path, source: Source, agent_python: str) -> None:
    config = mirrored(tmp_path, source, agent_python)
    before = snapshot(tmp_path / "webroot")
    big = level_file("house", "yearly", rows=1000, seed=4.0)
    assert len(big) > 32 * 1024
    source.data.files["house/yearly.json"] = big

    def small_disk() -> None:  # writes past 32 KiB fail with EFBIG, as on a full flash
        resource.setrlimit(resource.RLIMIT_FSIZE, (32 * 1024, 32 * 1024))

    result = run_agent(agent_python, config, "mirror-once", preexec=small_disk)
    assert result.returncode == 1
    assert "cannot write house/yearly.json" in result.stderr
    assert snapshot(tmp_path / "webroot") == before
    assert not list((tmp_path / "webroot").rglob(".*")), "a temporary file was left behind"


def assert_changes_still_arrive(tmp_path: Path, source: Source, agent_python: str) -> None:
    """Two changes at the source, each mirrored by a new run; then an idle run is a 304."""
    config = tmp_path / "agent.conf"
    for rows in (20, 30):
        new_daily = level_file("house", "daily", rows=rows, seed=float(rows))
        source.data.files["house/daily.json"] = new_daily
        result = run_agent(agent_python, config, "mirror-once")
        assert result.returncode == 0, result.stderr
        assert "mirror: updated" in result.stdout
        assert (tmp_path / "webroot" / "house" / "daily.json").read_bytes() == new_daily
    source.clear()
    result = run_agent(agent_python, config, "mirror-once")
    assert "mirror: unchanged" in result.stdout
    assert [hit.status for hit in source.gets()] == [304], "conditional polls came back"


def test_a_bare_lf_in_an_etag_ends_its_line_and_later_changes_still_arrive(
    tmp_path: Path, source: Source, agent_python: str
) -> None:
    source.next_manifest_etag = '"v1\nX"'
    mirrored(tmp_path, source, agent_python)
    # RFC 9112 section 2.2: the LF ends the ETag's line; `X"` after it is no header field.
    assert json.loads((tmp_path / "state" / "state.json").read_text())["etag"] == '"v1'
    assert_changes_still_arrive(tmp_path, source, agent_python)


def test_a_bare_cr_in_an_etag_fails_the_poll_and_later_changes_still_arrive(
    tmp_path: Path, source: Source, agent_python: str
) -> None:
    source.next_manifest_etag = '"v1\rX"'
    config = write_config(tmp_path, source)
    result = run_agent(agent_python, config, "mirror-once")
    assert result.returncode == 1
    assert "malformed response header: a CR not followed by LF" in result.stderr
    assert not (tmp_path / "webroot" / "manifest.json").exists()
    assert_changes_still_arrive(tmp_path, source, agent_python)


def test_an_etag_with_a_line_break_saved_by_an_older_agent_is_dropped_at_start(
    tmp_path: Path, source: Source, agent_python: str
) -> None:
    mirrored(tmp_path, source, agent_python)
    state_file = tmp_path / "state" / "state.json"
    state = json.loads(state_file.read_text())
    state["etag"] = '"v1\nX"'  # what an agent before the fix kept, failing every poll since
    state_file.write_text(json.dumps(state))
    assert_changes_still_arrive(tmp_path, source, agent_python)


def test_a_file_lost_from_the_flash_is_fetched_again_at_start(
    tmp_path: Path, source: Source, agent_python: str
) -> None:
    config = mirrored(tmp_path, source, agent_python)
    daily = tmp_path / "webroot" / "house" / "daily.json"
    daily.write_bytes(b"damaged")
    source.clear()
    result = run_agent(agent_python, config, "mirror-once")
    assert result.returncode == 0, result.stderr
    assert daily.read_bytes() == source.data.files["house/daily.json"]
    fetched = [h.path[len(source.prefix) :] for h in source.gets()]
    assert fetched == ["manifest.json", "house/daily.json"]


def test_a_meter_removed_from_the_manifest_is_no_longer_kept(
    tmp_path: Path, source: Source, agent_python: str
) -> None:
    source.data.files.update(
        {f"garage/{lv}.json": level_file("garage", lv) for lv in ("daily", "yearly")}
    )
    config = mirrored(tmp_path, source, agent_python)
    assert (tmp_path / "webroot" / "garage" / "daily.json").exists()
    for level in ("daily", "yearly"):
        del source.data.files[f"garage/{level}.json"]
    result = run_agent(agent_python, config, "mirror-once")
    assert result.returncode == 0, result.stderr
    assert not (tmp_path / "webroot" / "garage").exists()


def test_a_wrong_token_is_reported_without_showing_it(
    tmp_path: Path, source: Source, agent_python: str
) -> None:
    config = write_config(tmp_path, source, **{"source.token": "wrong-token-value-123"})
    result = run_agent(agent_python, config, "mirror-once")
    assert result.returncode == 1
    assert "refused the token" in result.stderr
    assert "wrong-token-value-123" not in result.stderr + result.stdout


def test_a_token_http_cannot_carry_fails_the_poll_like_any_failure_without_showing_it(
    tmp_path: Path, source: Source
) -> None:
    # The config refuses such a token when it is read; one that comes another way must still
    # fail the poll as a counted, backed-off, shown failure, not an error nobody handles.
    config = load(str(write_config(tmp_path, source)))
    config.source_token = f"{TOKEN}\N{ZERO WIDTH SPACE}"
    mirror = Mirror(config)
    assert mirror.poll() == "failed"
    assert mirror.status.failures == 1
    assert mirror.status.last_error == (
        "manifest.json: cannot send header Authorization: it holds the character U+200B"
    )
    assert source.hits == []


def test_the_files_reach_the_disk_before_the_manifest_that_lists_them(
    tmp_path: Path, source: Source, disk_log: list[tuple[str, str]]
) -> None:
    # After a power cut the card may keep a rename whose folder was never synced, or lose it:
    # a manifest kept there must never list files the card lost.
    mirror = Mirror(load(str(write_config(tmp_path, source))))
    assert mirror.poll() == "updated"
    webroot = os.path.realpath(tmp_path / "webroot")
    house = os.path.join(webroot, "house")
    manifest = disk_log.index(("rename", os.path.join(webroot, "manifest.json")))
    files = [
        i for i, (kind, path) in enumerate(disk_log) if kind == "rename" and path.startswith(house)
    ]
    assert files, disk_log
    assert max(files) < manifest
    assert ("sync", house) in disk_log[max(files) : manifest]
    assert ("sync", webroot) in disk_log[manifest:]


def test_the_manifest_is_swapped_in_only_after_its_files(
    tmp_path: Path, source: Source, agent_python: str
) -> None:
    config = mirrored(tmp_path, source, agent_python)
    source.data.files["house/weekly.json"] = level_file("house", "weekly", rows=5, seed=9.0)
    source.faults["house/weekly.json"] = "500"
    run_agent(agent_python, config, "mirror-once")
    manifest = json.loads((tmp_path / "webroot" / "manifest.json").read_bytes())
    for entry in manifest["meters"][0]["files"].values():
        body = (tmp_path / "webroot" / entry["path"]).read_bytes()
        assert hashlib.sha256(body).hexdigest() == entry["sha256"]


def test_an_https_source_is_verified_and_a_self_signed_one_trusted_through_ca_file(
    tmp_path: Path, https_source: Source, agent_python: str, tls_files: tuple[Path, Path]
) -> None:
    untrusted = write_config(tmp_path, https_source)
    refused = run_agent(agent_python, untrusted, "mirror-once")
    assert refused.returncode == 1
    assert "TLS handshake" in refused.stderr
    assert not (tmp_path / "webroot" / "manifest.json").exists()
    trusted = write_config(tmp_path, https_source, **{"source.ca_file": tls_files[0]})
    result = run_agent(agent_python, trusted, "mirror-once")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "webroot" / "house" / "daily.json").exists()


@pytest.fixture
def dripping_tls_peer() -> Iterator[str]:
    """An https URL whose peer takes the ClientHello, then answers a byte every 0.25 s for an
    hour: every read gets something, so only a deadline on the whole handshake ends it."""
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def drip() -> None:
        try:
            conn, _ = listener.accept()
            with conn:
                conn.recv(65536)
                server_hello = b"\x16\x03\x03\x40\x00\x02" + bytes(16000)  # a 16 KiB record
                for byte in server_hello:
                    if stop.wait(0.25):
                        return
                    conn.sendall(bytes([byte]))
        except OSError:  # the agent hung up, or the test ended before it connected
            return

    thread = threading.Thread(target=drip, daemon=True)
    thread.start()
    yield f"https://127.0.0.1:{listener.getsockname()[1]}/powerstats/"
    stop.set()
    with contextlib.suppress(OSError):
        listener.shutdown(socket.SHUT_RDWR)  # wakes an accept still waiting
    listener.close()
    thread.join(5)


def test_a_tls_handshake_dripped_a_byte_at_a_time_fails_at_the_source_timeout(
    tmp_path: Path, static_source: Source, agent_python: str, dripping_tls_peer: str
) -> None:
    config = write_config(tmp_path, static_source, **{"source.url": dripping_tls_peer})
    # [source] timeout is 2 s; the generous bound only keeps a hang from stalling the suite.
    result = run_agent(agent_python, config, "mirror-once", timeout=30)
    assert result.returncode == 1
    assert "TLS handshake with 127.0.0.1 timed out" in result.stderr


def test_a_ca_file_that_is_not_there_fails_the_poll_saying_so(
    tmp_path: Path, static_source: Source, agent_python: str, dripping_tls_peer: str
) -> None:
    missing = tmp_path / "ha-ca.pem"
    config = write_config(
        tmp_path, static_source, **{"source.url": dripping_tls_peer, "source.ca_file": str(missing)}
    )
    result = run_agent(agent_python, config, "mirror-once", timeout=30)
    assert result.returncode == 1
    assert f"cannot use the CA file {missing}: No such file or directory" in result.stderr
    assert "Traceback" not in result.stderr


def test_the_token_is_never_sent_to_a_source_that_is_not_the_ha_data_view(
    tmp_path: Path, static_source: Source, agent_python: str
) -> None:
    mirrored(tmp_path, static_source, agent_python, **{"source.token": "leaked-if-sent-0123"})
    assert static_source.gets("manifest.json")
    assert all("Authorization" not in hit.headers for hit in static_source.gets())


def refuses_and_keeps_the_last_good_copy(
    tmp_path: Path, source: Source, agent_python: str, config: Path, message: str
) -> str:
    before = snapshot(tmp_path / "webroot")
    result = run_agent(agent_python, config, "mirror-once")
    assert result.returncode == 1
    assert message in result.stderr
    assert snapshot(tmp_path / "webroot") == before
    return result.stderr


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity", "1e999"])
def test_nan_or_infinity_in_a_level_file_keeps_the_last_good_copy(
    tmp_path: Path, source: Source, agent_python: str, constant: str
) -> None:
    config = mirrored(tmp_path, source, agent_python)
    good = level_file("house", "daily", rows=3).decode()
    source.data.files["house/daily.json"] = good.replace("3120.0", constant, 1).encode()
    refuses_and_keeps_the_last_good_copy(
        tmp_path, source, agent_python, config, f"house/daily.json holds {constant},"
    )


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_nan_or_infinity_in_the_manifest_keeps_the_last_good_copy(
    tmp_path: Path, source: Source, agent_python: str, constant: str
) -> None:
    config = mirrored(tmp_path, source, agent_python)
    text = source.data.manifest().decode()
    source.data.manifest_override = text.replace(
        '"currency": "EUR"', f'"price": {constant}'
    ).encode()
    refuses_and_keeps_the_last_good_copy(
        tmp_path, source, agent_python, config, f"manifest.json holds {constant},"
    )


def test_a_huge_error_text_is_stored_cut_to_a_few_hundred_characters(
    tmp_path: Path, source: Source, agent_python: str
) -> None:
    config = mirrored(tmp_path, source, agent_python)
    doc = json.loads(source.data.manifest())
    doc["format"] = "x" * 200_000  # the message quotes the format it found
    source.data.manifest_override = json.dumps(doc).encode()
    stderr = refuses_and_keeps_the_last_good_copy(
        tmp_path, source, agent_python, config, "manifest.json has format 'xxx"
    )
    assert len(stderr) < 1000, "the log line is bounded too"
    state = json.loads((tmp_path / "state" / "state.json").read_text())
    assert state["last_error"].startswith("manifest.json has format 'xxx")
    assert len(state["last_error"]) <= 300
    assert (tmp_path / "state" / "state.json").stat().st_size < 2000


def format_echoing_the_token(source: Source) -> bytes:
    """A manifest whose format (which the refusal quotes) holds the token across the 300th
    character of the message, where the stored error is cut."""
    doc = json.loads(source.data.manifest())
    quoted_from = len("manifest.json has format '")
    doc["format"] = "x" * (285 - quoted_from) + TOKEN + "x" * 200
    return json.dumps(doc).encode()


def assert_no_part_of_the_token_in(text: str) -> None:
    assert TOKEN[:8] not in text
    assert TOKEN[-8:] not in text


def test_an_error_holding_the_token_across_the_cut_never_shows_any_of_it(
    tmp_path: Path, source: Source, agent_python: str
) -> None:
    config = mirrored(tmp_path, source, agent_python)
    source.data.manifest_override = format_echoing_the_token(source)
    stderr = refuses_and_keeps_the_last_good_copy(
        tmp_path, source, agent_python, config, "manifest.json has format 'xxx"
    )
    assert_no_part_of_the_token_in(stderr)
    state = (tmp_path / "state" / "state.json").read_text()
    assert_no_part_of_the_token_in(state)
    assert "[redacted]" in json.loads(state)["last_error"]
    assert len(json.loads(state)["last_error"]) <= 300
    shown = run_agent(agent_python, config, "status")
    assert "last error:     manifest.json has format 'xxx" in shown.stdout
    assert_no_part_of_the_token_in(shown.stdout + shown.stderr)


def test_a_token_in_an_error_an_older_agent_saved_is_never_shown(
    tmp_path: Path, source: Source, agent_python: str
) -> None:
    config = mirrored(tmp_path, source, agent_python)
    older = {"last_error": f"manifest.json: the source answered {TOKEN}", "last_error_at": 1.0}
    (tmp_path / "state" / "state.json").write_text(json.dumps(older))
    shown = run_agent(agent_python, config, "status", "--json")
    assert json.loads(shown.stdout)["last_error"] == "manifest.json: the source answered [redacted]"
    assert_no_part_of_the_token_in(shown.stdout + shown.stderr)


def nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


@pytest.mark.parametrize(
    ("where", "body", "message"),
    [
        ("manifest", nested(100_000), "manifest.json holds more than"),
        ("manifest", b'{"a":' * 20 + b"1" + b"}" * 20, "manifest.json is nested deeper than 8"),
        ("level", nested(50_000), "house/daily.json holds more than"),
        ("level", b"[" + b"[]," * 80_000 + b"[]]", "house/daily.json holds more than"),
        ("level", b'["' + b'ab","' * 40_000 + b'"]', "house/daily.json holds more than"),
    ],
    ids=["deep-manifest", "nested-objects", "deep-level-file", "many-arrays", "many-strings"],
)
def test_hostile_json_shapes_are_refused_before_parsing(
    tmp_path: Path, source: Source, agent_python: str, where: str, body: bytes, message: str
) -> None:
    config = mirrored(tmp_path, source, agent_python)
    if where == "manifest":
        source.data.manifest_override = body
    else:
        source.data.files["house/daily.json"] = body  # the manifest vouches for it (sha256)
    refuses_and_keeps_the_last_good_copy(tmp_path, source, agent_python, config, message)


def test_a_file_over_the_size_cap_is_not_even_fetched(
    tmp_path: Path, source: Source, agent_python: str
) -> None:
    config = mirrored(tmp_path, source, agent_python)
    source.data.files["house/yearly.json"] = b"[" + b"[]," * 1_400_000 + b"[]]"  # 4 MB
    source.clear()
    refuses_and_keeps_the_last_good_copy(
        tmp_path, source, agent_python, config, "over [source] max_file_bytes"
    )
    assert not source.gets("house/yearly.json")


def test_a_manifest_listing_too_many_meters_is_refused(
    tmp_path: Path, source: Source, agent_python: str
) -> None:
    config = mirrored(tmp_path, source, agent_python)
    doc = json.loads(source.data.manifest())
    doc["meters"] = [dict(doc["meters"][0], id=f"m{n}", files={}) for n in range(257)]
    source.data.manifest_override = json.dumps(doc).encode()
    refuses_and_keeps_the_last_good_copy(
        tmp_path, source, agent_python, config, "manifest.json lists more than 256 meters"
    )


def siblings(webroot: Path) -> dict[str, bytes]:
    """The gzip siblings in the web root, decompressed: sibling path -> the bytes it holds."""
    return {
        str(p.relative_to(webroot)): gzip.decompress(p.read_bytes())
        for p in sorted(webroot.rglob("*.gz"))
    }


def test_each_mirrored_file_gets_a_gzip_sibling_named_after_its_bytes(
    tmp_path: Path, source: Source, agent_python: str
) -> None:
    mirrored(tmp_path, source, agent_python)
    webroot = tmp_path / "webroot"
    expected = {"manifest.json": source.data.manifest(), **source.data.files}
    assert siblings(webroot) == {
        f"{path}.{hashlib.sha256(body).hexdigest()}.gz": body for path, body in expected.items()
    }


def test_a_changed_file_gets_a_new_sibling_and_its_old_one_goes(
    tmp_path: Path, source: Source, agent_python: str
) -> None:
    config = mirrored(tmp_path, source, agent_python)
    webroot = tmp_path / "webroot"
    weekly_before = {k: v for k, v in snapshot(webroot).items() if k.startswith("house/weekly")}
    new_daily = level_file("house", "daily", rows=20, seed=2.0)
    source.data.files["house/daily.json"] = new_daily
    result = run_agent(agent_python, config, "mirror-once")
    assert result.returncode == 0, result.stderr
    found = siblings(webroot)
    assert [v for k, v in found.items() if k.startswith("house/daily.json.")] == [new_daily]
    assert [v for k, v in found.items() if k.startswith("manifest.json.")] == [
        source.data.manifest()
    ]
    weekly_after = {k: v for k, v in snapshot(webroot).items() if k.startswith("house/weekly")}
    assert weekly_after == weekly_before, "an unchanged file and its sibling are not rewritten"


def without_gzip(tmp_path: Path) -> dict[str, str]:
    """The agent's environment with a PATH where no program (gzip above all) is found."""
    empty = tmp_path / "no-programs"
    empty.mkdir(exist_ok=True)
    return {"PATH": str(empty)}


def test_without_a_gzip_program_the_mirror_works_and_keeps_no_siblings(
    tmp_path: Path, source: Source, agent_python: str
) -> None:
    config = write_config(tmp_path, source)
    result = run_agent(agent_python, config, "mirror-once", env=without_gzip(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "no gzip program found" in result.stderr
    for path, body in source.data.files.items():
        assert (tmp_path / "webroot" / path).read_bytes() == body
    assert siblings(tmp_path / "webroot") == {}
    assert not list((tmp_path / "webroot").rglob(".*")), "a temporary file was left behind"


def test_files_mirrored_without_gzip_get_their_siblings_once_it_is_there(
    tmp_path: Path, source: Source, agent_python: str
) -> None:
    config = write_config(tmp_path, source)
    first = run_agent(agent_python, config, "mirror-once", env=without_gzip(tmp_path))
    assert first.returncode == 0, first.stderr
    source.data.files["house/daily.json"] = level_file("house", "daily", rows=20, seed=2.0)
    result = run_agent(agent_python, config, "mirror-once")
    assert result.returncode == 0, result.stderr
    expected = {"manifest.json": source.data.manifest(), **source.data.files}
    assert sorted(siblings(tmp_path / "webroot").values()) == sorted(expected.values())


def test_an_unexpected_error_in_a_poll_is_counted_and_shown_like_any_failure(
    tmp_path: Path, source: Source, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A bug must back off and show on /admin, not only log at every poll.
    mirror = Mirror(load(str(write_config(tmp_path, source))))
    polled = mirror._poll

    def buggy() -> bool:
        raise KeyError("meters")

    monkeypatch.setattr(mirror, "_poll", buggy)
    assert mirror.poll() == "failed"
    assert mirror.poll() == "failed"
    assert mirror.status.failures == 2
    assert mirror.status.last_error == "unexpected error, please report it: KeyError: 'meters'"

    monkeypatch.setattr(mirror, "_poll", polled)
    assert mirror.poll() == "updated"
    assert mirror.status.failures == 0
    assert not mirror.status.last_error


def test_next_poll_in_is_the_interval_when_ntp_sets_the_wall_clock_after_boot(
    tmp_path: Path, source: Source, monkeypatch: pytest.MonkeyPatch
) -> None:
    # No clock battery: the board polls first at 1970 and NTP then moves the wall clock by
    # decades. The wait itself is on the monotonic clock; what /admin shows must be too.
    config = load(str(write_config(tmp_path, source)))  # interval 3600
    mirror = Mirror(config, clock=lambda: 0.0)
    loop = MirrorLoop(mirror)
    polled = mirror.poll

    def poll_once() -> str:
        loop.stop()
        return polled()

    monkeypatch.setattr(mirror, "poll", poll_once)
    loop.run()
    assert mirror.status.last_success == 0.0, "the poll ran on the boot-time wall clock"
    now = time.time()  # after NTP
    shown = collect(config, mirror.status, now)["next_poll_in_seconds"]
    assert 3590 <= shown <= 3600
