"""The commands run by hand: mirror-once, status, setup, hash-password, doctor, logs."""

from __future__ import annotations

import json
import os
import sys
import time

from . import log
from .config import (
    DEFAULTS,
    HA_DATA_PATH,
    Config,
    ConfigError,
    check_sendable,
    is_ha_data_url,
    parse_url,
    read_ini,
    render,
)
from .daemon import FAILED, OK, dispatch, serve
from .daemon import load_config as _load

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs resident memory; mypy reads it, the board does not
    from typing import Callable, Dict, List, Optional, Tuple


def run(command: str, config_path: str, verbose: bool, options: List[str]) -> int:
    """Dispatch one command; ConfigError becomes exit code 3 with the message."""
    handlers: Dict[str, Callable[[str, bool, List[str]], int]] = {
        "serve": serve,
        "mirror-once": mirror_once,
        "status": status,
        "setup": setup,
        "hash-password": hash_password,
        "doctor": doctor,
        "logs": logs,
    }
    return dispatch(handlers[command], config_path, verbose, options)


def logs(config_path: str, verbose: bool, options: List[str]) -> int:
    """Print the agent's recent lines from the system log (journal, logread or syslog file)."""
    from .syslogs import recent_lines

    count = int(next((o.split("=", 1)[1] for o in options if o.startswith("--lines=")), "50"))
    found, where = recent_lines(count)
    for line in found:
        print(line)
    if not found:
        sys.stderr.write(f"no powerstats-agent lines found (looked in {where})\n")
        return FAILED
    return OK


def mirror_once(config_path: str, verbose: bool, options: List[str]) -> int:
    """One poll, then exit."""
    config = _load(config_path, verbose)
    from .mirror import Mirror

    try:
        os.makedirs(config.webroot, mode=0o755, exist_ok=True)
    except OSError as err:
        log.error("cannot create the web root %s: %s", config.webroot, err.strerror or err)
        return FAILED
    mirror = Mirror(config)
    result = mirror.poll()
    print(f"mirror: {result}")
    return FAILED if result == "failed" else OK


def _server_answers(config: Config) -> bool:
    import socket

    wildcard = config.host in ("0.0.0.0", "::", "")  # noqa: S104 - comparing, not binding
    host = "127.0.0.1" if wildcard else config.host
    try:
        with socket.create_connection((host, config.port), timeout=2):
            return True
    except OSError:
        return False


def status(config_path: str, verbose: bool, options: List[str]) -> int:
    """Print what the agent last did; exit 1 when the data is missing or the last poll failed."""
    config = _load(config_path, verbose)
    from .mirror import load_state
    from .status import collect

    report = collect(config, load_state(config.state_file))
    for key in (
        "polls",
        "files_fetched",
        "failures_in_a_row",
        "next_poll_in_seconds",
        "rss_kb",
        "peak_rss_kb",
        "uptime_seconds",
        "source_reachable",
    ):
        report.pop(key, None)
    report["server_answers"] = config.port != 0 and _server_answers(config)
    healthy = bool(report["files"]) and report["last_error"] is None
    if "--json" in options:
        print(json.dumps(report, indent=1))
    else:
        print(f"source:         {report['source']}")
        print(f"last success:   {report['last_success'] or 'never'}")
        print(f"last change:    {report['last_change'] or 'never'}")
        print(f"last error:     {report['last_error'] or 'none'}")
        print(f"server answers: {'yes' if report['server_answers'] else 'no'}")
        for entry in report["files"]:
            age = entry["age_seconds"]
            print(f"  {entry['path']:<28} {'missing' if age is None else f'{age} s old'}")
        if not report["files"]:
            print("  no data mirrored yet")
    return OK if healthy else FAILED


def _ask(prompt: str, secret: bool = False) -> str:
    """Prompt on stderr; hidden input on a terminal, a plain line otherwise (for scripts)."""
    if sys.stdin.isatty():
        if secret:
            import getpass

            return getpass.getpass(prompt, stream=sys.stderr)
        sys.stderr.write(prompt)
        sys.stderr.flush()
        return input()
    sys.stderr.write(prompt)
    sys.stderr.flush()
    line = sys.stdin.readline()
    if not line:
        raise EOFError("no more input")
    return line.rstrip("\r\n")


