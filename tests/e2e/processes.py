"""The other real processes of the end-to-end tests: the fake GitHub and the board agent."""

from __future__ import annotations

import configparser
import json
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.e2e.homeassistant_process import ROOT, free_port


def _wait_for_http(url: str, process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args!r} exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=5):
                return
        except OSError as err:
            if getattr(err, "code", None):  # any HTTP answer means it is up
                return
            time.sleep(0.2)  # waiting for another process to listen, not for time to pass
    raise RuntimeError(f"nothing answered on {url}")


@dataclass
class FakeGitHubProcess:
    """`python -m tests.fake_github` on a free loopback port."""

    repository: str = "owner/energy"
    token: str = "ghp_e2e_token_that_must_never_leak"
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.fake_github", "--port", str(self.port),
             "--repo", self.repository, "--token", self.token, "--seeded"],
            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        _wait_for_http(self.api_url + "/_fake/log", self.process)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)

    def publishing(self, interval_minutes: int = 0) -> dict[str, Any]:
        """The publishing step's answers for this repository, every level published."""
        return {
            "github_token": self.token,
            "github_repository": self.repository,
            "github_branch": "main",
            "github_api_url": self.api_url,
            "publish_levels": ["daily", "weekly", "monthly", "yearly"],
            "publish_interval": interval_minutes,
        }

    def log(self) -> list[dict[str, Any]]:
        with urllib.request.urlopen(self.api_url + "/_fake/log", timeout=10) as response:
            return list(json.load(response))

    def file(self, path: str) -> bytes:
        """A file of the default branch, as GitHub Pages serves it."""
        url = f"{self.api_url}/_pages/{self.repository}/{path}"
        with urllib.request.urlopen(url, timeout=10) as response:
            return bytes(response.read())

    def commits(self) -> int:
        """How many commits the default branch holds."""
        url = f"{self.api_url}/_fake/files/{self.repository}"
        with urllib.request.urlopen(url, timeout=10) as response:
            return int(json.load(response)["commits"])


@dataclass
class AgentProcess:
    """The board agent (`python -m luckfox_agent`) mirroring from a source on loopback."""

    home: Path
    source_url: str
    token: str = ""
    python: str = sys.executable
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def webroot(self) -> Path:
        return self.home / "webroot"

    @property
    def config_path(self) -> Path:
        return self.home / "agent.conf"

    def write_config(self, password_hash: str = "") -> None:
        config = configparser.ConfigParser()
        config["source"] = {"url": self.source_url, "token": self.token, "interval": "60"}
        config["server"] = {"host": "127.0.0.1", "port": str(self.port)}
        config["paths"] = {
            "webroot": str(self.webroot),
            # The shipped form, as the board's tarball and the HA panel have it (scripts/package).
            "dashboard": str(ROOT / "custom_components" / "powerstats" / "frontend"),
            "state": str(self.home / "state.json"),
        }
        config["admin"] = {"password_hash": password_hash}
        self.home.mkdir(parents=True, exist_ok=True)
        with self.config_path.open("w") as file:
            config.write(file)
        self.config_path.chmod(0o600)

    def run(self, *command: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [self.python, "-m", "luckfox_agent", "--config", str(self.config_path), *command],
            cwd=ROOT, input=stdin, capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip

    def serve(self) -> None:
        self.process = subprocess.Popen(
            [self.python, "-m", "luckfox_agent", "--config", str(self.config_path), "serve"],
            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=(self.home / "agent.log").open("wb"),
        )  # fmt: skip
        _wait_for_http(self.url + "/", self.process)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)
