"""The agent's configuration: an INI file with commented defaults, read once and on SIGHUP.

The shipped `powerstats-agent.conf.example` documents every option; `DEFAULTS` below is the
same list in code, so a config file only needs the lines it changes.
"""

from __future__ import annotations

import os

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs resident memory; mypy reads it, the board does not
    from typing import Dict, Optional, Tuple

DEFAULTS: Dict[str, Dict[str, str]] = {
    "source": {
        "url": "",
        "token": "",
        "kind": "auto",
        "interval": "300",
        "timeout": "20",
        "max_backoff": "1800",
        "max_file_bytes": "262144",
        "ca_file": "",
    },
    "server": {
        "host": "0.0.0.0",  # noqa: S104 - a LAN display: every interface by default
        "port": "8080",
        "threads": "2",
        "request_timeout": "10",
        "allowed_hosts": "",
        "tls_cert": "",
        "tls_key": "",
    },
    "paths": {
        "webroot": "/var/lib/powerstats-agent/www",
        "dashboard": "/usr/share/powerstats-agent/www",
        "state": "/var/lib/powerstats-agent/state.json",
    },
    "admin": {
        "password_hash": "",
        "session_minutes": "30",
    },
    "ha": {
        "url": "",
    },
    "log": {
        "level": "info",
        "target": "stderr",
    },
}

# Options older versions knew: accepted and ignored, so an upgrade never stops the agent.
RETIRED = frozenset([("ha", "maintenance_entity")])
# The token is sent only to Home Assistant's PowerStats data view (and to that HA's API for
# the admin actions): never to a Pages site or any other host that happens to be the source.
HA_DATA_PATH = "/api/powerstats/data/"


class ConfigError(Exception):
    """The configuration file is missing, unreadable or has a bad value."""


class SourceUrl:
    """A source URL split into the parts the HTTP client needs."""

    __slots__ = (
        "host",
        "path",
        "port",
        "scheme",
    )

    scheme: str
    host: str
    port: int
    path: str

    def __init__(self, scheme: str, host: str, port: int, path: str) -> None:
        self.scheme = scheme
        self.host = host
        self.port = port
        self.path = path

    @property
    def origin(self) -> str:
        """scheme://host:port, without a path."""
        return f"{self.scheme}://{self.host}:{self.port}"


def check_sendable(value: str, what: str) -> None:
    """Refuse a value bound for a request's head that holds more than printable ASCII.

    Such a character is mostly one pasted along unseen (a zero-width or non-breaking space):
    HTTP cannot carry it, or carries bytes the other end reads as another value. Refused when
    the config is read, it is named once instead of failing every request. The ValueError names
    the character, never the value: that may be a token.
    """
    for char in value:
        if not "!" <= char <= "~":
            raise ValueError(f"holds the character U+{ord(char):04X}, which cannot go into {what}")


def parse_url(url: str) -> SourceUrl:
    """Split an http(s) URL; raises ValueError with a readable reason."""
    try:
        check_sendable(url, "an HTTP request")
    except ValueError as err:
        raise ValueError(f"{err}; percent-encode it (a host name: its xn-- form)") from None
    scheme, sep, rest = url.partition("://")
    scheme = scheme.lower()
    if not sep or scheme not in ("http", "https"):
        raise ValueError("must start with http:// or https://")
    hostport, _slash, path = rest.partition("/")
    if "@" in hostport:
        raise ValueError(
            "must not contain a user name or password; put the token in [source] token"
        )
    if not hostport:
        raise ValueError("has no host name")
    port = 443 if scheme == "https" else 80
    host = hostport
    if hostport.startswith("["):
        end = hostport.find("]")
        if end < 0:
            raise ValueError("has a malformed IPv6 address")
        host = hostport[1:end]
        if hostport[end + 1 :].startswith(":"):
            port = int(hostport[end + 2 :])
    elif ":" in hostport:
        host, _, port_text = hostport.rpartition(":")
        port = int(port_text)
    if not 0 < port < 65536:
        raise ValueError("has a port outside 1-65535")
    path = "/" + path.split("#", 1)[0].split("?", 1)[0]
    if not path.endswith("/"):
        path += "/"
    return SourceUrl(scheme, host, port, path)


def is_ha_data_url(url: str) -> bool:
    """True when `url` is Home Assistant's PowerStats data view (a path under HA_DATA_PATH)."""
    try:
        return parse_url(url).path.startswith(HA_DATA_PATH)
    except ValueError:
        return False


