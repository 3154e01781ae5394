"""The agent's tarball from scripts/package: unpacked and installed on a BusyBox board root."""

from __future__ import annotations

import gzip
import http.client
import os
import subprocess
import sys
import tarfile
from pathlib import Path

from luckfox_agent import __version__

from .board import Board
from .conftest import ROOT, Source
from .test_init import boot


def test_the_tarball_unpacks_and_its_installer_sets_up_a_serving_busybox_board(
    tmp_path: Path, source: Source
) -> None:
    built = subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts/package"),
            "--no-sync",
            "--out",
            str(tmp_path / "build"),
            "--dist",
            str(tmp_path / "dist"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert built.returncode == 0, built.stderr
    tarball = tmp_path / "dist" / f"powerstats-agent-{__version__}.tar.gz"
    assert [p.name for p in (tmp_path / "dist").iterdir()] == [tarball.name]

    unpacked = tmp_path / "unpacked"
    with tarfile.open(tarball) as archive:
        names = archive.getnames()
        assert all(n.startswith(f"powerstats-agent-{__version__}/") for n in names[1:])
        # The "data" filter where this Python has it (3.12+, and late 3.9-3.11 releases).
        safe = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
        archive.extractall(unpacked, **safe)  # type: ignore[arg-type]  # noqa: S202
    top = unpacked / f"powerstats-agent-{__version__}"
    installer = top / "luckfox_agent/install.sh"
    assert os.access(installer, os.X_OK)
    shipped = {p.name for p in (top / "luckfox_agent").glob("*.py")}
    assert shipped == {p.name for p in (ROOT / "luckfox_agent").glob("*.py")}
    assert (top / "www/index.html").read_bytes() == (ROOT / "www/index.html").read_bytes()
    # The dashboard as the integration ships it (its code built into one file per page), with
    # the .gz siblings made here, which install.sh keeps.
    shipped_www = ROOT / "custom_components/powerstats/frontend"

    def files(folder: Path, siblings: set[str]) -> set[Path]:
        return {
            p.relative_to(folder)
            for p in folder.rglob("*")
            if p.is_file() and p.suffix not in siblings
        }

    copies = files(top / "www", {".gz"})
    assert copies == files(shipped_www, {".br", ".gz"})
    for relative in sorted(copies):
        copy = top / "www" / relative
        assert copy.read_bytes() == (shipped_www / relative).read_bytes(), relative
        if relative.suffix in {".html", ".js", ".css", ".svg"}:
            gz = copy.with_name(copy.name + ".gz")
            assert gzip.decompress(gz.read_bytes()) == copy.read_bytes(), relative
    assert (top / "agent.md").is_file()
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]

    board = Board(tmp_path, "busybox", installer=installer)
    try:
        boot(board, source)
        port = board.port
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("GET", "/index.html", headers={"Host": f"127.0.0.1:{port}"})
        response = conn.getresponse()
        assert response.status == 200
        assert response.read() == (ROOT / "www/index.html").read_bytes()
        conn.close()
    finally:
        board.shutdown()
