"""The command line: exit codes, setup, hash-password, status and doctor."""

from __future__ import annotations

import grp
import os
import shutil
import socket
import stat
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from luckfox_agent.commands import token_in_clear
from luckfox_agent.config import load, parse_url

from .conftest import HA_PREFIX, PASSWORD, TOKEN, Agent, Source, run_agent, write_config

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_CONFIG, EXIT_START = 0, 1, 2, 3, 4


def test_help_lists_every_command_and_the_exit_codes(newest_python: str, tmp_path: Path) -> None:
    result = run_agent(newest_python, tmp_path / "x.conf", "--help")
    assert result.returncode == EXIT_OK
    for word in (
        "serve",
        "mirror-once",
        "status",
        "setup",
        "hash-password",
        "doctor",
        "exit codes",
    ):
        assert word in result.stdout


def test_a_usage_error_exits_2(newest_python: str, tmp_path: Path) -> None:
    assert run_agent(newest_python, tmp_path / "x.conf").returncode == EXIT_USAGE
    assert run_agent(newest_python, tmp_path / "x.conf", "fly").returncode == EXIT_USAGE
    assert run_agent(newest_python, tmp_path / "x.conf", "serve", "--now").returncode == EXIT_USAGE


def test_a_missing_config_exits_3_and_says_how_to_create_one(
    newest_python: str, tmp_path: Path
) -> None:
    result = run_agent(newest_python, tmp_path / "missing.conf", "serve")
    assert result.returncode == EXIT_CONFIG
    assert "does not exist" in result.stderr
    assert "setup" in result.stderr


def test_a_bad_config_value_exits_3_naming_the_option(
    newest_python: str, tmp_path: Path, source: Source
) -> None:
    config = write_config(tmp_path, source, **{"source.interval": "soon"})
    result = run_agent(newest_python, config, "mirror-once")
    assert result.returncode == EXIT_CONFIG
    assert "[source] interval" in result.stderr


def test_the_shipped_example_config_documents_every_option() -> None:
    from luckfox_agent.config import DEFAULTS, config_example_text

    text = config_example_text()
    for section, options in DEFAULTS.items():
        assert f"[{section}]" in text
        for key, value in options.items():
            assert f"#{key} = {value}".rstrip() in text, f"[{section}] {key}"


def test_an_address_in_use_exits_4(agent_python: str, tmp_path: Path, source: Source) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        config = write_config(tmp_path, source, **{"server.port": busy.getsockname()[1]})
        result = run_agent(agent_python, config, "serve")
    assert result.returncode == EXIT_START
    assert "cannot start" in result.stderr


def test_hash_password_prints_a_salted_scrypt_hash(newest_python: str, tmp_path: Path) -> None:
    first = run_agent(newest_python, tmp_path / "x.conf", "hash-password", stdin=PASSWORD + "\n")
    second = run_agent(newest_python, tmp_path / "x.conf", "hash-password", stdin=PASSWORD + "\n")
    assert first.returncode == EXIT_OK
    assert first.stdout.startswith("scrypt$8192$8$1$")
    assert first.stdout != second.stdout, "each hash has its own salt"
    assert PASSWORD not in first.stdout + first.stderr


def test_a_short_password_is_refused(newest_python: str, tmp_path: Path) -> None:
    result = run_agent(newest_python, tmp_path / "x.conf", "hash-password", stdin="short\n")
    assert result.returncode == EXIT_FAILED


def test_setup_writes_a_private_config_without_the_password(
    agent_python: str, tmp_path: Path, source: Source
) -> None:
    config = tmp_path / "etc" / "powerstats-agent.conf"
    answers = f"{source.url}\n{TOKEN}\n8099\n{PASSWORD}\n"
    result = run_agent(agent_python, config, "setup", stdin=answers)
    assert result.returncode == EXIT_OK, result.stderr
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    text = config.read_text()
    assert f"url = {source.url}" in text
    assert f"token = {TOKEN}" in text
    assert "port = 8099" in text
    assert "password_hash = scrypt$" in text
    assert PASSWORD not in text
    assert PASSWORD not in result.stdout + result.stderr
    assert TOKEN not in result.stdout + result.stderr
    from luckfox_agent.config import load

    assert load(str(config)).source_is_ha