class Config:
    """Everything the agent reads from its configuration file."""

    __slots__ = (
        "allowed_hosts",
        "dashboard",
        "ha_url",
        "host",
        "interval",
        "log_level",
        "log_target",
        "max_backoff",
        "max_file_bytes",
        "password_hash",
        "path",
        "port",
        "request_timeout",
        "session_minutes",
        "source_ca_file",
        "source_kind",
        "source_token",
        "source_url",
        "state_file",
        "threads",
        "timeout",
        "tls_cert",
        "tls_key",
        "webroot",
    )

    path: str
    source_url: str
    source_token: str
    source_kind: str
    source_ca_file: str
    interval: float
    timeout: float
    max_backoff: float
    max_file_bytes: int
    host: str
    port: int
    threads: int
    request_timeout: float
    allowed_hosts: Tuple[str, ...]
    tls_cert: str
    tls_key: str
    webroot: str
    dashboard: str
    state_file: str
    password_hash: str
    session_minutes: int
    ha_url: str
    log_level: str
    log_target: str

    def __init__(
        self,
        path: str,
        source_url: str,
        source_token: str,
        source_kind: str,
        source_ca_file: str,
        interval: float,
        timeout: float,
        max_backoff: float,
        max_file_bytes: int,
        host: str,
        port: int,
        threads: int,
        request_timeout: float,
        allowed_hosts: Tuple[str, ...],
        tls_cert: str,
        tls_key: str,
        webroot: str,
        dashboard: str,
        state_file: str,
        password_hash: str,
        session_minutes: int,
        ha_url: str,
        log_level: str,
        log_target: str,
    ) -> None:
        self.path = path
        self.source_url = source_url
        self.source_token = source_token
        self.source_kind = source_kind
        self.source_ca_file = source_ca_file
        self.interval = interval
        self.timeout = timeout
        self.max_backoff = max_backoff
        self.max_file_bytes = max_file_bytes
        self.host = host
        self.port = port
        self.threads = threads
        self.request_timeout = request_timeout
        self.allowed_hosts = allowed_hosts
        self.tls_cert = tls_cert
        self.tls_key = tls_key
        self.webroot = webroot
        self.dashboard = dashboard
        self.state_file = state_file
        self.password_hash = password_hash
        self.session_minutes = session_minutes
        self.ha_url = ha_url
        self.log_level = log_level
        self.log_target = log_target

    @property
    def source(self) -> SourceUrl:
        """The parsed source URL (validated at load time)."""
        return parse_url(self.source_url)

    @property
    def source_is_ha(self) -> bool:
        """True when the source is Home Assistant's authenticated data view."""
        return self.source_kind != "static" and is_ha_data_url(self.source_url)

    @property
    def sends_token(self) -> bool:
        """True when requests to the source (and HA's API) carry the token."""
        return bool(self.source_token) and self.source_is_ha

    @property
    def ha_origin(self) -> str:
        """Base URL of Home Assistant's REST API."""
        if self.ha_url:
            return self.ha_url.rstrip("/")
        return self.source.origin

    @property
    def tls(self) -> bool:
        """True when the server speaks HTTPS."""
        return bool(self.tls_cert and self.tls_key)


def _number(section: str, key: str, text: str, low: float, high: float) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ConfigError(f"[{section}] {key} = {text!r} is not a number") from None
    if not low <= value <= high:
        raise ConfigError(f"[{section}] {key} = {text} must be between {low:g} and {high:g}")
    return value


def _host_list(text: str) -> Tuple[str, ...]:
    names = []
    for item in text.replace(",", " ").split():
        name = item.lower().rstrip(".")
        if name.startswith("[") and name.endswith("]"):
            name = name[1:-1]
        if not name or any(c in name for c in "/@?#[] "):
            raise ConfigError(
                f"[server] allowed_hosts: {item!r} is not a host name or address "
                "(list names and addresses without scheme or port, separated by spaces)"
            )
        names.append(name)
    return tuple(names)


def parse_ini(text: str) -> Dict[str, Dict[str, str]]:
    """The sections of an INI text: `[section]`, `key = value` (or `key: value`), comments.

    What configparser reads from such files, without configparser (and the `re` it imports,
    about 0.2 MB resident on the board): keys are lower case, values stripped, `#` and `;`
    start a comment line (not an inline comment), and a repeated section or key, or a line
    that is neither, is a ValueError naming the line.
    """
    sections: Dict[str, Dict[str, str]] = {}
    current: Optional[Dict[str, str]] = None
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line[0] == "[":
            if not line.endswith("]"):
                raise ValueError(f"line {number}: a section header must end with ]")
            name = line[1:-1].strip()
            if name in sections:
                raise ValueError(f"line {number}: section [{name}] appears twice")
            current = sections[name] = {}
            continue
        cut = min((i for i in (line.find("="), line.find(":")) if i > 0), default=-1)
        if cut < 0:
            raise ValueError(f"line {number}: expected `key = value`, got {line[:40]!r}")
        if current is None:
            raise ValueError(f"line {number}: `{line[:40]}` comes before any [section]")
        key = line[:cut].strip().lower()
        if key in current:
            raise ValueError(f"line {number}: {key} appears twice in its section")
        current[key] = line[cut + 1 :].strip()
    return sections


