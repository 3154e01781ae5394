"""The agent's INI reader: what configparser reads from agent configs, without configparser."""

from __future__ import annotations

import configparser
import re
from pathlib import Path

import pytest

from luckfox_agent.config import config_example_text, parse_ini

from .conftest import ROOT, TOKEN, Source, run_agent, write_config

EXIT_CONFIG = 3

SAMPLES = [
    config_example_text(),
    "[source]\nurl = http://ha.local:8123/api/powerstats/data/\ntoken = abc=def:ghi\n"
    "interval=60\n\n[server]\nport: 80\n; a comment\n  # an indented comment\n"
    "Host = 0.0.0.0\n[admin]\npassword_hash = scrypt$8192$8$1$00$11\nsession_minutes =\n",
    "[log]\nlevel = debug   # not an inline comment, as in configparser\n[ha]\n",
]


@pytest.mark.parametrize("text", SAMPLES)
def test_it_reads_what_configparser_reads(text: str) -> None:
    oracle = configparser.ConfigParser(interpolation=None)
    oracle.read_string(text)
    expected = {name: dict(oracle.items(name)) for name in oracle.sections()}
    assert parse_ini(text) == expected


def test_the_shipped_example_has_every_section_and_no_active_option() -> None:
    text = (ROOT / "luckfox_agent" / "powerstats-agent.conf.example").read_text()
    parsed = parse_ini(text)
    assert set(parsed) == {"source", "server", "paths", "admin", "ha", "log"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("url = x\n[source]\n", "line 1: `url = x` comes before any [section]"),
        ("[source]\nurl = a\nURL = b\n", "line 3: url appears twice"),
        ("[source]\n[server]\n[source]\n", "line 3: section [source] appears twice"),
        ("[source\n", "line 1: a section header must end with ]"),
        ("[source]\njust words\n", "line 2: expected `key = value`"),
        ("[source]\n= value\n", "line 2: expected `key = value`"),
    ],
)
def test_a_broken_line_is_named_by_its_number(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        parse_ini(text)


# Pasted along with a token unseen: HTTP cannot carry the first, and sends the others as bytes
# HA does not take for the token.
PASTED = {
    "zero-width space": ("\N{ZERO WIDTH SPACE}", "U+200B"),
    "no-break space": ("\N{NO-BREAK SPACE}", "U+00A0"),
    "space": (" ", "U+0020"),
    "tab": ("\t", "U+0009"),
}


@pytest.mark.parametrize(("pasted", "named"), PASTED.values(), ids=PASTED.keys())
def test_a_token_holding_a_character_http_cannot_carry_is_refused_naming_the_setting(
    tmp_path: Path, source: Source, agent_python: str, pasted: str, named: str
) -> None:
    half = len(TOKEN) // 2
    config = write_config(
        tmp_path, source, **{"source.token": TOKEN[:half] + pasted + TOKEN[half:]}
    )
    result = run_agent(agent_python, config, "mirror-once")
    assert result.returncode == EXIT_CONFIG, result.stderr
    assert f"[source] token holds the character {named}" in result.stderr
    assert TOKEN[:half] not in result.stdout + result.stderr
    assert TOKEN[half:] not in result.stdout + result.stderr
    assert source.hits == []


# A path with a character a request cannot carry unencoded, for each URL the agent requests.
URLS = {
    "[source] url": ("source.url", "http://127.0.0.1:{port}/api/powerstats/data/\N{EURO SIGN}/"),
    "[ha] url": ("ha.url", "http://127.0.0.1:{port}/ha\N{EURO SIGN}/"),
}


@pytest.mark.parametrize(("setting", "url"), URLS.values(), ids=URLS.keys())
def test_a_url_holding_a_character_http_cannot_carry_is_refused_naming_the_setting(
    tmp_path: Path, source: Source, agent_python: str, setting: str, url: str
) -> None:
    config = write_config(tmp_path, source, **{setting: url.format(port=source.port)})
    result = run_agent(agent_python, config, "mirror-once")
    assert result.returncode == EXIT_CONFIG, result.stderr
    section = setting.split(".")[0]
    assert f"[{section}] url holds the character U+20AC" in result.stderr
    assert "percent-encode it" in result.stderr
    assert source.hits == []
