"""install.sh / uninstall.sh against a temporary root (DESTDIR), under dash and BusyBox ash."""

from __future__ import annotations

import gzip
import os
import shutil
import signal
import stat
import subprocess
from pathlib import Path

import pytest

from luckfox_agent import __version__

from .board import _MOUNTS as BOARD_MOUNTS
from .board import Board, free_privileged_port, status_ids
from .conftest import PASSWORD, ROOT, TOKEN, Source, wait_until

AGENT = ROOT / "luckfox_agent"
SEED = {"etc/passwd": "root:x:0:0:root:/root:/bin/sh\n", "etc/group": "root:x:0:\n"}
INIT_FILES = {
    "systemd": "etc/systemd/system/powerstats-agent.service",
    "openrc": "etc/init.d/powerstats-agent",
    "busybox": "etc/init.d/S95powerstats-agent",
}


def tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


@pytest.fixture(params=["dash", "busybox"])
def shell(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """The shell and PATH to run the scripts with: dash, or BusyBox with only its applets."""
    if request.param == "dash":
        if not shutil.which("dash"):
            pytest.skip("dash is not installed")
        return ["dash", os.environ["PATH"]]
    busybox = shutil.which("busybox")
    if busybox is None:
        pytest.skip("busybox is not installed (apt-get install busybox)")
    bindir = tmp_path_factory.mktemp("busybox-bin")
    applets = subprocess.run([busybox, "--list"], capture_output=True, text=True).stdout.split()
    for applet in applets:
        (bindir / applet).symlink_to(busybox)
    return [str(bindir / "sh"), str(bindir)]


def run(shell: list[str], script: str, root: Path, init: str, *args: str) -> str:
    env = {
        "PATH": shell[1],
        "DESTDIR": str(root),
        "INIT": init,
        "PYTHON": "/usr/bin/python3",
        "HOME": "/nonexistent",
    }
    result = subprocess.run(
        [shell[0], str(AGENT / script), *args], env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


@pytest.mark.parametrize("init", ["systemd", "openrc", "busybox"])
def test_install_then_uninstall_leaves_the_expected_files_and_then_nothing(
    tmp_path: Path, shell: list[str], init: str, newest_python: str
) -> None:
    root = tmp_path / "root"
    for path, text in SEED.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text)
    seeded = tree(root)

    run(shell, "install.sh", root, init)
    lib = root / "usr/lib/powerstats-agent"
    for name in (
        "__init__.py",
        "__main__.py",
        "mirror.py",
        "httpserver.py",
        "admin.css",
        "powerstats-agent.conf.example",
    ):
        assert (lib / "luckfox_agent" / name).is_file(), name
    index = root / "usr/share/powerstats-agent/www/index.html"
    assert gzip.decompress((index.parent / "index.html.gz").read_bytes()) == index.read_bytes()
    assert os.access(root / "usr/bin/powerstats-agent", os.X_OK)
    conf = root / "etc/powerstats-agent.conf"
    assert stat.S_IMODE(conf.stat().st_mode) == 0o640
    group_id = next(
        int(line.split(":")[2])
        for line in (root / "etc/group").read_text().splitlines()
        if line.startswith("powerstats:")
    )
    assert (conf.stat().st_uid, conf.stat().st_gid) == (0, group_id), "root:powerstats"
    assert "dashboard = /usr/share/powerstats-agent/www" in conf.read_text()
    assert (root / "var/lib/powerstats-agent/www").is_dir()
    service = root / INIT_FILES[init]
    assert service.is_file()
    assert "@" not in service.read_text().replace("@ha", "")
    assert "/usr/bin/python3" in service.read_text()
    assert "MALLOC_ARENA_MAX=1" in service.read_text()
    for other, path in INIT_FILES.items():
        assert (root / path).exists() == (other == init)
    assert (root / "etc/passwd").read_text().count("\npowerstats:x:") == 1
    assert "powerstats:x:" in (root / "etc/group").read_text()

    installed = subprocess.run(
        [
            newest_python,
            "-c",
            "import luckfox_agent.agent, luckfox_agent.commands as c; "
            "import luckfox_agent; print(luckfox_agent.__version__)",
        ],
        env={"PYTHONPATH": str(lib), "PATH": os.environ["PATH"]},
        cwd="/",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert installed.stdout.strip() == __version__, installed.stderr

    conf.write_text(conf.read_text() + "\n# edited by the owner\n")
    assert "kept the existing" in run(shell, "install.sh", root, init)
    assert "# edited by the owner" in conf.read_text()
    assert (root / "etc/passwd").read_text().count("powerstats:x:") == 1

    run(shell, "uninstall.sh", root, init)
    assert not lib.exists()
    assert not service.exists()
    assert not (root / "usr/bin/powerstats-agent").exists()
    assert conf.exists(), "the config is kept without --purge"
    assert (root / "var/lib/powerstats-agent").is_dir()

    run(shell, "uninstall.sh", root, init, "--purge")
    assert tree(root) == seeded
    assert sorted(p.relative_to(root).as_posix() for p in root.rglob("*")) == [
        "etc",
        "etc/group",
        "etc/passwd",
    ]


def test_the_installed_command_wrapper_is_valid_sh(tmp_path: Path) -> None:
    root = tmp_path / "root"
    subprocess.run(
        ["sh", str(AGENT / "install.sh")],
        check=True,
        capture_output=True,
        env={**os.environ, "DESTDIR": str(root), "INIT": "none"},
        timeout=120,
    )
    wrapper = root / "usr/bin/powerstats-agent"
    subprocess.run(["sh", "-n", str(wrapper)], check=True)
    assert 'PYTHONPATH="/usr/lib/powerstats-agent"' in wrapper.read_text()


def run_in_board(board: Board, *argv: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    """Run a command in the board root before it boots, as root at its console would."""
    return subprocess.run(
        [
            *("unshare", "--mount", "--pid", "--fork", "--propagation", "private"),
            *("sh", "-c", BOARD_MOUNTS, "sh", str(board.root), board.layers),
            *argv,
        ],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("init", ["busybox", "openrc"])
def test_install_setup_doctor_and_start_give_a_service_that_reads_its_config(
    tmp_path: Path, source: Source, init: str
) -> None:
    board = Board(tmp_path, init)
    try:
        conf = board.root / "etc/powerstats-agent.conf"
        port = free_privileged_port()
        answers = f"{source.url}\n{TOKEN}\n{port}\n{PASSWORD}\n"
        setup = run_in_board(board, "/usr/bin/powerstats-agent", "setup", stdin=answers)
        assert setup.returncode == 0, setup.stderr
        uid, gid = board.user_ids()
        assert (conf.stat().st_uid, conf.stat().st_gid) == (0, gid)
        assert stat.S_IMODE(conf.stat().st_mode) == 0o640
        assert f"token = {TOKEN}" in conf.read_text()

        doctor = run_in_board(board, "/usr/bin/powerstats-agent", "doctor")
        assert "ok       the service user powerstats can read the config" in doctor.stdout
        assert doctor.returncode == 0, doctor.stdout

        conf.write_text(conf.read_text().replace("[server]", "[server]\nhost = 127.0.0.1"))
        board.boot(port)
        [pid] = wait_until(board.agent_pids, what="the agent")
        assert status_ids(pid) == (uid, gid), "the agent serves as powerstats"
        os.kill(pid, signal.SIGHUP)  # a reload reads the config again, now as powerstats
        wait_until(lambda: "configuration reloaded" in board.log(), what="the reload")
        assert "cannot read config file" not in board.log()
        assert board.answers()
        wait_until(lambda: source.gets("manifest.json"), what="a mirror poll with the token")
    finally:
        board.shutdown()


def test_setup_creates_a_missing_config_as_root_powerstats_0640(
    tmp_path: Path, source: Source
) -> None:
    board = Board(tmp_path, "busybox")
    conf = board.root / "etc/powerstats-agent.conf"
    conf.unlink()
    answers = f"{source.url}\n{TOKEN}\n8080\n{PASSWORD}\n"
    setup = run_in_board(board, "/usr/bin/powerstats-agent", "setup", stdin=answers)
    assert setup.returncode == 0, setup.stderr
    assert "root:powerstats 0640" in setup.stderr
    assert (conf.stat().st_uid, conf.stat().st_gid) == (0, board.user_ids()[1])
    assert stat.S_IMODE(conf.stat().st_mode) == 0o640


def test_a_shipped_gz_sibling_is_kept_when_it_unpacks_to_its_file_and_remade_otherwise(
    tmp_path: Path, shell: list[str]
) -> None:
    www = tmp_path / "www"
    (www / "js").mkdir(parents=True)
    (www / "index.html").write_text("<!doctype html><title>PowerStats</title>\n" * 20)
    matching, stale = www / "js" / "matching.js", www / "js" / "stale.js"
    matching.write_text("export const a = 1;\n" * 50)
    stale.write_text("export const b = 2;\n" * 50)
    shipped = gzip.compress(matching.read_bytes(), 1, mtime=0)
    (www / "js" / "matching.js.gz").write_bytes(shipped)
    (www / "js" / "stale.js.gz").write_bytes(gzip.compress(b"export const b = 1;\n", mtime=0))
    root = tmp_path / "root"
    for path, text in SEED.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text)
    env = {"PATH": shell[1], "DESTDIR": str(root), "INIT": "none", "WWW": str(www)}
    env |= {"PYTHON": "/usr/bin/python3", "HOME": "/nonexistent"}
    result = subprocess.run(
        [shell[0], str(AGENT / "install.sh")], env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr
    installed = root / "usr/share/powerstats-agent/www/js"
    kept = installed / "matching.js.gz"
    assert kept.read_bytes() == shipped
    # The agent sends a sibling only if it is not older than its file.
    assert kept.stat().st_mtime_ns >= (installed / "matching.js").stat().st_mtime_ns
    remade = (installed / "stale.js.gz").read_bytes()
    assert gzip.decompress(remade) == stale.read_bytes()