def read_ini(path: str) -> Dict[str, Dict[str, str]]:
    """Read the INI file over the defaults; raises ConfigError naming the problem."""
    try:
        with open(path, encoding="utf-8") as handle:
            parsed = parse_ini(handle.read())
    except FileNotFoundError:
        raise ConfigError(
            f"config file {path} does not exist; create it with "
            f"`python3 -m luckfox_agent --config {path} setup`"
        ) from None
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"cannot read config file {path}: {err}") from None
    except ValueError as err:
        raise ConfigError(f"config file {path} is not valid INI: {err}") from None
    values = {section: dict(options) for section, options in DEFAULTS.items()}
    for section, options in parsed.items():
        if section not in DEFAULTS:
            raise ConfigError(f"config file {path}: unknown section [{section}]")
        for key, value in options.items():
            if (section, key) in RETIRED:
                continue
            if key not in DEFAULTS[section]:
                raise ConfigError(f"config file {path}: unknown option [{section}] {key}")
            values[section][key] = value.strip()
    return values


def load(path: str) -> Config:
    """Load and validate the configuration file at `path`."""
    v = read_ini(path)
    src, srv, paths, adm, ha, log = (
        v["source"],
        v["server"],
        v["paths"],
        v["admin"],
        v["ha"],
        v["log"],
    )
    if not src["url"]:
        raise ConfigError(
            "[source] url is empty; set it to HA's /api/powerstats/data/ or a Pages URL"
        )
    try:
        parse_url(src["url"])
    except ValueError as err:
        raise ConfigError(f"[source] url {err}") from None
    try:
        check_sendable(src["token"], "an HTTP header")
    except ValueError as err:
        raise ConfigError(
            f"[source] token {err}; paste the token again, without what was copied along with it"
        ) from None
    if src["kind"] not in ("auto", "ha", "static"):
        raise ConfigError("[source] kind must be auto, ha or static")
    if src["kind"] == "ha" and not is_ha_data_url(src["url"]):
        raise ConfigError(
            f"[source] kind = ha needs HA's data view as [source] url (a path under "
            f"{HA_DATA_PATH}); set kind = auto for any other source"
        )
    if ha["url"]:
        try:
            parse_url(ha["url"])
        except ValueError as err:
            raise ConfigError(f"[ha] url {err}") from None
    if (srv["tls_cert"] == "") != (srv["tls_key"] == ""):
        raise ConfigError("[server] tls_cert and tls_key must be set together (or both left empty)")
    if log["level"] not in ("debug", "info", "warning", "error"):
        raise ConfigError("[log] level must be debug, info, warning or error")
    if log["target"] not in ("stderr", "syslog"):
        raise ConfigError("[log] target must be stderr or syslog")
    pw_hash = adm["password_hash"]
    if pw_hash and not pw_hash.startswith(("scrypt$", "pbkdf2_sha256$")):
        raise ConfigError(
            "[admin] password_hash is not a hash; create one with "
            "`python3 -m luckfox_agent hash-password`"
        )
    return Config(
        path=path,
        source_url=src["url"],
        source_token=src["token"],
        source_kind=src["kind"],
        source_ca_file=src["ca_file"],
        interval=_number("source", "interval", src["interval"], 0.05, 86400),
        timeout=_number("source", "timeout", src["timeout"], 0.05, 600),
        max_backoff=_number("source", "max_backoff", src["max_backoff"], 0.05, 86400),
        max_file_bytes=int(
            _number("source", "max_file_bytes", src["max_file_bytes"], 1024, 1 << 30)
        ),
        host=srv["host"],
        port=int(_number("server", "port", srv["port"], 0, 65535)),
        threads=int(_number("server", "threads", srv["threads"], 1, 64)),
        request_timeout=_number("server", "request_timeout", srv["request_timeout"], 0.1, 300),
        allowed_hosts=_host_list(srv["allowed_hosts"]),
        tls_cert=srv["tls_cert"],
        tls_key=srv["tls_key"],
        webroot=os.path.abspath(paths["webroot"]),
        dashboard=os.path.abspath(paths["dashboard"]),
        state_file=os.path.abspath(paths["state"]),
        password_hash=pw_hash,
        session_minutes=int(_number("admin", "session_minutes", adm["session_minutes"], 1, 1440)),
        ha_url=ha["url"],
        log_level=log["level"],
        log_target=log["target"],
    )


def render(values: Dict[str, Dict[str, str]]) -> str:
    """Render a config file (used by `setup`): only the options that differ from defaults."""
    lines = [
        "# PowerStats agent configuration, written by `luckfox_agent setup`.",
        "# Every option and its default is documented in powerstats-agent.conf.example.",
        "",
    ]
    for section, options in values.items():
        changed: Tuple[Tuple[str, str], ...] = tuple(
            (k, val) for k, val in options.items() if DEFAULTS[section].get(k) != val
        )
        if not changed:
            continue
        lines.append(f"[{section}]")
        lines.extend(f"{key} = {val}" for key, val in changed)
        lines.append("")
    return "\n".join(lines)


def config_example_text() -> str:
    """The shipped example configuration (every option, commented, with its default)."""
    here = os.path.dirname(os.path.abspath(__file__))
    with open(os.path.join(here, "powerstats-agent.conf.example"), encoding="utf-8") as handle:
        return handle.read()
