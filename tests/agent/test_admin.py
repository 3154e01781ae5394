"""The admin page of a running agent: login, sessions, CSRF, throttling, status and actions."""

from __future__ import annotations

import http.client
import json
import re
import signal
import ssl
import threading
import time
from collections.abc import Callable
from email.utils import parsedate_to_datetime
from pathlib import Path

import pytest

from .conftest import (
    PASSWORD,
    TOKEN,
    Agent,
    Reply,
    Source,
    level_file,
    run_agent,
    wait_until,
    write_config,
)


@pytest.fixture(scope="session")
def password_hash(newest_python: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The admin password's hash, made by the agent's own `hash-password` command."""
    result = run_agent(
        newest_python,
        tmp_path_factory.mktemp("h") / "none.conf",
        "hash-password",
        "--stdin",
        stdin=PASSWORD + "\n",
    )
    assert result.returncode == 0, result.stderr
    assert PASSWORD not in result.stdout + result.stderr
    return result.stdout.strip()


class Browser:
    """A client that keeps cookies by name and path, like a browser tab."""

    def __init__(self, agent: Agent, ip: str | None = None) -> None:
        self.agent = agent
        self.ip = ip
        self.jar: dict[str, tuple[str, str]] = {}  # name -> (value, path)

    @property
    def cookie(self) -> str | None:
        """The admin session cookie's value."""
        return self.jar.get("ps_session", ("", ""))[0] or None

    @cookie.setter
    def cookie(self, value: str | None) -> None:
        if value is None:
            self.jar.pop("ps_session", None)
        else:
            self.jar["ps_session"] = (value, "/admin")

    def _take_cookies(self, response: Reply) -> None:
        for header in response.headers.get_all("Set-Cookie") or []:
            pair, *attributes = (part.strip() for part in header.split(";"))
            name, _, value = pair.partition("=")
            path = next((a[5:] for a in attributes if a.startswith("Path=")), "/")
            if not value or "Max-Age=0" in attributes:
                self.jar.pop(name, None)
            else:
                self.jar[name] = (value, path)

    def _headers(self, path: str) -> dict[str, str]:
        cookies = [f"{n}={v}" for n, (v, scope) in self.jar.items() if path.startswith(scope)]
        return {"Cookie": "; ".join(cookies)} if cookies else {}

    def get(self, path: str) -> Reply:
        response = self.agent.request("GET", path, headers=self._headers(path), source_ip=self.ip)
        self._take_cookies(response)
        return response

    def post(
        self,
        path: str,
        form: dict[str, str],
        extra: dict[str, str] | None = None,
        timeout: float = 10,
    ) -> Reply:
        body = "&".join(f"{k}={v}" for k, v in form.items()).encode()
        headers = {"Content-Type": "application/x-www-form-urlencoded", **(extra or {})}
        headers.update(self._headers(path))
        response = self.agent.request(
            "POST", path, body=body, headers=headers, source_ip=self.ip, timeout=timeout
        )
        self._take_cookies(response)
        return response

    def csrf(self, path: str = "/admin/login") -> str:
        page = self.get(path).body.decode()
        match = re.search(r'name="csrf" value="([0-9a-f]+)"', page)
        assert match, page
        return match[1]

    def login(self, password: str = PASSWORD) -> Reply:
        token = self.csrf()
        return self.post("/admin/login", {"csrf": token, "password": password.replace(" ", "+")})


def admin_agent(
    tmp_path: Path,
    source: Source,
    agent_python: str,
    password_hash: str,
    start_agent: Callable[..., Agent],
    **overrides: object,
) -> Agent:
    config = write_config(tmp_path, source, **{"admin.password_hash": password_hash, **overrides})
    assert run_agent(agent_python, config, "mirror-once").returncode == 0
    return start_agent(config)


@pytest.fixture
def agent(
    tmp_path: Path,
    source: Source,
    agent_python: str,
    password_hash: str,
    start_agent: Callable[..., Agent],
) -> Agent:
    return admin_agent(tmp_path, source, agent_python, password_hash, start_agent)


def test_admin_without_a_session_is_redirected_to_the_login_page(agent: Agent) -> None:
    for path in ("/admin", "/admin/", "/admin/status.json"):
        response = agent.request("GET", path)
        assert response.status == 303, path
        assert response.getheader("Location") == "/admin/login"


def test_login_issues_a_new_httponly_samesite_strict_session_id(agent: Agent) -> None:
    browser = Browser(agent)
    browser.csrf()
    before = browser.cookie
    response = browser.login()
    assert response.status == 303
    assert response.getheader("Location") == "/admin"
    cookie = response.getheader("Set-Cookie") or ""
    assert "HttpOnly" in cookie
    assert "SameSite=Strict" in cookie
    assert "Path=/admin" in cookie
    assert "Secure" not in cookie  # plain HTTP: a Secure cookie would never come back
    assert browser.cookie
    assert browser.cookie != before
    assert browser.get("/admin").status == 200
    stale = Browser(agent)
    stale.cookie = before
    assert stale.get("/admin").status == 303


def test_a_wrong_password_is_refused(agent: Agent) -> None:
    response = Browser(agent).login("not the password")
    assert response.status == 401
    assert b"Wrong password" in response.body


def test_a_post_without_or_with_a_wrong_csrf_token_gets_403(agent: Agent) -> None:
    browser = Browser(agent)
    browser.login()
    good = browser.csrf("/admin")
    for path in (
        "/admin/mirror",
        "/admin/publish",
        "/admin/maintenance",
        "/admin/logout",
        "/admin/login",
    ):
        assert browser.post(path, {}).status == 403, path
        assert browser.post(path, {"csrf": "0" * 64}).status == 403, path
        for origin in ("http://evil.example", "null"):  # null: an origin the browser hid
            cross = browser.post(path, {"csrf": good}, {"Origin": origin})
            assert cross.status == 403, (path, origin)
    assert Browser(agent).post("/admin/mirror", {"csrf": good}).status == 403
    assert browser.get("/admin").status == 200, "the session survives refused posts"


@pytest.mark.parametrize("origin", ["http://evil.example", "null"])
def test_a_login_with_the_right_token_and_password_from_another_origin_gets_403(
    agent: Agent, origin: str
) -> None:
    browser = Browser(agent)
    form = {"csrf": browser.csrf(), "password": PASSWORD.replace(" ", "+")}
    response = browser.post("/admin/login", form, {"Origin": origin})
    assert response.status == 403
    assert browser.cookie is None
    assert browser.post("/admin/login", form).status == 303, "the same form from no origin"
    assert browser.cookie is not None


def test_brute_force_from_one_client_is_throttled(agent: Agent) -> None:
    attacker = Browser(agent, ip="127.0.0.2")
    statuses = [attacker.login(f"guess-{i}").status for i in range(6)]
    assert statuses[:5] == [401] * 5
    assert statuses[5] == 429
    assert attacker.login().status == 429, "even the right password waits out the lockout"
    agent.wait_for_log("throttled")  # the agent's log arrives through a pipe, after the reply
    assert Browser(agent, ip="127.0.0.3").login().status == 303, "other clients are not locked"


def test_guessing_from_ninety_addresses_slows_logins_but_never_locks_the_admin_out(
    agent: Agent,
) -> None:
    admin = Browser(agent)
    assert admin.login().status == 303, "the admin has logged in from this address before"
    refused = []
    for n in range(90):
        reply = Browser(agent, ip=f"127.0.1.{n + 1}").login(f"guess-{n}")
        assert reply.status in (401, 429)
        if reply.status == 429:
            refused.append(int(reply.getheader("Retry-After") or "0"))
    assert len(refused) >= 90 - 30, "beyond the burst, guesses are slowed for everyone"
    assert max(refused) <= 10, "the wait is one slow turn, not a lockout"
    assert Browser(agent).login().status == 303, "a known address is not slowed by strangers"
    newcomer = Browser(agent, ip="127.0.2.1").login()
    assert newcomer.status == 429
    assert int(newcomer.getheader("Retry-After") or "0") <= 10


def test_a_login_arriving_while_a_password_is_checked_gets_429_at_once_and_the_site_is_served(
    tmp_path: Path,
    source: Source,
    agent_python: str,
    start_agent: Callable[..., Agent],
) -> None:
    # PBKDF2 at 4 million rounds: a check that lasts about a second here, where answering a
    # page takes milliseconds. The hash matches no password.
    slow = f"pbkdf2_sha256$4000000${'00' * 16}${'00' * 32}"
    agent = admin_agent(
        tmp_path, source, agent_python, slow, start_agent, **{"server.threads": "2"}
    )
    browsers = {name: Browser(agent, ip) for name, ip in (("a", "127.0.0.5"), ("b", "127.0.0.6"))}
    forms = {
        name: {"csrf": browser.csrf(), "password": "guess"} for name, browser in browsers.items()
    }
    answers: dict[str, Reply] = {}

    def log_in(name: str) -> None:
        answers[name] = browsers[name].post("/admin/login", forms[name], timeout=120)

    logins = [threading.Thread(target=log_in, args=(name,)) for name in browsers]
    for login in logins:
        login.start()
    first = wait_until(lambda: list(answers), 60, "the first login's answer")[0]
    # Both arrived together: one holds the check, the other was not queued behind it.
    refused = answers[first]
    assert refused.status == 429
    assert refused.getheader("Retry-After") == "1"
    assert b"Another login is being checked" in refused.body
    assert agent.request("GET", "/").status == 200
    assert agent.request("GET", "/house/daily.json").status == 200
    assert len(answers) == 1, "the dashboard was answered while a password was being checked"
    for login in logins:
        login.join(120)
    (checked,) = (answers[name] for name in answers if name != first)
    assert checked.status == 401


def test_a_throttled_address_is_logged_once_per_window(agent: Agent) -> None:
    attacker = Browser(agent, ip="127.0.0.4")
    for i in range(5):
        assert attacker.login(f"guess-{i}").status == 401
    for i in range(50):
        assert attacker.login(f"more-{i}").status == 429
    # Each request's own debug line comes after any warning it caused: once all 55 are in,
    # every throttle line is too.
    wait_until(lambda: agent.log.count("127.0.0.4 POST /admin/login") == 55, what="all lines")
    assert agent.log.count("admin logins from 127.0.0.4 throttled") == 1


def test_the_password_is_never_stored_or_logged_in_clear(agent: Agent, tmp_path: Path) -> None:
    Browser(agent).login("wrong-password-attempt")
    Browser(agent).login()
    agent.stop()
    assert PASSWORD not in agent.log
    assert "wrong-password-attempt" not in agent.log
    assert TOKEN not in agent.log
    for path in tmp_path.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert PASSWORD.encode() not in data, path
            assert b"wrong-password-attempt" not in data, path
    config = (tmp_path / "agent.conf").read_text()
    assert re.search(r"password_hash = scrypt\$8192\$8\$1\$[0-9a-f]{32}\$[0-9a-f]{64}", config)


def test_logout_ends_the_session(agent: Agent) -> None:
    browser = Browser(agent)
    browser.login()
    old = browser.cookie
    response = browser.post("/admin/logout", {"csrf": browser.csrf("/admin")})
    assert response.status == 303
    assert "Max-Age=0" in (response.getheader("Set-Cookie") or "")
    browser.cookie = old
    assert browser.get("/admin").status == 303


def test_the_status_page_shows_mirror_files_memory_disk_uptime_and_version(
    agent: Agent,
) -> None:
    from luckfox_agent import __version__

    browser = Browser(agent)
    browser.login()
    page = browser.get("/admin").body.decode()
    for text in (
        "Last successful poll",
        "house/daily.json",
        "Memory (RSS / peak)",
        "Disk free",
        "Uptime",
        __version__,
        "<th>Source reached</th><td>yes</td>",
    ):
        assert text in page
    status = json.loads(browser.get("/admin/status.json").body)
    assert status["version"] == __version__
    assert status["rss_kb"] > 0
    assert status["disk_free_bytes"] > 0
    assert {f["path"] for f in status["files"]} >= {"house/daily.json", "house/yearly.json"}
    assert all(f["age_seconds"] is not None for f in status["files"])


def test_admin_pages_carry_no_inline_script_or_style(agent: Agent) -> None:
    browser = Browser(agent)
    login_page = browser.get("/admin/login")
    browser.login()
    status_page = browser.get("/admin")
    for response in (login_page, status_page):
        html = response.body.decode()
        assert "<script" not in html
        assert "style=" not in html
        assert "<style" not in html
        assert not re.search(r"<[^>]*\son[a-z]+\s*=", html, re.IGNORECASE), "inline handler"
        csp = response.getheader("Content-Security-Policy") or ""
        assert "default-src 'none'" in csp
        assert "unsafe-inline" not in csp


def test_mirror_now_polls_the_source_at_once(agent: Agent, source: Source, tmp_path: Path) -> None:
    new_daily = level_file("house", "daily", rows=7, seed=5.0)
    source.data.files["house/daily.json"] = new_daily
    browser = Browser(agent)
    browser.login()
    response = browser.post("/admin/mirror", {"csrf": browser.csrf("/admin")})
    assert response.status == 303
    daily = tmp_path / "webroot" / "house" / "daily.json"
    wait_until(lambda: daily.read_bytes() == new_daily, 15, "the mirror to fetch the new file")


def test_an_error_holding_the_token_across_the_cut_is_shown_without_any_of_it(
    agent: Agent, source: Source, tmp_path: Path
) -> None:
    doc = json.loads(source.data.manifest())
    quoted_from = len("manifest.json has format '")
    # Across the 300th character of the message, where the kept error is cut.
    doc["format"] = "x" * (285 - quoted_from) + TOKEN + "x" * 200
    source.data.manifest_override = json.dumps(doc).encode()
    browser = Browser(agent)
    browser.login()
    assert browser.post("/admin/mirror", {"csrf": browser.csrf("/admin")}).status == 303
    status = wait_until(
        lambda: json.loads(browser.get("/admin/status.json").body)["last_error"],
        15,
        "the poll to fail",
    )
    assert status.startswith("manifest.json has format 'xxx")
    shown = [
        status,
        browser.get("/admin").body.decode(),
        agent.log,
        (tmp_path / "state" / "state.json").read_text(),
    ]
    for text in shown:
        assert TOKEN[:8] not in text
        assert TOKEN[-8:] not in text


def test_publish_now_calls_the_integrations_action_with_the_token(
    agent: Agent, source: Source
) -> None:
    browser = Browser(agent)
    browser.login()
    assert browser.post("/admin/publish", {"csrf": browser.csrf("/admin")}).status == 303
    assert source.services == [("powerstats.publish", {})]
    assert "Publish to GitHub: done." in browser.get("/admin").body.decode()


def test_the_maintenance_toggle_calls_the_integrations_action_without_an_entity_id(
    agent: Agent, source: Source
) -> None:
    browser = Browser(agent)
    browser.login()
    page = browser.get("/admin").body.decode()
    assert "Turn maintenance mode on" in page
    on = browser.post("/admin/maintenance", {"csrf": browser.csrf("/admin"), "state": "on"})
    assert on.status == 303
    # The page after the action shows the state HA confirmed, before any poll.
    page = browser.get("/admin").body.decode()
    assert "Maintenance mode on: done." in page
    assert "<th>Maintenance mode</th><td>on</td>" in page
    assert "Turn maintenance mode off" in page
    assert source.data.maintenance is True
    # The poll it started mirrors the manifest saying so.
    wait_until(
        lambda: '"maintenance": true' in agent.request("GET", "/manifest.json").body.decode(),
        15,
        "the mirrored manifest to show maintenance on",
    )
    assert "Turn maintenance mode off" in browser.get("/admin").body.decode()
    off = browser.post("/admin/maintenance", {"csrf": browser.csrf("/admin"), "state": "off"})
    assert off.status == 303
    page = browser.get("/admin").body.decode()
    assert "Maintenance mode off: done." in page
    assert "Turn maintenance mode on" in page
    assert source.services == [
        ("powerstats.set_maintenance", {"enabled": True}),
        ("powerstats.set_maintenance", {"enabled": False}),
    ]
    assert source.data.maintenance is False


def test_publish_now_shows_why_home_assistant_refused_it(agent: Agent, source: Source) -> None:
    reason = "only an administrator can replace the PowerStats files already published"
    source.action_failure = (400, json.dumps({"message": reason}).encode())  # HA 2026.11
    browser = Browser(agent)
    browser.login()
    assert browser.post("/admin/publish", {"csrf": browser.csrf("/admin")}).status == 303
    page = browser.get("/admin").body.decode()
    assert (
        '<p class="error">Publish to GitHub failed: '
        f"Home Assistant refused powerstats.publish: {reason}</p>"
    ) in page


def test_publish_refused_by_ha_2025_4_without_a_reason_says_where_to_read_it(
    agent: Agent, source: Source
) -> None:
    source.action_failure = (500, b"")  # HA 2025.4's answer to a ServiceValidationError
    browser = Browser(agent)
    browser.login()
    assert browser.post("/admin/publish", {"csrf": browser.csrf("/admin")}).status == 303
    page = browser.get("/admin").body.decode()
    assert (
        '<p class="error">Publish to GitHub failed: Home Assistant refused powerstats.publish '
        "without giving a reason (HTTP 500); read it in Home Assistant&#39;s log (Settings &gt; "
        "System &gt; Logs) or on the PowerStats device page (Settings &gt; Devices &amp; "
        "services &gt; PowerStats)</p>"
    ) in page
    assert "answered HTTP 500" not in page


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        ("stale", "Home Assistant left maintenance mode off; nothing was changed"),
        ("no_responses", "carries no result"),
        ("unregistered", "update the PowerStats integration"),
    ],
)
def test_maintenance_is_reported_as_failed_unless_ha_confirms_the_new_state(
    agent: Agent, source: Source, fault: str, message: str
) -> None:
    source.maintenance_fault = fault
    browser = Browser(agent)
    browser.login()
    browser.post("/admin/maintenance", {"csrf": browser.csrf("/admin"), "state": "on"})
    page = browser.get("/admin").body.decode()
    assert '<p class="error">Maintenance mode on failed:' in page
    assert message in page
    assert "done." not in page