def test_setup_refuses_a_token_holding_a_character_http_cannot_carry(
    agent_python: str, tmp_path: Path, source: Source
) -> None:
    config = tmp_path / "etc" / "powerstats-agent.conf"
    answers = f"{source.url}\n{TOKEN}\N{ZERO WIDTH SPACE}\n8099\n{PASSWORD}\n"
    result = run_agent(agent_python, config, "setup", stdin=answers)
    assert result.returncode == EXIT_FAILED
    assert "the token holds the character U+200B" in result.stderr
    assert TOKEN not in result.stdout + result.stderr
    assert not config.exists()


def test_setup_removes_the_copies_an_interrupted_setup_left_beside_the_config_and_nothing_else(
    agent_python: str, tmp_path: Path, source: Source
) -> None:
    config = write_config(tmp_path, source)
    gone = subprocess.Popen(["true"])  # a process that has ended, as a killed setup has
    gone.wait()
    leftovers = [
        tmp_path / f".agent.conf.{gone.pid}.1.tmp",
        tmp_path / f".agent.conf.{gone.pid}.2.tmp",
    ]
    kept = [
        tmp_path / ".agent.conf.tmp",
        tmp_path / f"agent.conf.{gone.pid}.3.tmp",  # no leading dot
        tmp_path / f".other.conf.{gone.pid}.4.tmp",  # beside the config, not the config's
        tmp_path / f".agent.conf.{os.getpid()}.5.tmp",  # its writer still runs
    ]
    for path in leftovers + kept:
        path.write_text(f"[source]\ntoken = {TOKEN}\n")
    result = run_agent(agent_python, config, "setup", stdin=f"\n\n\n{PASSWORD}\n")
    assert result.returncode == EXIT_OK, result.stderr
    assert [path.name for path in leftovers if path.exists()] == []
    assert [path.name for path in kept if not path.exists()] == []
    assert "password_hash = scrypt$" in config.read_text()


def test_status_reports_the_last_mirror_and_exits_0_when_healthy(
    agent_python: str, tmp_path: Path, source: Source
) -> None:
    config = write_config(tmp_path, source)
    before = run_agent(agent_python, config, "status")
    assert before.returncode == EXIT_FAILED
    assert "no data mirrored yet" in before.stdout
    assert run_agent(agent_python, config, "mirror-once").returncode == EXIT_OK
    after = run_agent(agent_python, config, "status")
    assert after.returncode == EXIT_OK, after.stdout
    assert "house/daily.json" in after.stdout
    assert "last error:     none" in after.stdout


def test_status_shows_whether_the_server_answers(
    agent_python: str, tmp_path: Path, source: Source, start_agent: Callable[..., Agent]
) -> None:
    config = write_config(tmp_path, source)
    agent = start_agent(config)
    fixed = write_config(tmp_path, source, **{"server.port": agent.port})
    result = run_agent(agent_python, fixed, "status", "--json")
    assert '"server_answers": true' in result.stdout


def test_doctor_passes_on_a_working_setup(
    agent_python: str, tmp_path: Path, source: Source
) -> None:
    config = write_config(tmp_path, source)
    result = run_agent(agent_python, config, "doctor")
    assert result.returncode == EXIT_OK, result.stdout
    assert "all checks passed" in result.stdout
    assert TOKEN not in result.stdout + result.stderr


def test_doctor_names_each_problem_and_its_fix(
    agent_python: str, tmp_path: Path, source: Source
) -> None:
    config = write_config(
        tmp_path, source, **{"source.token": "bad-token-value", "paths.dashboard": tmp_path / "no"}
    )
    config.chmod(0o644)
    result = run_agent(agent_python, config, "doctor")
    assert result.returncode == EXIT_FAILED
    assert "refused the token" in result.stdout
    assert "no index.html" in result.stdout
    assert "everyone may read it" in result.stdout
    assert result.stdout.count("fix:") >= 3
    assert "bad-token-value" not in result.stdout + result.stderr


