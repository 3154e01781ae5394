"""The LAN web server of a running agent: allow-list, traversal, caching, gzip, headers, fuzz."""

from __future__ import annotations

import gzip
import hashlib
import os
import random
import re
import socket
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from .conftest import (
    Agent,
    Dataset,
    Source,
    level_file,
    run_agent,
    wait_until,
    write_config,
)


@pytest.fixture
def agent(
    tmp_path: Path, source: Source, agent_python: str, start_agent: Callable[..., Agent]
) -> Agent:
    """A serving agent whose web root already holds a mirror of `source`."""
    config = write_config(tmp_path, source)
    assert run_agent(agent_python, config, "mirror-once").returncode == 0
    return start_agent(config)


def test_the_dashboard_and_the_data_are_served_with_their_content_types(
    agent: Agent, source: Source, tmp_path: Path
) -> None:
    expected = {
        "/": ("text/html; charset=utf-8", (tmp_path / "dashboard" / "index.html").read_bytes()),
        "/app.js": (
            "text/javascript; charset=utf-8",
            (tmp_path / "dashboard" / "app.js").read_bytes(),
        ),
        "/style.css": ("text/css; charset=utf-8", b"body { margin: 0 }\n"),
        "/manifest.json": ("application/json", source.data.manifest()),
        "/house/daily.json": ("application/json", source.data.files["house/daily.json"]),
    }
    for path, (content_type, body) in expected.items():
        response = agent.request("GET", path)
        assert response.status == 200, path
        assert response.getheader("Content-Type") == content_type
        assert response.body == body


def test_every_response_carries_nosniff_and_the_resource_policy(agent: Agent) -> None:
    for path in ("/", "/app.js", "/style.css", "/manifest.json", "/nothing-here", "/admin/login"):
        response = agent.request("GET", path, headers={"Accept-Encoding": "gzip"})
        assert response.getheader("X-Content-Type-Options") == "nosniff", path
        assert response.getheader("Cross-Origin-Resource-Policy") == "same-origin", path


def test_every_document_carries_the_content_security_framing_and_referrer_policies(
    agent: Agent,
) -> None:
    for path in ("/", "/nothing-here", "/admin/login", "/house/nothing.json"):
        response = agent.request("GET", path)
        csp = response.getheader("Content-Security-Policy") or ""
        assert "script-src 'self'" in csp or "default-src 'none'" in csp, path
        assert "unsafe-inline" not in csp
        assert "frame-ancestors 'none'" in csp
        assert response.getheader("X-Frame-Options") == "DENY"
        # The admin's forms need their origin sent back (see the browser's test of them).
        referrer = "same-origin" if path.startswith("/admin") else "no-referrer"
        assert response.getheader("Referrer-Policy") == referrer, path
        # Only the admin is kept from other sites' windows (the opener policy costs the
        # dashboard's first load a process of its own in Chromium).
        opener = "same-origin" if path.startswith("/admin") else None
        assert response.getheader("Cross-Origin-Opener-Policy") == opener, path


def test_scripts_styles_and_data_leave_out_the_policies_only_documents_use(agent: Agent) -> None:
    for path in ("/app.js", "/style.css", "/manifest.json", "/house/daily.json"):
        response = agent.request("GET", path, headers={"Accept-Encoding": "gzip"})
        assert response.status == 200
        assert response.getheader("Content-Security-Policy") is None, path
        assert response.getheader("X-Frame-Options") is None, path


def test_a_matching_etag_gets_304_without_a_body(agent: Agent) -> None:
    first = agent.request("GET", "/house/daily.json")
    etag = first.getheader("ETag")
    assert etag
    again = agent.request("GET", "/house/daily.json", headers={"If-None-Match": etag})
    assert again.status == 304
    assert again.body == b""