def test_ha_actions_are_not_offered_for_a_static_source(
    tmp_path: Path,
    static_source: Source,
    agent_python: str,
    password_hash: str,
    start_agent: Callable[..., Agent],
) -> None:
    agent = admin_agent(tmp_path, static_source, agent_python, password_hash, start_agent)
    browser = Browser(agent)
    browser.login()
    page = browser.get("/admin").body.decode()
    assert "Mirror now" in page
    assert "Publish" not in page
    assert "maintenance mode" not in page
    assert browser.post("/admin/publish", {"csrf": browser.csrf("/admin")}).status == 303
    assert static_source.services == []


def test_without_a_password_hash_the_admin_page_is_disabled(
    tmp_path: Path, source: Source, start_agent: Callable[..., Agent]
) -> None:
    agent = start_agent(write_config(tmp_path, source))
    assert agent.request("GET", "/admin").status == 404
    assert agent.request("GET", "/admin/login").status == 404


def test_https_serves_the_dashboard_and_marks_the_session_cookie_secure(
    tmp_path: Path,
    source: Source,
    agent_python: str,
    password_hash: str,
    start_agent: Callable[..., Agent],
    tls_files: tuple[Path, Path],
) -> None:
    cert, key = tls_files
    agent = admin_agent(
        tmp_path,
        source,
        agent_python,
        password_hash,
        start_agent,
        **{"server.tls_cert": cert, "server.tls_key": key},
    )
    context = ssl.create_default_context(cafile=str(cert))
    context.check_hostname = False
    conn = http.client.HTTPSConnection("127.0.0.1", agent.port, context=context, timeout=10)
    conn.request("GET", "/admin/login")
    response = conn.getresponse()
    response.read()
    assert response.status == 200
    assert "Secure" in (response.getheader("Set-Cookie") or "")
    assert response.getheader("Strict-Transport-Security")
    conn.close()
    plain = agent.raw(b"GET / HTTP/1.1\r\n\r\n")
    assert not plain.startswith(b"HTTP/1.1 200")


