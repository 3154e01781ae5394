"""The `serve` daemon over time: source outages, back-off, recovery, signals, flash wear."""

from __future__ import annotations

import itertools
import json
import os
import re
import signal
import subprocess
from collections.abc import Callable
from pathlib import Path

from .conftest import Agent, Source, level_file, run_agent, wait_until, write_config
from .test_mirror import snapshot


def test_a_source_outage_keeps_serving_backs_off_and_recovers(
    tmp_path: Path, source: Source, agent_python: str, start_agent: Callable[..., Agent]
) -> None:
    config = write_config(
        tmp_path, source, **{"source.interval": "0.1", "source.max_backoff": "0.8"}
    )
    assert run_agent(agent_python, config, "mirror-once").returncode == 0
    old_daily = source.data.files["house/daily.json"]
    agent = start_agent(config)
    wait_until(lambda: len(source.gets("manifest.json")) >= 2, what="two polls")

    source.down = True
    source.clear()
    hits = wait_until(
        lambda: (h := source.gets("manifest.json")) and len(h) >= 6 and h, 30, "six failed polls"
    )
    gaps = [later.at - earlier.at for earlier, later in itertools.pairwise(hits)]
    for index, gap in enumerate(gaps[:5]):
        expected = min(0.1 * 2 ** (index + 1), 0.8)
        assert gap >= 0.9 * expected, f"poll {index + 1} came after {gap:.2f} s, not {expected}"
    assert agent.request("GET", "/house/daily.json").body == old_daily
    assert agent.request("GET", "/").status == 200
    assert agent.log.count("mirror failed, keeping the last good copy") == 1, "bounded logs"

    new_daily = level_file("house", "daily", rows=9, seed=6.0)
    source.data.files["house/daily.json"] = new_daily
    source.down = False
    wait_until(lambda: agent.request("GET", "/house/daily.json").body == new_daily, 15, "recovery")
    agent.wait_for_log("source is reachable again")


def test_an_agent_without_data_or_source_still_serves_the_dashboard(
    tmp_path: Path, source: Source, start_agent: Callable[..., Agent]
) -> None:
    source.down = True
    agent = start_agent(write_config(tmp_path, source))
    wait_until(lambda: source.gets("manifest.json"), what="the first poll")
    assert agent.request("GET", "/").status == 200
    assert agent.request("GET", "/manifest.json").status == 404


def test_idle_polls_write_nothing_to_flash(
    tmp_path: Path, source: Source, agent_python: str, start_agent: Callable[..., Agent]
) -> None:
    config = write_config(tmp_path, source, **{"source.interval": "0.05"})
    assert run_agent(agent_python, config, "mirror-once").returncode == 0
    agent = start_agent(config)
    wait_until(lambda: len(source.gets("manifest.json")) >= 2, what="a first idle poll")
    before = snapshot(tmp_path / "webroot") | snapshot(tmp_path / "state")
    source.clear()
    wait_until(lambda: len(source.gets("manifest.json")) >= 20, 30, "twenty idle polls")
    assert all(hit.status == 304 for hit in source.gets())
    after = snapshot(tmp_path / "webroot") | snapshot(tmp_path / "state")
    assert after == before
    assert agent.proc.poll() is None


def test_sigusr1_polls_now_sighup_reloads_and_sigterm_stops_cleanly(
    tmp_path: Path, source: Source, agent_python: str, start_agent: Callable[..., Agent]
) -> None:
    config = write_config(tmp_path, source)  # interval 3600: only a signal makes it poll
    agent = start_agent(config)
    wait_until(lambda: len(source.gets("manifest.json")) == 1, what="the first poll")
    source.data.files["house/daily.json"] = new_daily = level_file("house", "daily", rows=3)
    agent.signal(signal.SIGUSR1)
    daily = tmp_path / "webroot" / "house" / "daily.json"
    wait_until(lambda: daily.exists() and daily.read_bytes() == new_daily, what="the poll")

    (tmp_path / "dashboard" / "extra.js").write_text("// added after start\n")
    assert agent.request("GET", "/extra.js").status == 404
    seen = len(agent.lines)
    agent.signal(signal.SIGHUP)
    agent.wait_for_log("configuration reloaded", start=seen)
    assert agent.request("GET", "/extra.js").status == 200

    assert agent.stop() == 0
    assert "stopped" in agent.lines[-1]


def test_sighup_with_a_new_web_root_mirrors_into_it_and_serves_from_it(
    tmp_path: Path, source: Source, start_agent: Callable[..., Agent]
) -> None:
    agent = start_agent(write_config(tmp_path, source))
    wait_until(lambda: agent.request("GET", "/house/daily.json").status == 200, what="a mirror")
    # Nothing changed at the source: the new root is filled all the same (the poll finds no
    # manifest there, so it asks unconditionally).
    moved = tmp_path / "moved"
    write_config(tmp_path, source, **{"paths.webroot": moved})
    seen = len(agent.lines)
    agent.signal(signal.SIGHUP)
    agent.wait_for_log("configuration reloaded", start=seen)
    daily = source.data.files["house/daily.json"]
    # The manifest goes in last, once the files it lists are in.
    wait_until((moved / "manifest.json").exists, what="the new web root filled")
    assert (moved / "house" / "daily.json").read_bytes() == daily
    assert agent.request("GET", "/house/daily.json").body == daily