def test_gzip_comes_only_from_a_fresh_gz_sibling_and_only_when_accepted(
    agent: Agent, tmp_path: Path
) -> None:
    script = tmp_path / "dashboard" / "app.js"
    plain = script.read_bytes()
    assert agent.request("GET", "/app.js", headers={"Accept-Encoding": "gzip"}).body == plain
    (tmp_path / "dashboard" / "app.js.gz").write_bytes(gzip.compress(plain))
    zipped = agent.request("GET", "/app.js", headers={"Accept-Encoding": "gzip, deflate"})
    assert zipped.getheader("Content-Encoding") == "gzip"
    assert gzip.decompress(zipped.body) == plain
    refused = agent.request("GET", "/app.js", headers={"Accept-Encoding": "gzip;q=0"})
    assert refused.getheader("Content-Encoding") is None
    assert refused.body == plain
    script.write_bytes(plain + b"// changed after the .gz was made\n")
    os.utime(script, ns=(time.time_ns() + 10**9,) * 2)
    stale = agent.request("GET", "/app.js", headers={"Accept-Encoding": "gzip"})
    assert stale.getheader("Content-Encoding") is None
    assert stale.body.endswith(b"// changed after the .gz was made\n")


def test_a_precompressed_dashboard_file_is_sent_as_it_is(agent: Agent, tmp_path: Path) -> None:
    script = tmp_path / "dashboard" / "app.js"
    stored = gzip.compress(script.read_bytes(), 9)
    (tmp_path / "dashboard" / "app.js.gz").write_bytes(stored)
    response = agent.request("GET", "/app.js", headers={"Accept-Encoding": "gzip"})
    assert response.getheader("Content-Encoding") == "gzip"
    assert response.body == stored
    assert agent.request("GET", "/app.js.gz").status == 404


def gzip_siblings(webroot: Path, path: str) -> list[Path]:
    """The mirror's gzip siblings of data file `path` (<file>.<sha256>.gz)."""
    return sorted(webroot.glob(f"{path}.*.gz"))


@pytest.mark.parametrize("path", ["/manifest.json", "/house/daily.json", "/house/yearly.json"])
def test_a_mirrored_file_is_sent_gzipped_when_accepted_and_unpacks_to_the_file(
    agent: Agent, tmp_path: Path, path: str
) -> None:
    served = (tmp_path / "webroot" / path[1:]).read_bytes()
    zipped = agent.request("GET", path, headers={"Accept-Encoding": "gzip, deflate, br"})
    assert zipped.status == 200
    assert zipped.getheader("Content-Encoding") == "gzip"
    assert zipped.getheader("Vary") == "Accept-Encoding"
    assert len(zipped.body) < len(served)
    assert gzip.decompress(zipped.body) == served


@pytest.mark.parametrize("accept", [None, "identity", "gzip;q=0", "br, deflate"])
def test_a_mirrored_file_is_sent_as_it_is_when_gzip_is_not_accepted(
    agent: Agent, source: Source, accept: str | None
) -> None:
    headers = {"Accept-Encoding": accept} if accept is not None else {}
    plain = agent.request("GET", "/house/daily.json", headers=headers)
    assert plain.status == 200
    assert plain.getheader("Content-Encoding") is None
    assert plain.body == source.data.files["house/daily.json"]


def test_the_gzipped_and_the_plain_answer_have_their_own_etags(agent: Agent) -> None:
    zipped = agent.request("GET", "/house/daily.json", headers={"Accept-Encoding": "gzip"})
    plain = agent.request("GET", "/house/daily.json")
    assert zipped.getheader("ETag") != plain.getheader("ETag")
    again = agent.request(
        "GET",
        "/house/daily.json",
        headers={"Accept-Encoding": "gzip", "If-None-Match": zipped.getheader("ETag") or ""},
    )
    assert again.status == 304


