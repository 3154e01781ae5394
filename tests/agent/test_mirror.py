"""The mirror, driven through the real agent's `mirror-once` command against a loopback source."""

from __future__ import annotations

import hashlib
import json
import resource
from pathlib import Path

from .conftest import Source, level_file, run_agent, write_config


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
    big = level_file("house", "yearly", rows=3000, seed=4.0)
    assert len(big) > 64 * 1024
    source.data.files["house/yearly.json"] = big

    def small_disk() -> None:  # writes past 64 KiB fail with EFBIG, as on a full flash
        resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 1024, 64 * 1024))

    result = run_agent(agent_python, config, "mirror-once", preexec=small_disk)
    assert result.returncode == 1
    assert "cannot write house/yearly.json" in result.stderr
    assert snapshot(tmp_path / "webroot") == before
    assert not list((tmp_path / "webroot").rglob(".*")), "a temporary file was left behind"


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
