"""The agent's entry point runs as a module."""

import subprocess
import sys
from pathlib import Path

from luckfox_agent import __version__

ROOT = Path(__file__).resolve().parents[2]


def test_running_the_agent_module_prints_its_version() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "luckfox_agent", "--version"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert __version__ in result.stdout