def test_a_file_replaced_under_its_sibling_is_sent_as_it_is_never_as_the_old_gzip(
    agent: Agent, tmp_path: Path
) -> None:
    daily = tmp_path / "webroot" / "house" / "daily.json"
    assert gzip_siblings(tmp_path / "webroot", "house/daily.json")
    # Other bytes swapped in behind the mirror's back (as a crash between renames leaves it):
    # same size, the old sibling still lying beside it.
    other = daily.read_bytes().replace(b"Europe/Amsterdam", b"Europe/Rotterdam")
    assert len(other) == daily.stat().st_size
    staged = daily.with_name(".daily.json.by-hand")
    staged.write_bytes(other)
    os.replace(staged, daily)
    answer = agent.request("GET", "/house/daily.json", headers={"Accept-Encoding": "gzip"})
    assert answer.getheader("Content-Encoding") is None
    assert answer.body == other


def test_a_file_without_its_sibling_is_sent_as_it_is(agent: Agent, tmp_path: Path) -> None:
    for sibling in gzip_siblings(tmp_path / "webroot", "house/weekly.json"):
        sibling.unlink()
    answer = agent.request("GET", "/house/weekly.json", headers={"Accept-Encoding": "gzip"})
    assert answer.getheader("Content-Encoding") is None
    assert answer.body == (tmp_path / "webroot" / "house" / "weekly.json").read_bytes()


def test_at_start_a_sibling_made_from_other_bytes_than_the_file_is_never_sent(
    tmp_path: Path, source: Source, agent_python: str, start_agent: Callable[..., Agent]
) -> None:
    """A crash between the sibling's rename and its file's: the new sibling, the old file."""
    config = write_config(tmp_path, source)
    assert run_agent(agent_python, config, "mirror-once").returncode == 0
    webroot = tmp_path / "webroot"
    old = (webroot / "house" / "daily.json").read_bytes()
    for sibling in gzip_siblings(webroot, "house/daily.json"):
        sibling.unlink()
    new = level_file("house", "daily", rows=40, seed=5.0)
    orphan = webroot / f"house/daily.json.{hashlib.sha256(new).hexdigest()}.gz"
    orphan.write_bytes(gzip.compress(new))
    agent = start_agent(config)
    answer = agent.request("GET", "/house/daily.json", headers={"Accept-Encoding": "gzip"})
    assert answer.getheader("Content-Encoding") is None
    assert answer.body == old
    assert not orphan.exists(), "a sibling of no file held is removed at start"


def test_directories_are_never_listed(agent: Agent) -> None:
    for path in ("/house/", "/house", "/vendor/", "/admin/../house/"):
        assert agent.request("GET", path).status == 404


TRAVERSALS = [
    "/../agent.conf",
    "/house/../../agent.conf",
    "/%2e%2e/agent.conf",
    "/%2E%2E%2Fagent.conf",
    "/%252e%252e/agent.conf",
    "/%252e%252e%252fagent.conf",
    "/..%5cagent.conf",
    "/..\\agent.conf",
    "/house\\..\\..\\agent.conf",
    "//etc/passwd",
    "/etc/passwd",
    "http://127.0.0.1/../agent.conf",
    "/%00/etc/passwd",
    "/state/state.json",
    "/.manifest.json.tmp",
    "/house/daily.json%00.html",
    "/%c0%ae%c0%ae/agent.conf",
]