def _new_password() -> str:
    while True:
        first = _ask("Admin password (at least 8 characters): ", secret=True)
        if len(first) < 8:
            sys.stderr.write("Too short.\n")
            if not sys.stdin.isatty():
                raise ValueError("password too short")
            continue
        if not sys.stdin.isatty():
            return first
        if _ask("Again: ", secret=True) == first:
            return first
        sys.stderr.write("The two passwords differ.\n")


def hash_password(config_path: str, verbose: bool, options: List[str]) -> int:
    """Print a hash for [admin] password_hash; the password itself goes nowhere."""
    from .auth import hash_password as make_hash

    try:
        if "--stdin" in options or not sys.stdin.isatty():
            password = sys.stdin.readline().rstrip("\r\n")
            if len(password) < 8:
                sys.stderr.write("error: the password must have at least 8 characters\n")
                return FAILED
        else:
            password = _new_password()
    except (EOFError, ValueError) as err:
        sys.stderr.write(f"error: {err}\n")
        return FAILED
    print(make_hash(password))
    return OK


def _ask_token() -> str:
    """The HA token typed or pasted, or "" to keep the current one; asked again while it holds
    a character no request can send (a script's input is refused: ValueError)."""
    while True:
        token = _ask("HA long-lived access token (Enter keeps the current one): ", secret=True)
        try:
            check_sendable(token.strip(), "an HTTP header")
            return token.strip()
        except ValueError as err:
            # Named by its code point only: the token itself stays off the screen.
            if not sys.stdin.isatty():
                raise ValueError(f"the token {err}") from None
            sys.stderr.write(f"The token {err}; paste it again without it.\n")


def setup(config_path: str, verbose: bool, options: List[str]) -> int:
    """Interactive configuration; keeps the file's owner, group and mode (new: 0640)."""
    from .auth import hash_password as make_hash
    from .ownership import service_user, write_config

    values = {section: dict(opts) for section, opts in DEFAULTS.items()}
    if os.path.exists(config_path):
        values = read_ini(config_path)
        sys.stderr.write(f"Updating {config_path}; press Enter to keep a value.\n")
    try:
        while True:
            current = values["source"]["url"]
            url = (
                _ask(
                    f"Source URL (HA: http://ha:8123/api/powerstats/data/, or a Pages URL)"
                    f"{f' [{current}]' if current else ''}: "
                ).strip()
                or current
            )
            try:
                parse_url(url)
                break
            except ValueError as err:
                sys.stderr.write(f"The URL {err}.\n")
                if not sys.stdin.isatty():
                    return FAILED
        values["source"]["url"] = url
        if is_ha_data_url(url):
            token = _ask_token()
            if token:
                values["source"]["token"] = token
        else:
            if values["source"]["token"]:
                # The token is only ever sent to HA's data view: a token kept for another
                # source would sit in the file for nothing, or leak if that rule ever broke.
                values["source"]["token"] = ""
                sys.stderr.write("Removed the HA token: this source is not HA's data view.\n")
            if values["source"]["kind"] == "ha":
                values["source"]["kind"] = "auto"
        port = _ask(f"Web server port [{values['server']['port']}]: ").strip()
        if port:
            if not port.isdigit() or not 0 < int(port) < 65536:
                sys.stderr.write("The port must be a number from 1 to 65535.\n")
                return FAILED
            values["server"]["port"] = port
        if values["admin"]["password_hash"]:
            change = _ask("Change the admin password? [y/N]: ").strip().lower()
        else:
            change = "y"
        if change.startswith("y"):
            values["admin"]["password_hash"] = make_hash(_new_password())
    except (EOFError, ValueError) as err:
        sys.stderr.write(f"setup stopped: {err}\n")
        return FAILED
    directory = os.path.dirname(os.path.abspath(config_path))
    os.makedirs(directory, exist_ok=True)
    access = write_config(config_path, render(values).encode(), service_user())
    sys.stderr.write(
        f"Wrote {config_path} ({access}). Check it with: "
        f"python3 -m luckfox_agent --config {config_path} doctor\n"
    )
    return OK


class _Doctor:
    def __init__(self) -> None:
        self.problems = 0

    def ok(self, text: str) -> None:
        print(f"ok       {text}")

    def problem(self, text: str, fix: str) -> None:
        self.problems += 1
        print(f"PROBLEM  {text}\n         fix: {fix}")

    def note(self, text: str) -> None:
        print(f"note     {text}")

    def warn(self, text: str, fix: str) -> None:
        print(f"WARNING  {text}\n         fix: {fix}")


