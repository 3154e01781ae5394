"""A small, strict HTTP/1.1 server: bounded threads, bounded requests, one response each.

`http.server` costs about 8 MB resident on the board (it imports `email`, `http.client`,
`ssl`, `html`, `mimetypes`), has no overall request deadline and spawns a thread per
connection. This server reads at most a fixed-size head and body within a deadline, answers
once and closes, and hands connections to a fixed pool of worker threads; when the pool and
its short queue are full, new connections get a canned 503 instead of a new thread.
"""

from __future__ import annotations

import _queue
import os
import threading
import time

from . import log, netio
from .fsutil import http_date, suppress

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs resident memory; mypy reads it, the board does not
    from typing import Any, Callable, Dict, List, Optional, Tuple

MAX_REQUEST_LINE = 2048
MAX_HEAD = 8192
MAX_HEADERS = 64
MAX_BODY = 8192
QUEUE_PER_THREAD = 4
MAX_PENDING = 256
MAX_PER_CLIENT = 32
_TOKEN = frozenset("!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")

REASONS = {
    200: "OK",
    303: "See Other",
    304: "Not Modified",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    408: "Request Timeout",
    411: "Length Required",
    413: "Content Too Large",
    414: "URI Too Long",
    421: "Misdirected Request",
    429: "Too Many Requests",
    431: "Request Header Fields Too Large",
    500: "Internal Server Error",
    501: "Not Implemented",
    502: "Bad Gateway",
    503: "Service Unavailable",
    505: "HTTP Version Not Supported",
}


class Request:
    """A parsed request; header names are lower case."""

    __slots__ = (
        "body",
        "client",
        "headers",
        "host",
        "local",
        "method",
        "path",
        "query",
        "target",
    )

    method: str
    target: str
    path: str
    query: str
    headers: Dict[str, str]
    body: bytes
    client: str
    host: str
    local: str

    def __init__(
        self,
        method: str,
        target: str,
        path: str,
        query: str,
        headers: Dict[str, str],
        body: bytes,
        client: str,
        host: str = "",
        local: str = "",
    ) -> None:
        self.method = method
        self.target = target
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body
        self.client = client
        self.host = host  # the Host the client asked for, lower case, without the port
        self.local = local  # the address of ours the connection arrived at


class Response:
    """A response: either `body` bytes or an open file descriptor streamed with `length`."""

    __slots__ = (
        "body",
        "fd",
        "headers",
        "length",
        "status",
    )

    status: int
    headers: List[Tuple[str, str]]
    body: bytes
    fd: Optional[int]
    length: int

    def __init__(
        self,
        status: int,
        headers: Optional[List[Tuple[str, str]]] = None,
        body: bytes = b"",
        fd: Optional[int] = None,
        length: int = 0,
    ) -> None:
        self.status = status
        self.headers = [] if headers is None else headers
        self.body = body
        self.fd = fd
        self.length = length


