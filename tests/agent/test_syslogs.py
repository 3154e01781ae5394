"""`powerstats-agent logs` reads the agent's lines from a syslog file, and only printable text."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from luckfox_agent import syslogs


@pytest.fixture
def messages(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A syslog file standing where BusyBox's syslogd writes, with no journal or logread."""
    path = tmp_path / "messages"
    monkeypatch.setattr(syslogs, "SYSLOG_FILES", (str(path),))
    monkeypatch.setattr(os.path, "isdir", lambda p: False)
    monkeypatch.setattr(shutil, "which", lambda name: None)
    return path


def test_it_prints_the_last_lines_of_the_agent_oldest_first(messages: Path) -> None:
    rotated = Path(f"{messages}.0")
    rotated.write_text("Dec  1 10:00:00 board daemon.info powerstats-agent[7]: old start\n")
    messages.write_text(
        "Dec  1 10:00:01 board daemon.info sshd[9]: not ours\n"
        + "".join(
            f"Dec  1 10:00:0{i} board daemon.info powerstats-agent[7]: line {i}\n" for i in range(5)
        )
    )
    lines, where = syslogs.recent_lines(3)
    assert [line.rsplit(": ", 1)[1] for line in lines] == ["line 2", "line 3", "line 4"]
    lines, _ = syslogs.recent_lines(50)
    assert lines[0].endswith("old start")
    assert len(lines) == 6
    assert str(messages) in where


def test_control_characters_from_logged_text_never_reach_the_terminal(messages: Path) -> None:
    messages.write_text("board powerstats-agent[7]: error: \x1b]0;owned\x07 \x1b[2J done\n")
    [line] = syslogs.recent_lines(5)[0]
    assert "\x1b" not in line
    assert "\x07" not in line
    assert line.endswith("?]0;owned? ?[2J done")


def test_nothing_logged_is_an_empty_answer_naming_where_it_looked(messages: Path) -> None:
    lines, where = syslogs.recent_lines(5)
    assert lines == []
    assert "logread" in where