def _writer_cannot(folder: str, user: Optional[str]) -> Optional[str]:
    """Why `user` (None: whoever runs this) cannot write in `folder`, or None when it can."""
    if user is None:
        return None if os.access(folder, os.W_OK | os.X_OK) else "permission denied"
    from .ownership import unwritable_reason

    return unwritable_reason(folder, user)


def _writable_dir(doc: _Doctor, path: str, what: str) -> None:
    # `doctor` runs as root, who may write anywhere: root's access would pass a folder the
    # service then cannot write to. Without the service's user here, the agent will run as
    # whoever starts it, so that one's access is the truth.
    import grp
    import pwd

    from .mirror import subfolders
    from .ownership import service_user

    user: Optional[str] = service_user()
    try:
        group = grp.getgrgid(pwd.getpwnam(str(user)).pw_gid).gr_name
    except KeyError:
        user, group = None, "GROUP"
    who = "this user" if user is None else f"the service user {user}"
    owner = f"{user or 'USER'}:{group}"
    if not os.path.isdir(path):
        parent = os.path.dirname(path)
        if os.path.isdir(parent) and _writer_cannot(parent, user) is None:
            doc.ok(f"{what} {path} will be created at start")
        else:
            doc.problem(
                f"{what} {path} does not exist",
                f"create it for the agent's user: mkdir -p {path} && chown {owner} {path}",
            )
        return
    # The mirror writes in the web root and in each meter's folder under it.
    for folder in [path, *sorted(subfolders(path))]:
        reason = _writer_cannot(folder, user)
        if reason is not None:
            doc.problem(
                f"{what} {folder} is not writable by {who}: {reason}",
                f"give it to the agent's user (install.sh does): chown -R {owner} {path}",
            )
            return
    doc.ok(f"{what} {path} is writable by {who}")


def _check_source(doc: _Doctor, config: Config) -> None:
    from .contract import ContractError, parse_manifest
    from .httpclient import HttpError, request

    source = config.source
    headers: Dict[str, str] = {}
    if config.sends_token:
        headers["Authorization"] = f"Bearer {config.source_token}"
    started = time.time()
    try:
        response = request(
            source,
            source.path + "manifest.json",
            headers=headers,
            timeout=config.timeout,
            max_body=1 << 20,
            cafile=config.source_ca_file,
        )
    except HttpError as err:
        doc.problem(
            f"the source is not reachable: {err}",
            "check [source] url, the network, and that HA (or the Pages site) is up",
        )
        return
    if response.status in (401, 403):
        doc.problem(
            f"the source refused the token (HTTP {response.status})",
            "create a long-lived token in HA (Profile > Security) and set [source] token",
        )
        return
    if response.status != 200:
        doc.problem(
            f"the source answered HTTP {response.status} for manifest.json",
            "check that [source] url points at the folder holding manifest.json",
        )
        return
    try:
        _, entries = parse_manifest(response.body)
    except ContractError as err:
        doc.problem(
            f"the source's manifest.json is not valid: {err}",
            "update the integration and the agent to the same format version",
        )
        return
    doc.ok(f"the source answers: manifest lists {len(entries)} file(s)")
    date = response.headers.get("date")
    if date:
        _check_clock(doc, date, started)


def _check_clock(doc: _Doctor, date: str, local: float) -> None:
    import calendar

    try:
        parsed = time.strptime(date[5:25], "%d %b %Y %H:%M:%S")
    except ValueError:
        return
    skew = abs(calendar.timegm(parsed) - local)
    if skew > 300:
        doc.problem(
            f"the clock differs from the source's by {int(skew)} s",
            "enable NTP on the board (Alpine: rc-update add chronyd; Buildroot: ntpd)",
        )
    else:
        doc.ok("the clock agrees with the source's")


def _check_config_access(doc: _Doctor, path: str, config: Config) -> None:
    """The service's user must read the config; with a token in it, nobody else may."""
    from .ownership import describe, service_user, unreadable_reason

    user = service_user()
    try:
        reason = unreadable_reason(path, user)
    except KeyError:
        doc.note(f"no user {user} here: the agent reads the config as whoever starts it")
        reason = None
    else:
        if reason is None:
            doc.ok(f"the service user {user} can read the config")
        else:
            doc.problem(
                f"the service user {user} cannot read the config {path}: {reason}",
                f"chgrp {user} {path} && chmod 640 {path} (setup keeps it so)",
            )
    mode = os.stat(path).st_mode & 0o777
    if config.source_token and mode & 0o007:
        doc.problem(
            f"config {path} holds a token but everyone may read it ({describe(path)})",
            f"chmod o-rwx {path}",
        )


