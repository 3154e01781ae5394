"""`serve --user=NAME`: bind a port below 1024 as root, then serve as NAME for good."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from .board import BOARD_PYTHON, answers, free_privileged_port, status_ids
from .conftest import ROOT, Source, wait_until, write_config

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="binding a port below 1024 needs root")
NOBODY = 65534


@pytest.fixture
def open_dir() -> Iterator[Path]:
    """A folder every user may enter (pytest's tmp_path is root's alone)."""
    path = Path(tempfile.mkdtemp(prefix="powerstats-priv-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def start(
    config: Path, *options: str, preexec: Callable[[], object] | None = None
) -> subprocess.Popen[str]:
    # Debian's interpreter, as on a board: pyenv's lives under /root, which `nobody` cannot
    # read, and the agent imports some modules after it dropped root.
    return subprocess.Popen(
        [BOARD_PYTHON, "-m", "luckfox_agent", "--config", str(config), "serve", *options],
        stderr=subprocess.PIPE,
        text=True,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "PYTHONDONTWRITEBYTECODE": "1"},
        cwd="/",
        preexec_fn=preexec,
    )


def test_started_as_root_with_a_user_it_binds_a_low_port_and_serves_as_that_user(
    open_dir: Path, source: Source
) -> None:
    port = free_privileged_port()
    config = write_config(open_dir, source, **{"server.port": port})
    for folder in ("dashboard", "state"):
        (open_dir / folder).mkdir(exist_ok=True)
    os.chown(open_dir / "state", NOBODY, NOBODY)
    os.chown(open_dir, NOBODY, NOBODY)  # the agent creates its web root as that user
    agent = start(config, "--user=nobody")
    try:
        wait_until(
            lambda: answers(port, "/manifest.json") or agent.poll() is not None,
            20,
            "the agent to serve",
        )
        assert agent.poll() is None, agent.stderr.read() if agent.stderr else ""
        assert status_ids(agent.pid) == (NOBODY, NOBODY)
        status = Path(f"/proc/{agent.pid}/status").read_text()
        assert re.search(r"^Uid:\s+65534\s+65534\s+65534\s+65534$", status, re.M), "no way back"
        assert re.search(r"^CapEff:\s+0+$", status, re.M)
        assert (open_dir / "webroot").stat().st_uid == NOBODY
        assert (open_dir / "webroot/manifest.json").stat().st_uid == NOBODY
    finally:
        agent.terminate()
        agent.wait(20)


def test_a_low_port_without_root_is_refused_with_what_to_do(open_dir: Path, source: Source) -> None:
    port = free_privileged_port()
    config = write_config(open_dir, source, **{"server.port": port})
    config.chmod(0o644)

    def become_nobody() -> None:
        os.setgid(NOBODY)
        os.setuid(NOBODY)

    agent = start(config, preexec=become_nobody)
    _, err = agent.communicate(timeout=60)
    assert agent.returncode == 4
    assert f"cannot bind port {port}" in err
    assert "--user=powerstats" in err

    agent = start(config, "--user=root", preexec=become_nobody)
    _, err = agent.communicate(timeout=60)
    assert agent.returncode == 4
    assert "needs the agent to start as root" in err