def test_path_traversal_attempts_get_404(agent: Agent) -> None:
    for target in TRAVERSALS:
        reply = agent.raw(f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
        assert reply.split(b"\r\n", 1)[0] == b"HTTP/1.1 404 Not Found", target
        assert b"[source]" not in reply, target
        assert b"root:" not in reply, target


def test_a_symlink_in_the_web_root_is_not_followed(
    tmp_path: Path, source: Source, agent_python: str, start_agent: Callable[..., Agent]
) -> None:
    config = write_config(tmp_path, source)
    assert run_agent(agent_python, config, "mirror-once").returncode == 0
    secret = tmp_path / "secret.txt"
    secret.write_text("secret")
    daily = tmp_path / "webroot" / "house" / "daily.json"
    daily.unlink()
    daily.symlink_to(secret)
    (tmp_path / "dashboard" / "leak.js").symlink_to(secret)
    (tmp_path / "dashboard" / "linked").symlink_to(tmp_path)
    source.down = True  # or the agent's first poll would replace the link with a real copy
    agent = start_agent(config)
    for path in ("/house/daily.json", "/leak.js", "/linked/secret.txt", "/linked/agent.conf"):
        response = agent.request("GET", path)
        assert response.status == 404, path
        assert b"secret" not in response.body


def test_only_get_and_head_are_allowed_on_the_site(agent: Agent) -> None:
    assert agent.request("POST", "/manifest.json", body=b"x").status == 405
    assert agent.request("DELETE", "/manifest.json").status == 405
    head = agent.request("HEAD", "/manifest.json")
    assert head.status == 200
    assert head.body == b""


def test_oversized_requests_are_refused(agent: Agent) -> None:
    assert agent.raw(b"GET /" + b"a" * 5000 + b" HTTP/1.1\r\n\r\n").startswith(b"HTTP/1.1 414")
    headers = b"".join(b"X-%d: %s\r\n" % (i, b"v" * 100) for i in range(100))
    assert agent.raw(b"GET / HTTP/1.1\r\n" + headers + b"\r\n").startswith(b"HTTP/1.1 431")
    big = b"POST /admin/login HTTP/1.1\r\nContent-Length: 100000\r\n\r\n"
    assert agent.raw(big).startswith(b"HTTP/1.1 413")


def test_a_silent_client_is_timed_out(
    tmp_path: Path, source: Source, start_agent: Callable[..., Agent]
) -> None:
    agent = start_agent(write_config(tmp_path, source, **{"server.request_timeout": "0.3"}))
    with socket.create_connection(("127.0.0.1", agent.port), timeout=10) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\n")  # and then nothing: the server must hang up
        reply = sock.recv(1024)
    assert reply.startswith(b"HTTP/1.1 408")
    assert re.search(rb"\r\nDate: \w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d GMT\r\n", reply)


def test_slow_clients_cannot_starve_the_server(agent: Agent) -> None:
    idle = [socket.create_connection(("127.0.0.1", agent.port), timeout=10) for _ in range(40)]
    try:

        def answered() -> bool:
            try:
                return agent.request("GET", "/manifest.json").status == 200
            except OSError:
                return False

        wait_until(answered, 20, "an answer while 40 connections sit idle")
    finally:
        for sock in idle:
            sock.close()


@pytest.mark.parametrize("character", [b"\x00", b"\x1b", b"\x7f"], ids=["NUL", "ESC", "DEL"])
def test_a_header_value_holding_a_control_character_is_refused(
    agent: Agent, character: bytes
) -> None:
    reply = agent.raw(b"GET / HTTP/1.1\r\nHost: x\r\nX-Note: a" + character + b"b\r\n\r\n")
    assert reply.startswith(b"HTTP/1.1 400 ")


def test_random_request_lines_and_headers_never_crash_the_server(agent: Agent) -> None:
    rng = random.Random(20261127)
    pieces = [
        b"GET",
        b"POST",
        b"HEAD",
        b"/",
        b"/admin",
        b"%",
        b"%%32",
        b"..",
        b"\\",
        b"\x00",
        b"\xff",
        b" ",
        b"\r\n",
        b":",
        b"HTTP/1.1",
        b"HTTP/9",
        b"Content-Length: -1",
        b"Content-Length: 99999999999",
        b"Transfer-Encoding: chunked",
        b"Cookie: ps_session=",
        b"Host:",
        b"\t",
        b"Accept-Encoding: gzip;q=",
        b"If-None-Match: *",
        b"?a=%zz",
    ]
    for _ in range(300):
        junk = b"".join(rng.choice(pieces) for _ in range(rng.randint(1, 12)))
        if rng.random() < 0.3:
            junk += os.urandom(rng.randint(1, 64))
        reply = agent.raw(junk + b"\r\n\r\n")
        assert reply == b"" or reply.startswith(b"HTTP/1.1 ")
    assert agent.proc.poll() is None
    assert agent.request("GET", "/manifest.json").status == 200
    assert "unexpected error" not in agent.log


def status_line(reply: bytes) -> bytes:
    return reply.split(b"\r\n", 1)[0]


def test_requests_for_another_host_name_get_421(agent: Agent) -> None:
    for path in ("/", "/manifest.json", "/house/daily.json", "/admin/login"):
        for host in ("evil.example", f"evil.example:{agent.port}", "127.0.0.1.evil.example"):
            reply = agent.request("GET", path, headers={"Host": host})
            assert reply.status == 421, (path, host)
            assert b"house" not in reply.body
    absolute = b"GET http://evil.example/manifest.json HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    assert status_line(agent.raw(absolute)) == b"HTTP/1.1 421 Misdirected Request"


def test_the_boards_own_names_and_the_configured_ones_are_answered(
    tmp_path: Path, source: Source, agent_python: str, start_agent: Callable[..., Agent]
) -> None:
    config = write_config(tmp_path, source, **{"server.allowed_hosts": "board.lan, Stats.Home."})
    assert run_agent(agent_python, config, "mirror-once").returncode == 0
    agent = start_agent(config)
    name = socket.gethostname().lower()
    short = name.split(".")[0]
    for host in (
        f"127.0.0.1:{agent.port}",
        "localhost",
        f"LOCALHOST:{agent.port}",
        "[::1]",
        name,
        f"{short}.local",
        "board.lan",
        f"stats.home:{agent.port}",
    ):
        assert agent.request("GET", "/manifest.json", headers={"Host": host}).status == 200, host
    assert agent.request("GET", "/manifest.json", headers={"Host": "other.lan"}).status == 421


def test_the_address_a_request_arrived_at_is_answered_and_no_other(
    tmp_path: Path, source: Source, start_agent: Callable[..., Agent]
) -> None:
    agent = start_agent(write_config(tmp_path, source, **{"server.host": "0.0.0.0"}))  # noqa: S104

    def get(address: str, host: str) -> bytes:
        with socket.create_connection((address, agent.port), timeout=10) as sock:
            sock.sendall(f"GET / HTTP/1.1\r\nHost: {host}:{agent.port}\r\n\r\n".encode())
            return status_line(sock.recv(4096))

    assert get("127.0.0.3", "127.0.0.3") == b"HTTP/1.1 200 OK"
    assert get("127.0.0.3", "127.0.0.4") == b"HTTP/1.1 421 Misdirected Request"


def test_http_1_1_without_host_gets_400_and_http_1_0_without_host_is_answered(
    agent: Agent,
) -> None:
    assert status_line(agent.raw(b"GET / HTTP/1.1\r\n\r\n")) == b"HTTP/1.1 400 Bad Request"
    empty = b"GET / HTTP/1.1\r\nHost: \r\n\r\n"
    assert status_line(agent.raw(empty)) == b"HTTP/1.1 400 Bad Request"
    assert status_line(agent.raw(b"GET / HTTP/1.0\r\n\r\n")) == b"HTTP/1.1 200 OK"


def test_a_meter_called_admin_is_served_and_the_admin_pages_still_work(
    tmp_path: Path, source: Source, agent_python: str, start_agent: Callable[..., Agent]
) -> None:
    source.data = Dataset.sample(meters=("house", "admin"))
    hashed = run_agent(agent_python, tmp_path / "x.conf", "hash-password", stdin="a-password\n")
    config = write_config(tmp_path, source, **{"admin.password_hash": hashed.stdout.strip()})
    assert run_agent(agent_python, config, "mirror-once").returncode == 0
    agent = start_agent(config)
    for level in ("daily", "weekly", "monthly", "yearly"):
        reply = agent.request("GET", f"/admin/{level}.json")
        assert reply.status == 200, level
        assert reply.body == source.data.files[f"admin/{level}.json"]
    assert agent.request("GET", "/admin/login").status == 200
    assert agent.request("GET", "/admin").status == 303
    assert agent.request("GET", "/admin/status.json").status == 303
