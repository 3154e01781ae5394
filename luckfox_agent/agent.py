"""The `serve` daemon: the mirror loop on the main thread, the web server on a thread pool.

Signals: SIGTERM/SIGINT stop cleanly (the current poll and requests finish), SIGHUP reloads
the configuration and rescans the dashboard folder, SIGUSR1 polls the source now.
"""

from __future__ import annotations

import _signal  # type: ignore[import-not-found,unused-ignore]
import os
import threading

from . import __version__, log
from .config import Config, ConfigError, load
from .hosts import allowed, own_names
from .httpserver import HttpServer, Request, Response, simple
from .mirror import Mirror, MirrorLoop
from .public import ADMIN_CSP, DASHBOARD_CSP, Site, is_subresource

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs resident memory; mypy reads it, the board does not
    from typing import Any, Dict, FrozenSet, List, Optional, Tuple

    from .admin import Admin
    from .packing import Packed


class Agent:
    """One running agent: mirror + public site + admin, sharing one config."""

    def __init__(self, config: Config, user: str = "") -> None:
        self.config = config
        self.host_names = own_names(config.allowed_hosts)
        # The admin pages (and auth, status, hashlib with them) load on the first /admin
        # request: a board nobody administers never pays their memory.
        self._admin: Optional[Admin] = None
        self._admin_lock = threading.Lock()
        self.reload_requested = False
        # Bind first: started as root with a user to become, this is the only thing done as
        # root (a port below 1024); every file is then read and written as that user.
        self.server = HttpServer(
            config.host,
            config.port,
            self.handle,
            threads=config.threads,
            timeout=config.request_timeout,
            base_headers=self.security_headers,
            ssl_context=self._ssl_context(config),
        )
        if user:
            from .privileges import drop_to

            try:
                drop_to(user)
            except BaseException:
                self.server.sock.close()
                raise
        os.makedirs(config.webroot, mode=0o755, exist_ok=True)
        self.mirror = Mirror(config)
        self.loop = MirrorLoop(self.mirror, before_poll=self._maybe_reload)
        self.site = Site(config.dashboard, config.webroot, self._data_files, self._packed)

    @staticmethod
    def _ssl_context(config: Config) -> Any:
        if not config.tls:
            return None
        import ssl

        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(config.tls_cert, config.tls_key)
        return context

    @property
    def admin(self) -> Admin:
        """The admin pages, created on first use."""
        with self._admin_lock:
            if self._admin is None:
                from .admin import Admin

                self._admin = Admin(
                    lambda: self.config,
                    self.status,
                    self.loop.mirror_now,
                    self._maintenance_confirmed,
                )
            return self._admin

    def _data_files(self) -> FrozenSet[str]:
        return self.mirror.data_files

    def _packed(self) -> Dict[str, Packed]:
        return self.mirror.packed

    def _maintenance_confirmed(self, on: bool) -> None:
        # Home Assistant confirmed it and serves its manifest saying so: shown now, not only
        # once a poll has mirrored that manifest.
        self.mirror.status.maintenance = on

    def status(self) -> Dict[str, Any]:
        """The status snapshot shown on /admin."""
        from .status import collect

        return collect(self.config, self.mirror.status)

    def handle(self, request: Request) -> Response:
        """Route: /admin... to the admin pages, everything else to the allow-listed site.

        Only for the board's own host names (DNS rebinding), and data first: a meter may be
        called `admin`, and its files never collide with an admin page's path.
        """
        if not allowed(request, self.host_names):
            return simple(
                421, "this agent answers only to its own host names; see [server] allowed_hosts"
            )
        admin = request.path == "/admin" or request.path.startswith("/admin/")
        if admin and self.site.lookup(request.path) is None:
            return self.admin.handle(request)
        return self.site.handle(request)

    def security_headers(self, request: Request, response: Response) -> List[Tuple[str, str]]:
        """The security headers of a response.

        Every response carries nosniff and the resource policy (and HSTS under HTTPS). The
        policies of a document (CSP, framing, referrer, permissions; the opener's for the admin)
        go with every response but scripts, styles, JSON and fonts: the page's own policies
        cover what those do, and repeated on each of the dashboard's ~15 files they were 7 kB of
        its first load.
        """
        headers = [
            ("X-Content-Type-Options", "nosniff"),
            ("Cross-Origin-Resource-Policy", "same-origin"),
        ]
        if not is_subresource(response):
            admin = request.path.startswith("/admin")
            headers += [
                ("Content-Security-Policy", ADMIN_CSP if admin else DASHBOARD_CSP),
                ("X-Frame-Options", "DENY"),
                # A form's POST carries `Origin: null` under no-referrer, which the admin's
                # same-origin check refuses: its pages tell only their own origin.
                ("Referrer-Policy", "same-origin" if admin else "no-referrer"),
                ("Permissions-Policy", "camera=(), microphone=(), geolocation=()"),
            ]
            if admin:
                # Only the admin's pages are cut off from other sites' windows: Chromium puts such
                # a page in a process of its own, 35 ms on the dashboard's first chart
                # (docs/benchmarks.md), and the dashboard shows what it publishes anyway.
                headers.append(("Cross-Origin-Opener-Policy", "same-origin"))
        if self.config.tls:
            headers.append(("Strict-Transport-Security", "max-age=31536000"))
        return headers

    def _maybe_reload(self) -> None:
        if not self.reload_requested:
            return
        self.reload_requested = False
        try:
            fresh = load(self.config.path)
        except ConfigError as err:
            log.error("reload failed, keeping the running configuration: %s", err)
            return
        if (fresh.host, fresh.port, fresh.tls_cert, fresh.tls_key, fresh.threads) != (
            self.config.host,
            self.config.port,
            self.config.tls_cert,
            self.config.tls_key,
            self.config.threads,
        ):
            log.warning("server address, threads or TLS changed: restart the agent to apply")
        log.add_secret(fresh.source_token)
        log.configure(fresh.log_level, fresh.log_target)
        password_changed = fresh.password_hash != self.config.password_hash
        self.config = fresh
        self.mirror.config = fresh
        self.host_names = own_names(fresh.allowed_hosts)
        if self._admin is not None:
            self._admin.sessions.idle = fresh.session_minutes * 60.0
            if password_changed:
                self._admin.sessions.clear()
                log.info("the admin password changed: every admin session ended")
        if fresh.dashboard != self.site.dashboard or fresh.webroot != self.site.webroot:
            self.site = Site(fresh.dashboard, fresh.webroot, self._data_files, self._packed)
        else:
            self.site.rescan()
        log.info("configuration reloaded")

    def _on_signal(self, signum: int, frame: Optional[object]) -> None:
        if signum == _signal.SIGHUP:
            self.reload_requested = True
            self.loop.mirror_now()
        elif signum == _signal.SIGUSR1:
            self.loop.mirror_now()
        else:
            self.loop.stop()

    def run(self) -> int:
        """Serve until SIGTERM/SIGINT; returns the exit code."""
        for signum in (_signal.SIGTERM, _signal.SIGINT, _signal.SIGHUP, _signal.SIGUSR1):
            _signal.signal(signum, self._on_signal)
        _signal.set_wakeup_fd(self.loop.wakeup_fd)
        self.server.start()
        host, port = self.server.address
        scheme = "https" if self.config.tls else "http"
        log.info(
            "powerstats-agent %s serving on %s://%s:%d/ (%d dashboard files, data in %s)",
            __version__,
            scheme,
            host,
            port,
            len(self.site.dashboard_files),
            self.config.webroot,
        )
        if not self.site.dashboard_files:
            log.warning("no dashboard files in %s; only the data is served", self.config.dashboard)
        try:
            self.loop.run()
        finally:
            self.server.stop()
            log.info("stopped")
        return 0