def test_the_status_page_shows_the_last_50_log_lines_escaped(agent: Agent) -> None:
    for number in range(60):
        agent.raw(f"GET /probe-{number}-<b>x</b> HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
    browser = Browser(agent)
    browser.login()
    page = browser.get("/admin").body.decode()
    shown = re.search(r'<h2>Recent log</h2><pre class="log">(.*?)</pre>', page, re.DOTALL)
    assert shown, page
    lines = shown[1].split("\n")
    assert len(lines) == 50
    assert "/probe-59-&lt;b&gt;x&lt;/b&gt;" in shown[1], "client input is shown escaped"
    assert "<b>" not in shown[1]
    assert "/probe-0-" not in shown[1], "only the last 50 lines"
    assert TOKEN not in page


def test_strangers_fetching_the_login_page_cannot_evict_the_admins_pending_login(
    agent: Agent,
) -> None:
    admin = Browser(agent)
    token = admin.csrf()
    for n in range(300):
        assert Browser(agent, ip=f"127.0.3.{n % 200 + 1}").get("/admin/login").status == 200
    reply = admin.post("/admin/login", {"csrf": token, "password": PASSWORD.replace(" ", "+")})
    assert reply.status == 303
    assert admin.get("/admin").status == 200


def test_a_login_token_only_works_with_its_own_cookie(agent: Agent) -> None:
    attacker, victim = Browser(agent, ip="127.0.0.5"), Browser(agent)
    stolen = attacker.csrf()
    victim.csrf()
    reply = victim.post("/admin/login", {"csrf": stolen, "password": PASSWORD.replace(" ", "+")})
    assert reply.status == 403


def test_a_password_change_ends_every_session(
    tmp_path: Path, agent: Agent, agent_python: str
) -> None:
    first, second = Browser(agent), Browser(agent, ip="127.0.0.6")
    first.login()
    second.login()
    assert first.get("/admin").status == 200
    new_hash = run_agent(agent_python, tmp_path / "x.conf", "hash-password", stdin="a new one!\n")
    config = tmp_path / "agent.conf"
    text = re.sub(
        r"password_hash = .*", f"password_hash = {new_hash.stdout.strip()}", config.read_text()
    )
    config.write_text(text)
    mark = len(agent.lines)
    agent.signal(signal.SIGHUP)
    agent.wait_for_log("configuration reloaded", start=mark)
    assert "every admin session ended" in agent.log
    assert first.get("/admin").status == 303
    assert second.get("/admin/status.json").status == 303
    assert Browser(agent).login("a new one!").status == 303


def test_uptime_counts_from_the_process_start_not_the_first_status_request(
    tmp_path: Path, source: Source, agent_python: str, password_hash: str
) -> None:
    libfaketime = next(iter(sorted(Path("/usr/lib").glob("*/faketime/libfaketime.so.1"))), None)
    if libfaketime is None:
        pytest.skip("needs libfaketime to move the agent's clock (scripts/setup installs it)")
    offset = tmp_path / "clock-offset"
    offset.write_text("+0\n")
    movable_clock = {
        "LD_PRELOAD": str(libfaketime),
        "FAKETIME_TIMESTAMP_FILE": str(offset),
        "FAKETIME_CACHE_DURATION": "1",
    }
    config = write_config(tmp_path, source, **{"admin.password_hash": password_hash})
    agent = Agent(agent_python, config, env=movable_clock)
    try:
        later = tmp_path / "clock-offset.new"
        later.write_text("+3600\n")
        later.replace(offset)  # an hour passes for the agent before anyone asks its status

        def agent_clock_moved() -> bool:
            date = agent.request("GET", "/").getheader("Date") or ""
            return parsedate_to_datetime(date).timestamp() > time.time() + 3000

        wait_until(agent_clock_moved, 60, "the agent's clock to move an hour")
        browser = Browser(agent)
        browser.login()
        uptime = json.loads(browser.get("/admin/status.json").body)["uptime_seconds"]
        assert 3600 <= uptime < 3700
    finally:
        agent.stop()