def test_a_running_agent_fetches_again_a_file_changed_behind_its_back_and_only_that(
    tmp_path: Path, source: Source, start_agent: Callable[..., Agent]
) -> None:
    agent = start_agent(write_config(tmp_path, source))
    webroot = tmp_path / "webroot"
    weekly = webroot / "house" / "weekly.json"
    wait_until(lambda: len(source.gets("manifest.json")) == 1, what="the first poll")
    wait_until(lambda: agent.request("GET", "/house/weekly.json").status == 200, what="a mirror")
    weekly.write_bytes(b"damaged on the flash")
    source.data.files["house/daily.json"] = new_daily = level_file("house", "daily", rows=4)
    source.clear()
    agent.signal(signal.SIGUSR1)
    wait_until(
        lambda: weekly.read_bytes() == source.data.files["house/weekly.json"],
        what="the damaged file fetched again",
    )
    wait_until(lambda: (webroot / "house" / "daily.json").read_bytes() == new_daily, what="daily")
    fetched = sorted(h.path[len(source.prefix) :] for h in source.gets())
    assert fetched == ["house/daily.json", "house/weekly.json", "manifest.json"]


def test_temporary_files_a_killed_agent_left_are_removed_at_start_and_nothing_else(
    tmp_path: Path, source: Source, agent_python: str, start_agent: Callable[..., Agent]
) -> None:
    config = write_config(tmp_path, source)
    assert run_agent(agent_python, config, "mirror-once").returncode == 0
    gone = subprocess.Popen(["true"])  # a process that has ended, as a killed agent has
    gone.wait()
    webroot, state = tmp_path / "webroot", tmp_path / "state"
    leftovers = [
        webroot / f".manifest.json.{gone.pid}.7.tmp",
        webroot / f".manifest.json.gz.{gone.pid}.8.tmp",
        webroot / "house" / f".daily.json.{gone.pid}.3.tmp",
        webroot / "house" / f".daily.json.gz.{gone.pid}.4.tmp",
        state / f".state.json.{gone.pid}.9.tmp",
    ]
    kept = [
        webroot / ".keep",
        webroot / "house" / ".daily.json.tmp",
        webroot / "house" / f"daily.json.{gone.pid}.3.tmp",  # no leading dot
        webroot / "house" / f".notes.txt.{gone.pid}.1.tmp",  # not a file the mirror writes
        webroot / "house" / f".daily.json.{os.getpid()}.5.tmp",  # its writer still runs
        state / f".other.json.{gone.pid}.2.tmp",  # beside the state file, not the state file's
    ]
    for path in leftovers + kept:
        path.write_bytes(b"half written")
    agent = start_agent(config)  # returns once it serves
    assert [path.name for path in leftovers if path.exists()] == []
    assert [path.name for path in kept if not path.exists()] == []
    agent.wait_for_log("removed 5 temporary file")


def kb(pid: int, field: str) -> int:
    """A memory figure of a process from /proc/<pid>/status, in kB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise AssertionError(f"no {field} for pid {pid}")


HOSTILE = {
    "4 MB of empty arrays": ("house/yearly.json", b"[" + b"[]," * 1_390_000 + b"[]]"),
    "256 kB of empty arrays": ("house/daily.json", b"[" + b"[]," * 87_000 + b"[]]"),
    "256 kB of short strings": ("house/daily.json", b'["' + b'ab","' * 52_000 + b'"]'),
    "256 kB of numbers": ("house/weekly.json", b'{"rows":[' + b"1.5," * 65_000 + b"1]}"),
    "deep nesting": ("house/monthly.json", b"[" * 130_000 + b"]" * 130_000),
    "4 MB manifest": ("manifest.json", b'{"meters":[' + b"{}," * 1_400_000 + b"{}]}"),
}


def test_hostile_files_never_lift_peak_memory_above_one_and_a_half_times_idle(
    tmp_path: Path, source: Source, agent_python: str, start_agent: Callable[..., Agent]
) -> None:
    config = write_config(tmp_path, source)
    agent = start_agent(config)
    wait_until(lambda: agent.request("GET", "/house/daily.json").status == 200, what="a mirror")
    for path in ("/", "/app.js", "/manifest.json", "/house/yearly.json"):
        assert agent.request("GET", path).status == 200
    idle = kb(agent.proc.pid, "VmHWM")  # the peak so far: start, a first mirror, some requests
    good = dict(source.data.files)
    for name, (path, body) in HOSTILE.items():
        source.data.files = dict(good)
        source.data.manifest_override = None
        if path == "manifest.json":
            source.data.manifest_override = body
        else:
            source.data.files[path] = body  # listed with its true size and sha256
        mark = len(agent.lines)
        agent.signal(signal.SIGUSR1)
        agent.wait_for_log("mirror failed", 30, start=mark)
        peak = kb(agent.proc.pid, "VmHWM")
        assert peak <= 1.5 * idle, f"{name}: peak {peak} kB against {idle} kB idle"
    assert agent.request("GET", "/house/daily.json").body == good["house/daily.json"]


def test_deeply_nested_json_is_an_ordinary_mirror_failure_with_backoff(
    tmp_path: Path, source: Source, agent_python: str, start_agent: Callable[..., Agent]
) -> None:
    config = write_config(
        tmp_path, source, **{"source.interval": "100", "source.max_backoff": "10000"}
    )
    agent = start_agent(config)
    wait_until(lambda: source.gets("manifest.json"), what="the first poll")
    source.data.manifest_override = b"[" * 100_000 + b"]" * 100_000
    agent.signal(signal.SIGUSR1)
    agent.wait_for_log("mirror failed, keeping the last good copy")
    agent.signal(signal.SIGUSR1)
    agent.wait_for_log("mirror failed again")
    agent.stop()
    assert "unexpected error" not in agent.log
    state = json.loads((tmp_path / "state" / "state.json").read_text())
    assert "manifest.json holds more than" in state["last_error"]
    waits = [float(w) for w in re.findall(r"next poll in ([0-9.]+) s", agent.log)]
    assert waits[-2:] == [200.0, 400.0], "the wait doubles after each failure"