NOBODY = 65534  # Debian's `nobody` user and `nogroup` group stand in for the service user
NOGROUP = grp.getgrgid(NOBODY).gr_name


@pytest.fixture
def open_dir() -> Iterator[Path]:
    """A folder every user may enter (pytest's own tmp folders are root's alone)."""
    if os.geteuid() != 0:
        pytest.skip("needs root to give files to another user")
    path = Path(tempfile.mkdtemp(prefix="powerstats-open-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path)


def test_setup_keeps_the_owner_group_and_mode_of_an_existing_config(
    agent_python: str, open_dir: Path, source: Source
) -> None:
    config = write_config(open_dir, source)
    os.chown(config, NOBODY, NOBODY)
    config.chmod(0o640)
    result = run_agent(agent_python, config, "setup", stdin=f"\n\n\n{PASSWORD}\n")
    assert result.returncode == EXIT_OK, result.stderr
    info = config.stat()
    assert (info.st_uid, info.st_gid, stat.S_IMODE(info.st_mode)) == (NOBODY, NOBODY, 0o640)
    assert "password_hash = scrypt$" in config.read_text()
    assert "nobody:nogroup 0640" in result.stderr


def can_read_as_nobody(path: Path) -> bool:
    """Whether the kernel lets `nobody` read the file: the truth doctor must agree with."""

    def become_nobody() -> None:
        os.setgroups([])
        os.setgid(NOBODY)
        os.setuid(NOBODY)

    return (
        subprocess.run(["cat", str(path)], capture_output=True, preexec_fn=become_nobody).returncode
        == 0
    )


def test_doctor_checks_that_the_service_user_can_read_the_config(
    agent_python: str, open_dir: Path, source: Source
) -> None:
    config = write_config(open_dir, source)  # root:root 0600, as setup used to leave it
    as_service = {"POWERSTATS_AGENT_USER": "nobody"}
    refused = run_agent(agent_python, config, "doctor", env=as_service)
    assert not can_read_as_nobody(config)
    assert refused.returncode == EXIT_FAILED
    assert "PROBLEM  the service user nobody cannot read the config" in refused.stdout
    assert "root:root 0600" in refused.stdout
    os.chown(config, 0, NOBODY)
    config.chmod(0o640)
    allowed = run_agent(agent_python, config, "doctor", env=as_service)
    assert can_read_as_nobody(config)
    assert "ok       the service user nobody can read the config" in allowed.stdout
    assert "cannot read the config" not in allowed.stdout


def can_write_as_nobody(folder: Path) -> bool:
    """Whether the kernel lets `nobody` create a file in `folder`: the truth doctor must agree
    with."""

    def become_nobody() -> None:
        os.setgroups([])
        os.setgid(NOBODY)
        os.setuid(NOBODY)

    probe = folder / ".probe"
    made = subprocess.run(["touch", str(probe)], preexec_fn=become_nobody).returncode == 0
    probe.unlink(missing_ok=True)
    return made


def test_doctor_checks_that_the_service_user_can_write_the_web_root_and_its_meter_folders(
    agent_python: str, open_dir: Path, source: Source
) -> None:
    # doctor runs as root, who may write anywhere; the service may not.
    config = write_config(open_dir, source)
    os.chown(config, 0, NOBODY)
    config.chmod(0o640)
    webroot, state = open_dir / "webroot", open_dir / "state"
    (webroot / "house").mkdir(parents=True)
    state.mkdir()
    for folder in (webroot, webroot / "house", state):
        folder.chmod(0o755)
    as_service = {"POWERSTATS_AGENT_USER": "nobody"}
    refused = run_agent(agent_python, config, "doctor", env=as_service)
    assert not can_write_as_nobody(webroot)
    assert refused.returncode == EXIT_FAILED
    assert (
        f"PROBLEM  web root {webroot} is not writable by the service user nobody: "
        f"the folder is root:root 0755"
    ) in refused.stdout
    fix = f"fix: give it to the agent's user (install.sh does): chown -R nobody:{NOGROUP} {webroot}"
    assert fix in refused.stdout
    assert f"PROBLEM  state folder {state} is not writable by the service user nobody" in (
        refused.stdout
    )
    os.chown(webroot, NOBODY, NOBODY)
    os.chown(state, NOBODY, NOBODY)
    one_left = run_agent(agent_python, config, "doctor", env=as_service)
    assert can_write_as_nobody(webroot)
    assert not can_write_as_nobody(webroot / "house")
    assert f"PROBLEM  web root {webroot / 'house'} is not writable" in one_left.stdout
    os.chown(webroot / "house", NOBODY, NOBODY)
    allowed = run_agent(agent_python, config, "doctor", env=as_service)
    assert can_write_as_nobody(webroot / "house")
    assert f"ok       web root {webroot} is writable by the service user nobody" in allowed.stdout
    assert f"ok       state folder {state} is writable by the service user nobody" in (
        allowed.stdout
    )
    assert "not writable" not in allowed.stdout
    assert allowed.returncode == EXIT_OK, allowed.stdout


def test_setup_drops_the_token_when_the_source_is_not_the_ha_data_view(
    agent_python: str, tmp_path: Path, source: Source
) -> None:
    config = write_config(tmp_path, source)
    assert f"token = {TOKEN}" in config.read_text()
    pages = "https://example.github.io/powerstats/"
    result = run_agent(agent_python, config, "setup", stdin=f"{pages}\n\n{PASSWORD}\n")
    assert result.returncode == EXIT_OK, result.stderr
    assert "Removed the HA token" in result.stderr
    text = config.read_text()
    assert f"url = {pages}" in text
    assert TOKEN not in text
    assert "\ntoken =" not in text


def test_doctor_warns_when_a_token_is_set_for_a_source_that_is_not_ha(
    agent_python: str, tmp_path: Path, static_source: Source
) -> None:
    config = write_config(tmp_path, static_source, **{"source.token": TOKEN})
    result = run_agent(agent_python, config, "doctor")
    assert "WARNING  [source] token is set but the source is not HA's data view" in result.stdout
    assert "the token is never sent" in result.stdout
    assert TOKEN not in result.stdout + result.stderr
    assert all("Authorization" not in hit.headers for hit in static_source.hits)


def test_doctor_warns_when_the_token_would_cross_the_network_unencrypted(
    agent_python: str, tmp_path: Path, source: Source
) -> None:
    # The source is on loopback (its URL's token never leaves the machine); HA's API for the
    # admin actions is elsewhere over plain HTTP. Doctor never calls that one.
    config = write_config(tmp_path, source, **{"ha.url": "http://homeassistant.example:8123"})
    result = run_agent(agent_python, config, "doctor")
    assert (
        "WARNING  [ha] url sends the HA token unencrypted (http://) to homeassistant.example"
        in result.stdout
    )
    assert "[source] url sends" not in result.stdout
    assert result.returncode == EXIT_OK, "a warning, not a problem"
    assert TOKEN not in result.stdout + result.stderr


IN_CLEAR = {
    "http to a LAN name": ("http://homeassistant.local:8123", True),
    "http to a LAN address": ("http://192.168.1.10:8123", True),
    "https": ("https://homeassistant.local:8123", False),
    "http to localhost": ("http://localhost:8123", False),
    "http to 127.0.0.0/8": ("http://127.0.0.53:8123", False),
    "http to ::1": ("http://[::1]:8123", False),
}


@pytest.mark.parametrize(("origin", "in_clear"), IN_CLEAR.values(), ids=IN_CLEAR.keys())
def test_only_http_to_a_host_beyond_this_machine_counts_as_sending_the_token_in_clear(
    tmp_path: Path, source: Source, origin: str, in_clear: bool
) -> None:
    config = load(str(write_config(tmp_path, source, **{"source.url": f"{origin}{HA_PREFIX}"})))
    expected = [("[source] url", parse_url(origin).host)] if in_clear else []
    assert token_in_clear(config) == expected