class BadRequest(Exception):
    """The client sent something this server does not accept; carries the status."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def simple(
    status: int, text: str = "", headers: Optional[List[Tuple[str, str]]] = None
) -> Response:
    """A short plain-text response."""
    body = (text or REASONS.get(status, "")).encode("utf-8") + b"\n"
    return Response(status, [("Content-Type", "text/plain; charset=utf-8")] + (headers or []), body)


def host_name(authority: str) -> str:
    """The host part of a Host header or URL authority, lower case, without port or dot."""
    authority = authority.strip().lower()
    if authority.startswith("["):
        return authority[1 : authority.find("]")] if "]" in authority else authority
    if authority.count(":") == 1:
        authority = authority.split(":", 1)[0]
    return authority.rstrip(".")


def parse_request(buffer: bytes, client: str, local: str = "") -> Optional[Request]:
    """Parse a complete request from `buffer`; None while more bytes are needed.

    Raises BadRequest as soon as the bytes so far break a rule or a limit.
    """
    end = buffer.find(b"\r\n\r\n")
    if end < 0:
        if b"\r\n" not in buffer[: MAX_REQUEST_LINE + 2] and len(buffer) > MAX_REQUEST_LINE:
            raise BadRequest(414, "request line too long")
        if len(buffer) > MAX_HEAD:
            raise BadRequest(431, "request header too large")
        return None
    head, rest = buffer[:end], buffer[end + 4 :]
    if len(head) > MAX_HEAD:
        raise BadRequest(431, "request header too large")
    try:
        text = head.decode("ascii")
    except UnicodeDecodeError:
        raise BadRequest(400, "request header is not ASCII") from None
    lines = text.split("\r\n")
    request_line = lines[0]
    if len(request_line) > MAX_REQUEST_LINE:
        raise BadRequest(414, "request line too long")
    parts = request_line.split(" ")
    if len(parts) != 3 or not parts[0] or not set(parts[0]) <= _TOKEN or not parts[1]:
        raise BadRequest(400, "malformed request line")
    method, target, version = parts
    if version not in ("HTTP/1.1", "HTTP/1.0"):
        raise BadRequest(505 if version.startswith("HTTP/") else 400, "unsupported HTTP version")
    if any(ord(ch) <= 32 or ord(ch) == 127 for ch in target):
        raise BadRequest(400, "malformed request target")
    if len(lines) - 1 > MAX_HEADERS:
        raise BadRequest(431, "too many header fields")
    headers: Dict[str, str] = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if not sep or not name or not set(name) <= _TOKEN:
            raise BadRequest(400, "malformed header field")
        key = name.lower()
        value = value.strip(" \t")
        # RFC 9110 5.5: field values hold visible characters, spaces and tabs; not DEL either.
        if any((ord(ch) < 32 and ch != "\t") or ord(ch) == 127 for ch in value):
            raise BadRequest(400, "control character in a header field")
        if key in headers:
            if key in ("content-length", "host", "authorization", "cookie"):
                raise BadRequest(400, f"repeated {name} header")
            headers[key] += ", " + value
        else:
            headers[key] = value
    if "transfer-encoding" in headers:
        raise BadRequest(501, "request bodies must have a Content-Length")
    length_text = headers.get("content-length", "0")
    if not length_text.isdigit() or len(length_text) > 10:
        raise BadRequest(400, "malformed Content-Length")
    length = int(length_text)
    if length > MAX_BODY:
        raise BadRequest(413, "request body too large")
    if len(rest) < length:
        return None
    host = headers.get("host")
    if not host and version == "HTTP/1.1":  # missing or empty: the allow-list needs a name
        raise BadRequest(400, "HTTP/1.1 requests must send a Host header")
    path, _, query = target.partition("?")
    if "://" in path and not path.startswith("/"):  # absolute-form: its authority is the host
        after = path.split("://", 1)[1]
        slash = after.find("/")
        host = after[:slash] if slash >= 0 else after
        path = after[slash:] if slash >= 0 else "/"
    return Request(
        method,
        target,
        path.split("#", 1)[0],
        query,
        headers,
        rest[:length],
        client,
        host_name(host or ""),
        local,
    )


class _Pending:
    """A connection whose request is still arriving."""

    __slots__ = ("buffer", "client", "conn", "deadline", "handshaking", "local")

    def __init__(
        self, conn: Any, client: str, local: str, deadline: float, handshaking: bool
    ) -> None:
        self.conn = conn
        self.client = client
        self.local = local
        self.deadline = deadline
        self.handshaking = handshaking
        self.buffer = b""


class HttpServer:
    """Accepts connections and answers each with `handler(request)` on a worker thread."""

    def __init__(
        self,
        host: str,
        port: int,
        handler: Callable[[Request], Response],
        *,
        threads: int = 4,
        timeout: float = 10.0,
        base_headers: Callable[[Request, Response], List[Tuple[str, str]]] = lambda q, r: [],
        ssl_context: Any = None,
    ) -> None:
        self.handler = handler
        self.timeout = timeout
        self.base_headers = base_headers
        self.ssl_context = ssl_context
        family = netio.AF_INET6 if ":" in host else netio.AF_INET
        self.sock = netio.listener(family)
        try:
            self.sock.setsockopt(netio.SOL_SOCKET, netio.SO_REUSEADDR, 1)
            self.sock.bind((host, port))
            self.sock.listen(64)
        except OSError:
            self.sock.close()
            raise
        self.address: Tuple[str, int] = self.sock.getsockname()[:2]
        # The C queue (queue.Queue's module costs more than it gives here); the acceptor is
        # its only producer, so its size check holds.
        self.queue: "_queue.SimpleQueue[Optional[Tuple[Any, str, Any]]]" = _queue.SimpleQueue()
        self.queue_limit = threads * QUEUE_PER_THREAD
        self.stopping = threading.Event()
        self.threads = [
            threading.Thread(target=self._worker, name=f"http-{i}", daemon=True)
            for i in range(threads)
        ]
        self.acceptor = threading.Thread(target=self._accept, name="http-accept", daemon=True)

    def start(self) -> None:
        """Start the acceptor and the workers."""
        for thread in self.threads:
            thread.start()
        self.acceptor.start()

    def stop(self) -> None:
        """Stop accepting, let the workers finish their current request, and close."""
        self.stopping.set()
        with suppress(OSError):
            self.sock.shutdown(netio.SHUT_RDWR)
        self.acceptor.join(5)
        self.sock.close()
        for _ in self.threads:
            self.queue.put(None)
        for thread in self.threads:
            thread.join(self.timeout + 1)

    def _accept(self) -> None:
        """Accept and read requests for every connection on one thread (a selector).

        A worker thread is given a connection only once its whole request has arrived, so
        clients that dribble bytes (or send nothing) cost a buffer, never a thread; each one
        is dropped at its deadline, and one address cannot hold more than MAX_PER_CLIENT.
        """
        selector = netio.Selector()
        selector.register(self.sock, netio.EVENT_READ, None)
        pending: Dict[Any, _Pending] = {}
        self.sock.setblocking(False)
        while not self.stopping.is_set():
            try:
                events = selector.select(0.25)
            except OSError:
                if self.stopping.is_set():
                    break
                continue
            for key, _ in events:
                if key.data is None:
                    self._accept_new(selector, pending)
                else:
                    self._advance(selector, pending, key.data)
            now = time.monotonic()
            for item in [p for p in pending.values() if p.deadline < now]:
                self._drop(selector, pending, item, b"408 Request Timeout")
        for item in list(pending.values()):
            self._drop(selector, pending, item, b"")
        selector.close()

    def _accept_new(self, selector: Any, pending: Dict[Any, "_Pending"]) -> None:
        while True:
            try:
                raw, addr = netio.accept(self.sock, self.ssl_context is not None)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return
            client = str(addr[0])
            try:
                local = str(raw.getsockname()[0])
            except OSError:
                local = ""
            mine = [p for p in pending.values() if p.client == client]
            if len(mine) >= MAX_PER_CLIENT:
                self._drop(selector, pending, min(mine, key=lambda p: p.deadline), b"")
            if len(pending) >= MAX_PENDING:
                self._drop(selector, pending, min(pending.values(), key=lambda p: p.deadline), b"")
            raw.setblocking(False)
            conn: Any = raw
            if self.ssl_context is not None:
                try:
                    conn = self.ssl_context.wrap_socket(
                        raw, server_side=True, do_handshake_on_connect=False
                    )
                except (OSError, ValueError):
                    raw.close()
                    continue
            item = _Pending(
                conn, client, local, time.monotonic() + self.timeout, self.ssl_context is not None
            )
            pending[conn] = item
            selector.register(conn, netio.EVENT_READ, item)

    def _drop(
        self, selector: Any, pending: Dict[Any, "_Pending"], item: "_Pending", status: bytes
    ) -> None:
        pending.pop(item.conn, None)
        with suppress(KeyError, ValueError, OSError):
            selector.unregister(item.conn)
        if status and not item.handshaking:
            with suppress(OSError):
                date = http_date(time.time()).encode("latin-1")
                head = b"HTTP/1.1 %s\r\nDate: %s\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                item.conn.send(head % (status, date))
        with suppress(OSError):
            item.conn.close()

    def _advance(self, selector: Any, pending: Dict[Any, "_Pending"], item: "_Pending") -> None:
        conn = item.conn
        if item.handshaking:
            try:
                conn.do_handshake()
            except OSError as err:
                if type(err).__name__ in ("SSLWantReadError", "SSLWantWriteError"):
                    return
                log.debug("TLS handshake with %s failed: %s", item.client, err)
                self._drop(selector, pending, item, b"")
                return
            item.handshaking = False
        try:
            while True:
                chunk = conn.recv(4096)
                if not chunk:
                    self._drop(selector, pending, item, b"")
                    return
                item.buffer += chunk
                more = getattr(conn, "pending", None)  # TLS may hold decrypted bytes already
                if len(item.buffer) > MAX_HEAD + MAX_BODY + 4 or more is None or not more():
                    break
        except (BlockingIOError, InterruptedError):
            pass
        except OSError as err:
            if type(err).__name__ != "SSLWantReadError":
                self._drop(selector, pending, item, b"")
                return
        work: Any
        try:
            request = parse_request(item.buffer, item.client, item.local)
        except BadRequest as err:
            work = err
        else:
            if request is None:
                return
            work = request
        pending.pop(conn, None)
        selector.unregister(conn)
        if self.queue.qsize() < self.queue_limit:
            self.queue.put((conn, item.client, work))
        else:
            # Busy: answer without a thread; the client retries (the dashboard does).
            self._drop(selector, pending, item, b"503 Service Unavailable\r\nRetry-After: 1")

    def _worker(self) -> None:
        while True:
            item = self.queue.get()
            if item is None:
                return
            conn, client, work = item
            try:
                conn.settimeout(self.timeout)
                self._serve(conn, client, work)
            except Exception as err:  # one bad connection must never take a worker down
                log.error("unexpected error while answering %s: %s", client, err)
            finally:
                with suppress(OSError):
                    conn.close()

    def _serve(self, conn: Any, client: str, work: Any) -> None:
        request: Optional[Request] = None
        if isinstance(work, BadRequest):
            response = simple(work.status, str(work))
        else:
            request = work
            try:
                response = self.handler(work)
            except Exception as err:
                log.error("error answering %s %s: %s", work.method, work.path, err)
                response = simple(500)
        try:
            self._send(conn, request, response)
        except OSError:
            pass
        finally:
            if response.fd is not None:
                os.close(response.fd)
        if request is not None:
            log.debug("%s %s %s %d", client, request.method, request.path[:200], response.status)

    def _send(self, conn: Any, request: Optional[Request], response: Response) -> None:
        length = response.length if response.fd is not None else len(response.body)
        lines = [
            f"HTTP/1.1 {response.status} {REASONS.get(response.status, 'Unknown')}",
            f"Date: {http_date(time.time())}",
            "Connection: close",
        ]
        if response.status != 304:
            lines.append(f"Content-Length: {length}")
        dummy = request or Request("GET", "/", "/", "", {}, b"", "")
        for name, value in response.headers + self.base_headers(dummy, response):
            lines.append(f"{name}: {value}")
        conn.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        if (request is not None and request.method == "HEAD") or response.status == 304:
            return
        if response.fd is None:
            conn.sendall(response.body)
            return
        if self.ssl_context is None:
            netio.sendfile(conn, response.fd, length, self.timeout)
            return
        with os.fdopen(os.dup(response.fd), "rb") as handle:
            remaining = length
            while remaining > 0:
                chunk = handle.read(min(65536, remaining))
                if not chunk:
                    break
                conn.sendall(chunk)
                remaining -= len(chunk)
