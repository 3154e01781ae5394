"""The admin pages under /admin: login, status, and the actions (mirror now, HA actions).

Every POST needs a CSRF token and a same-origin Origin (when sent): the login form's token is
signed and checked against a nonce cookie (nothing is stored before login), the actions' token
belongs to the session. The session cookie is HttpOnly, SameSite=Strict, scoped to /admin,
Secure under HTTPS, and created only by a correct password. Pages carry no inline script or
style, so the CSP can forbid both.
"""

from __future__ import annotations

import json
import os
import threading
import time

from . import __version__, log
from .auth import LoginTokens, Session, Sessions, Throttle, split_cookies, verify_password
from .config import Config
from .fsutil import compare_digest, parse_form
from .httpserver import Request, Response, simple

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs resident memory; mypy reads it, the board does not
    from typing import Callable, List, Optional, Tuple

COOKIE = "ps_session"
LOGIN_COOKIE = "ps_login"
_CSS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "admin.css")


def escape(text: object) -> str:
    """HTML-escape text for element content and quoted attributes."""
    return (
        str(text)
        .replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&quot;")
        .replace("'", "&#39;")
    )


def _age(seconds: Optional[int]) -> str:
    if seconds is None:
        return "missing"
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    if seconds < 172800:
        return f"{seconds // 3600} h"
    return f"{seconds // 86400} days"


def _recent_log() -> str:
    """The agent's last log lines: untrusted text (source errors, client input), escaped."""
    lines = log.recent()
    text = "\n".join(escape(line) for line in lines) if lines else "nothing logged yet"
    return f'<h2>Recent log</h2><pre class="log">{text}</pre>'


