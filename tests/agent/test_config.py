"""The agent's INI reader: what configparser reads from agent configs, without configparser."""

from __future__ import annotations

import configparser
import re

import pytest

from luckfox_agent.config import config_example_text, parse_ini

from .conftest import ROOT

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
