"""install.sh / uninstall.sh against a temporary root (DESTDIR), under dash and BusyBox ash."""

from __future__ import annotations

import gzip
import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from luckfox_agent import __version__

from .conftest import ROOT

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
    assert stat.S_IMODE(conf.stat().st_mode) == 0o600
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