def _loopback(host: str) -> bool:
    """True for a host name or address that never leaves this machine."""
    import ipaddress

    name = host.lower().rstrip(".")
    if name == "localhost":
        return True
    try:
        address = ipaddress.ip_address(name.split("%", 1)[0])  # without an IPv6 zone
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)  # ::ffff:127.0.0.1
    return bool((mapped or address).is_loopback)


def token_in_clear(config: Config) -> List[Tuple[str, str]]:
    """(setting, host) for each URL that would carry the HA token unencrypted (http://) to a
    host other than this machine, where anyone watching the network can copy it."""
    if not config.sends_token:
        return []
    urls = [("[source] url", config.source_url)]
    if config.ha_url:  # the admin actions' calls go there
        urls.append(("[ha] url", config.ha_url))
    found = []
    for setting, url in urls:
        parsed = parse_url(url)
        if parsed.scheme == "http" and not _loopback(parsed.host):
            found.append((setting, parsed.host))
    return found


def doctor(config_path: str, verbose: bool, options: List[str]) -> int:
    """Check everything the agent depends on and say what to fix."""
    doc = _Doctor()
    if sys.version_info < (3, 9):
        doc.problem(f"Python {sys.version.split()[0]} is too old", "install Python 3.9 or newer")
    else:
        doc.ok(f"Python {sys.version.split()[0]}")
    try:
        config = _load(config_path, verbose)
    except ConfigError as err:
        doc.problem(str(err), f"run: python3 -m luckfox_agent --config {config_path} setup")
        return FAILED
    doc.ok(f"config {config_path} is valid")
    _check_config_access(doc, config_path, config)
    if config.source_token and not config.source_is_ha:
        doc.warn(
            "[source] token is set but the source is not HA's data view (a path under "
            f"{HA_DATA_PATH}), so the token is never sent",
            f"remove the token line from {config_path} (setup does this)",
        )
    for setting, host in token_in_clear(config):
        # A warning, not a problem: on a home LAN plain HTTP to HA is common and may be a choice.
        doc.warn(
            f"{setting} sends the HA token unencrypted (http://) to {host}: anyone who can "
            "watch the network on the way can copy it",
            "use https:// (HA with TLS; a self-signed certificate goes in [source] ca_file), "
            "or keep that network to devices you trust",
        )
    if time.gmtime().tm_year < 2024:
        doc.problem(
            "the system clock is not set (year before 2024)",
            "enable NTP; HTTPS and file ages need a correct clock",
        )
    _writable_dir(doc, config.webroot, "web root")
    _writable_dir(doc, os.path.dirname(config.state_file), "state folder")
    if os.path.isfile(os.path.join(config.dashboard, "index.html")):
        doc.ok(f"dashboard found in {config.dashboard}")
    else:
        doc.problem(
            f"no index.html in {config.dashboard}",
            "install the dashboard (install.sh copies www/) or set [paths] dashboard",
        )
    probe = config.webroot if os.path.isdir(config.webroot) else os.path.dirname(config.webroot)
    try:
        fs = os.statvfs(probe)
        free_mb = fs.f_bavail * fs.f_frsize // (1024 * 1024)
        if free_mb < 5:
            doc.problem(f"only {free_mb} MB free under {probe}", "free some space on the board")
        else:
            doc.ok(f"{free_mb} MB free under {probe}")
    except OSError:
        doc.problem(f"cannot check free space under {probe}", "create the web root folder")
    if config.password_hash:
        doc.ok("admin password is set")
    else:
        doc.note("no [admin] password_hash: the admin page is disabled")
    try:
        import hashlib

        if not hasattr(hashlib, "scrypt"):
            doc.note("this Python lacks hashlib.scrypt: password hashes use PBKDF2")
    except ImportError:  # pragma: no cover
        doc.problem("this Python has no hashlib", "install the full python3 package")
    if config.tls:
        for path in (config.tls_cert, config.tls_key):
            if not os.access(path, os.R_OK):
                doc.problem(f"cannot read {path}", "fix [server] tls_cert / tls_key or permissions")
    _check_source(doc, config)
    print(f"{doc.problems} problem(s) found" if doc.problems else "all checks passed")
    return FAILED if doc.problems else OK