class Admin:
    """Handles /admin requests; `status`, `mirror_now` and `maintenance_confirmed` (HA said
    maintenance mode is now on or off) come from the running agent."""

    def __init__(
        self,
        config: Callable[[], Config],
        status: Callable[[], dict],  # type: ignore[type-arg]
        mirror_now: Callable[[], None],
        maintenance_confirmed: Callable[[bool], None],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        self.status = status
        self.mirror_now = mirror_now
        self.maintenance_confirmed = maintenance_confirmed
        self.sessions = Sessions(config().session_minutes * 60.0, clock)
        self.login_tokens = LoginTokens()
        self.throttle = Throttle(clock=clock)
        # One password check at a time: scrypt takes 8 MiB and about a second on the board;
        # a login arriving while one is checked is answered 429 at once (see `login`).
        self.hash_lock = threading.Lock()

    # -- plumbing ---------------------------------------------------------------------------

    def _cookie(self, session: Optional[Session]) -> Tuple[str, str]:
        secure = "; Secure" if self.config().tls else ""
        if session is None:
            return (
                "Set-Cookie",
                f"{COOKIE}=; Path=/admin; Max-Age=0; HttpOnly; SameSite=Strict{secure}",
            )
        return (
            "Set-Cookie",
            f"{COOKIE}={session.sid}; Path=/admin; HttpOnly; SameSite=Strict{secure}",
        )

    def _login_cookie(self, nonce: Optional[str]) -> Tuple[str, str]:
        secure = "; Secure" if self.config().tls else ""
        value, age = (nonce, "") if nonce else ("", "; Max-Age=0")
        return (
            "Set-Cookie",
            f"{LOGIN_COOKIE}={value}; Path=/admin/login{age}; HttpOnly; SameSite=Strict{secure}",
        )

    @staticmethod
    def _cookie_value(request: Request, wanted: str) -> Optional[str]:
        for name, value in split_cookies(request.headers.get("cookie", "")):
            if name == wanted:
                return value
        return None

    def _session(self, request: Request) -> Optional[Session]:
        return self.sessions.get(self._cookie_value(request, COOKIE))

    @staticmethod
    def _redirect(location: str, extra: Optional[List[Tuple[str, str]]] = None) -> Response:
        return Response(
            303, [("Location", location), ("Cache-Control", "no-store")] + (extra or [])
        )

    @staticmethod
    def _page(
        title: str, body: str, status: int = 200, extra: Optional[List[Tuple[str, str]]] = None
    ) -> Response:
        html = (
            '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{escape(title)} - PowerStats agent</title>"
            '<link rel="stylesheet" href="/admin/admin.css"></head><body>'
            f"<h1>{escape(title)}</h1>{body}</body></html>"
        )
        headers = [("Content-Type", "text/html; charset=utf-8"), ("Cache-Control", "no-store")]
        return Response(status, headers + (extra or []), html.encode("utf-8"))

    def _same_origin(self, request: Request) -> bool:
        origin = request.headers.get("origin")
        if origin is None or origin == "null":
            return origin is None
        host = request.headers.get("host", "")
        return origin.split("://", 1)[-1] == host

    def _csrf_ok(self, request: Request, session: Optional[Session]) -> bool:
        if session is None or not self._same_origin(request):
            return False
        form = parse_form(request.body.decode("utf-8", "replace"))
        return bool(compare_digest(form.get("csrf", "").encode(), session.csrf.encode()))

    def _login_csrf_ok(self, request: Request) -> bool:
        if not self._same_origin(request):
            return False
        form = parse_form(request.body.decode("utf-8", "replace"))
        nonce = self._cookie_value(request, LOGIN_COOKIE)
        return self.login_tokens.valid(nonce, form.get("csrf", ""))

    @staticmethod
    def _form(action: str, label: str, csrf: str, extra: str = "") -> str:
        return (
            f'<form class="inline" method="post" action="{action}">'
            f'<input type="hidden" name="csrf" value="{escape(csrf)}">{extra}'
            f'<button type="submit">{escape(label)}</button></form>'
        )

    # -- routing ----------------------------------------------------------------------------

    def handle(self, request: Request) -> Response:
        """Answer a request whose path starts with /admin."""
        config = self.config()
        path = request.path
        if path == "/admin/admin.css" and request.method in ("GET", "HEAD"):
            with open(_CSS, "rb") as handle:
                return Response(
                    200,
                    [
                        ("Content-Type", "text/css; charset=utf-8"),
                        ("Cache-Control", "max-age=3600"),
                    ],
                    handle.read(),
                )
        if not config.password_hash:
            return simple(
                404,
                "the admin page is disabled: set [admin] password_hash "
                "(python3 -m luckfox_agent hash-password)",
            )
        routes = {
            ("GET", "/admin"): self.show_status,
            ("GET", "/admin/"): self.show_status,
            ("GET", "/admin/status.json"): self.status_json,
            ("GET", "/admin/login"): self.show_login,
            ("POST", "/admin/login"): self.login,
            ("POST", "/admin/logout"): self.logout,
            ("POST", "/admin/mirror"): self.action_mirror,
            ("POST", "/admin/publish"): self.action_publish,
            ("POST", "/admin/maintenance"): self.action_maintenance,
        }
        method = "GET" if request.method == "HEAD" else request.method
        route = routes.get((method, path))
        if route is None:
            if any(p == path for _, p in routes):
                return simple(405, headers=[("Allow", "GET, HEAD, POST")])
            return simple(404)
        return route(request)

    # -- pages ------------------------------------------------------------------------------

    def show_login(
        self,
        request: Request,
        message: str = "",
        status: int = 200,
        extra: Optional[List[Tuple[str, str]]] = None,
    ) -> Response:
        if self._session(request) is not None:
            return self._redirect("/admin")
        extra = list(extra or [])
        nonce = self._cookie_value(request, LOGIN_COOKIE)
        if nonce is None or not self.login_tokens.well_formed(nonce):
            nonce = self.login_tokens.nonce()
            extra.append(self._login_cookie(nonce))
        notice = f'<p class="error">{escape(message)}</p>' if message else ""
        body = (
            f'{notice}<form method="post" action="/admin/login">'
            f'<input type="hidden" name="csrf" value="{escape(self.login_tokens.token(nonce))}">'
            '<label>Password <input type="password" name="password" '
            'autocomplete="current-password" required autofocus></label> '
            '<button type="submit">Log in</button></form>'
        )
        return self._page("Admin login", body, status, extra)

    def login(self, request: Request) -> Response:
        if not self._login_csrf_ok(request):
            return simple(403, "missing or wrong CSRF token; reload the login page")
        # A login that finds another one's password being checked is refused at once rather
        # than queued: a queued one would hold a worker thread too, and a burst of them would
        # hold every worker, leaving the dashboard to wait for each hash in turn.
        if not self.hash_lock.acquire(blocking=False):
            return self.show_login(
                request,
                "Another login is being checked. Try again in a moment.",
                429,
                [("Retry-After", "1")],
            )
        try:
            return self._check_password(request)
        finally:
            self.hash_lock.release()

    def _check_password(self, request: Request) -> Response:
        """The login's answer, once it holds the one turn to check a password."""
        client = request.client
        wait = self.throttle.acquire(client)
        if wait > 0:
            seconds = int(wait) + 1
            if self.throttle.should_log(client):  # once per address and window: bounded logs
                log.warning("admin logins from %s throttled (%d s to wait)", client, seconds)
            return self.show_login(
                request,
                f"Too many attempts. Try again in {seconds} seconds.",
                429,
                [("Retry-After", str(seconds))],
            )
        password = parse_form(request.body.decode("utf-8", "replace")).get("password", "")
        good = verify_password(password, self.config().password_hash)
        if not good:
            self.throttle.failed(client)
            log.warning("failed admin login from %s", client)
            return self.show_login(request, "Wrong password.", 401)
        self.throttle.succeeded(client)
        # The session is born here, with an id nobody could have seen or planted before.
        fresh = self.sessions.new()
        log.info("admin logged in from %s", client)
        return self._redirect("/admin", [self._cookie(fresh), self._login_cookie(None)])

    def logout(self, request: Request) -> Response:
        session = self._session(request)
        if not self._csrf_ok(request, session):
            return simple(403, "missing or wrong CSRF token")
        assert session is not None
        self.sessions.drop(session)
        return self._redirect("/admin/login", [self._cookie(None)])

    def status_json(self, request: Request) -> Response:
        if self._session(request) is None:
            return self._redirect("/admin/login")
        body = json.dumps(self.status(), indent=1).encode()
        return Response(
            200, [("Content-Type", "application/json"), ("Cache-Control", "no-store")], body
        )

    def show_status(self, request: Request) -> Response:
        session = self._session(request)
        if session is None:
            return self._redirect("/admin/login")
        config = self.config()
        s = self.status()
        flash = ""
        if session.flash:
            kind = "error" if session.flash.startswith("!") else "flash"
            flash = f'<p class="{kind}">{escape(session.flash.lstrip("!"))}</p>'
            session.flash = ""
        reach = {None: "not polled yet", True: "yes", False: "no"}[s["source_reachable"]]
        rows = [
            ("Version", s["version"]),
            ("Source", f"{s['source']} ({'Home Assistant' if s['source_is_ha'] else 'static'})"),
            ("Source reached", reach),
            ("Last successful poll", s["last_success"] or "never"),
            ("Last data change", s["last_change"] or "never"),
            (
                "Last error",
                f"{s['last_error']} ({s['last_error_at']})" if s["last_error"] else "none",
            ),
            (
                "Next poll in",
                f"{s['next_poll_in_seconds']} s" if s["next_poll_in_seconds"] is not None else "-",
            ),
            ("Maintenance mode", {None: "unknown", True: "on", False: "off"}[s["maintenance"]]),
            ("Memory (RSS / peak)", f"{s['rss_kb']} kB / {s['peak_rss_kb']} kB"),
            (
                "Disk free",
                "unknown"
                if s["disk_free_bytes"] is None
                else f"{s['disk_free_bytes'] // (1024 * 1024)} MB",
            ),
            ("Uptime", _age(s["uptime_seconds"])),
        ]
        table = "".join(f"<tr><th>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in rows)
        files = (
            "".join(
                f"<tr><th>{escape(f['path'])}</th><td>{escape(_age(f['age_seconds']))} old, "
                f"{escape(f['bytes'])} bytes</td></tr>"
                for f in s["files"]
            )
            or "<tr><td>no data mirrored yet</td></tr>"
        )
        actions = self._form("/admin/mirror", "Mirror now", session.csrf)
        if config.source_is_ha:
            actions += self._form("/admin/publish", "Publish to GitHub now", session.csrf)
            turn = "off" if s["maintenance"] else "on"
            actions += self._form(
                "/admin/maintenance",
                f"Turn maintenance mode {turn}",
                session.csrf,
                f'<input type="hidden" name="state" value="{turn}">',
            )
        actions += self._form("/admin/logout", "Log out", session.csrf)
        body = (
            f"{flash}<table>{table}</table><h2>Files</h2><table>{files}</table>"
            f"<h2>Actions</h2><p>{actions}</p>{_recent_log()}"
            f"<p><small>powerstats-agent {escape(__version__)}</small></p>"
        )
        return self._page("PowerStats agent", body)

    # -- actions ----------------------------------------------------------------------------

    def _action(self, request: Request) -> Tuple[Optional[Session], Optional[Response]]:
        session = self._session(request)
        if not self._csrf_ok(request, session):
            return None, simple(403, "missing or wrong CSRF token")
        return session, None

    def action_mirror(self, request: Request) -> Response:
        session, refusal = self._action(request)
        if refusal is not None or session is None:
            return refusal or simple(403)
        self.mirror_now()
        session.flash = "A mirror poll was started."
        return self._redirect("/admin")

    def _ha(
        self,
        request: Request,
        what: str,
        call: Callable[[Config], None],
        after: Callable[[], None] = lambda: None,
    ) -> Response:
        session, refusal = self._action(request)
        if refusal is not None or session is None:
            return refusal or simple(403)
        config = self.config()
        if not config.source_is_ha:
            session.flash = "!This action needs Home Assistant as the source."
            return self._redirect("/admin")
        from .ha import HaError

        try:
            call(config)
        except HaError as err:
            log.warning("%s failed: %s", what, err)
            session.flash = f"!{what} failed: {err}"
        else:
            log.info("%s requested from the admin page", what)
            session.flash = f"{what}: done."
            after()
        return self._redirect("/admin")

    def action_publish(self, request: Request) -> Response:
        from .ha import publish_now

        return self._ha(request, "Publish to GitHub", publish_now)

    def action_maintenance(self, request: Request) -> Response:
        from .ha import set_maintenance

        state = parse_form(request.body.decode("utf-8", "replace")).get("state")
        on = state == "on"

        def confirmed() -> None:
            # Shown at once; a poll right after mirrors the manifest saying so (the board's
            # dashboard shows its banner from that).
            self.maintenance_confirmed(on)
            self.mirror_now()

        return self._ha(
            request,
            f"Maintenance mode {'on' if on else 'off'}",
            lambda config: set_maintenance(config, on),
            confirmed,
        )
