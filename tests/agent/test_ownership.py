"""Rewriting the config: the new file keeps its owner and mode and survives a power cut."""

from __future__ import annotations

import os
from pathlib import Path

from luckfox_agent.ownership import write_config as rewrite_config


def test_a_rewritten_config_is_on_the_disk_name_and_all_when_setup_returns(
    tmp_path: Path, disk_log: list[tuple[str, str]]
) -> None:
    config = tmp_path / "agent.conf"
    config.write_text("[source]\n")
    rewrite_config(str(config), b"[source]\nurl = http://ha.local/\n", "powerstats")
    folder = os.path.realpath(tmp_path)
    assert disk_log == [("rename", os.path.join(folder, "agent.conf")), ("sync", folder)]
