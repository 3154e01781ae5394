"""The init scripts install.sh ships, run for real in a board-like root (tests/agent/board.py).

Each test boots the root (syslogd, then the service's start), kills the agent with SIGKILL and
polls until the service answers again: the supervisor (BusyBox: our loop; OpenRC: Debian's
supervise-daemon) must bring it back after the delay its installed files set (how long that
takes on a busy machine is not timed here). The agent binds a port below 1024 there as root and
must then run as the service user; it logs to syslog, which `logs` reads back.
"""

from __future__ import annotations

import os
import re
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from .board import Board, free_privileged_port, status_ids
from .conftest import TOKEN, Source, wait_until

# Where install.sh puts each supervisor's respawn delay: the installed file, and the setting.
RESPAWN_DELAY_SETTING = {
    "busybox": ("usr/lib/powerstats-agent/luckfox_agent/init/powerstats-agent-supervise", "delay"),
    "openrc": ("etc/init.d/powerstats-agent", "respawn_delay"),
}
# Only bounds a hang: the respawn's speed is not measured here.
RESPAWN_DEADLINE = 60.0


@pytest.fixture(params=["busybox", "openrc"])
def board(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Board]:
    made = Board(tmp_path, request.param)
    yield made
    made.shutdown()


def boot(board: Board, source: Source) -> None:
    """Configure the root for `source` on a port below 1024 and start its service."""
    port = free_privileged_port()
    configure(board, source, port)
    board.boot(port)


def configure(board: Board, source: Source, port: int) -> None:
    conf = board.root / "etc/powerstats-agent.conf"
    conf.write_text(
        f"[source]\nurl = {source.url}\ntoken = {TOKEN}\ninterval = 3600\ntimeout = 5\n"
        f"[server]\nhost = 127.0.0.1\nport = {port}\n"
    )
    board.give(board.root / "var/lib/powerstats-agent")


def respawn_delays(board: Board) -> list[int]:
    """Every value the board's installed supervisor sets its respawn delay (seconds) to."""
    path, setting = RESPAWN_DELAY_SETTING[board.init]
    text = (board.root / path).read_text()
    return [int(value) for value in re.findall(rf"^\s*{setting}=(\d+)\s*$", text, re.MULTILINE)]


def test_a_killed_agent_is_started_again_after_its_configured_delay_as_the_service_user(
    board: Board, source: Source
) -> None:
    # 2 s, as systemd's RestartSec: soon, without spinning (the BusyBox loop also sets it back
    # to 2 s after a run that lasted, doubling it only while the agent keeps failing at once).
    delays = respawn_delays(board)
    assert delays, "no respawn delay in the installed supervisor"
    assert set(delays) == {2}
    boot(board, source)
    [pid] = wait_until(board.agent_pids, what="one agent process")
    assert status_ids(pid) == board.user_ids(), "serves as powerstats after binding as root"

    os.kill(pid, signal.SIGKILL)
    wait_until(lambda: pid not in board.agent_pids(), what="the killed agent to be gone")
    wait_until(
        lambda: board.agent_pids() and board.answers(),
        RESPAWN_DEADLINE,
        "the supervisor to serve again",
    )
    [again] = board.agent_pids()
    assert again != pid
    assert status_ids(again) == board.user_ids()


def test_the_agent_logs_to_syslog_and_logs_prints_its_recent_lines(
    board: Board, source: Source
) -> None:
    boot(board, source)
    wait_until(lambda: "serving on http://127.0.0.1" in board.log(), what="the start in syslog")
    wait_until(lambda: "mirror" in board.log() or source.gets(), what="a first poll")

    shown = board.run("/usr/bin/powerstats-agent", "logs", "--lines=5")
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert 1 <= len(lines) <= 5
    assert all("powerstats-agent" in line for line in lines)
    assert TOKEN not in board.log()


def test_stop_ends_the_supervisor_and_the_agent(board: Board, source: Source) -> None:
    boot(board, source)
    wait_until(board.agent_pids, what="the agent")
    stopped = board.run(board.service, "stop")
    assert stopped.returncode == 0, stopped.stdout + stopped.stderr
    wait_until(lambda: not board.agent_pids(), what="the agent to stop")
    assert not board.answers()


def test_the_systemd_unit_restarts_a_killed_agent_soon_and_grants_only_the_bind_capability(
    tmp_path: Path,
) -> None:
    """systemd cannot run in this sandbox: the unit install.sh renders is checked instead."""
    import shutil
    import subprocess

    from .conftest import ROOT

    root = tmp_path / "root"
    env = {**os.environ, "DESTDIR": str(root), "INIT": "systemd", "PYTHON": "/usr/bin/python3"}
    subprocess.run(
        ["sh", str(ROOT / "luckfox_agent/install.sh")], env=env, check=True, capture_output=True
    )
    unit = root / "etc/systemd/system/powerstats-agent.service"
    settings: dict[str, str] = {}
    for line in unit.read_text().splitlines():
        key, equals, value = line.partition("=")
        if equals and not line.startswith("#"):
            settings[key] = value
    # on-failure covers death by a signal (kill -9) as well as a crash.
    assert settings["Restart"] in ("on-failure", "always", "on-abnormal")
    assert float(settings["RestartSec"]) <= 5
    assert "SIGKILL" not in settings.get("RestartPreventExitStatus", "")
    assert settings["User"] == "powerstats"
    assert settings["AmbientCapabilities"] == "CAP_NET_BIND_SERVICE"
    assert settings["CapabilityBoundingSet"] == "CAP_NET_BIND_SERVICE"
    assert "--user" not in settings["ExecStart"], "systemd starts it as its user already"
    if shutil.which("systemd-analyze"):
        checked = subprocess.run(
            ["systemd-analyze", "verify", "--man=no", str(unit)],
            capture_output=True,
            text=True,
            timeout=60,
        )
        problems = [
            line
            for line in checked.stderr.splitlines()
            if "powerstats-agent.service" in line and "/usr/bin/python3" not in line
        ]
        assert not problems, checked.stderr
