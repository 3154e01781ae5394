"""A small, strict HTTP/1.1 server: bounded threads, bounded requests, one response each.

`http.server` costs about 8 MB resident on the board (it imports `email`, `http.client`,
`ssl`, `html`, `mimetypes`), has no overall request deadline and spawns a thread per
connection. This server reads at most a fixed-size head and body within a deadline, answers
once and closes, and hands connections to a fixed pool of worker threads; when the pool and
its short queue are full, new connections get a canned 503 instead of a new thread.
"""

import contextlib
import os
import queue
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Tuple

from . import log
from .fsutil import http_date

MAX_REQUEST_LINE = 2048
MAX_HEAD = 8192
MAX_HEADERS = 64
MAX_BODY = 8192
QUEUE_PER_THREAD = 4
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
    429: "Too Many Requests",
    431: "Request Header Fields Too Large",
    500: "Internal Server Error",
    501: "Not Implemented",
    502: "Bad Gateway",
    503: "Service Unavailable",
    505: "HTTP Version Not Supported",
}


@dataclass
class Request:
    """A parsed request; header names are lower case."""

    method: str
    target: str
    path: str
    query: str
    headers: Dict[str, str]
    body: bytes
    client: str


@dataclass
class Response:
    """A response: either `body` bytes or an open file descriptor streamed with `length`."""

    status: int
    headers: List[Tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    fd: Optional[int] = None
    length: int = 0


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


def _read_request(conn: Any, client: str, timeout: float) -> Request:
    deadline = time.monotonic() + timeout
    buffer = b""
    while b"\r\n\r\n" not in buffer:
        if len(buffer) > MAX_HEAD:
            raise BadRequest(431, "request header too large")
        if b"\r\n" not in buffer[: MAX_REQUEST_LINE + 2] and len(buffer) > MAX_REQUEST_LINE:
            raise BadRequest(414, "request line too long")
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise BadRequest(408, "request took too long")
        conn.settimeout(remaining)
        try:
            chunk = conn.recv(4096)
        except socket.timeout:
            raise BadRequest(408, "request took too long") from None
        if not chunk:
            raise ConnectionError("client closed the connection")
        buffer += chunk
    head, _, rest = buffer.partition(b"\r\n\r\n")
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
    headers: Dict[str, str] = {}
    if len(lines) - 1 > MAX_HEADERS:
        raise BadRequest(431, "too many header fields")
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if not sep or not name or not set(name) <= _TOKEN:
            raise BadRequest(400, "malformed header field")
        key = name.lower()
        value = value.strip(" \t")
        if any(ord(ch) < 32 and ch != "\t" for ch in value):
            raise BadRequest(400, "control character in a header field")
        if key in headers:
            if key in ("content-length", "host", "authorization", "cookie"):
                raise BadRequest(400, f"repeated {name} header")
            headers[key] += ", " + value
        else:
            headers[key] = value
    if "transfer-encoding" in headers:
        raise BadRequest(501, "request bodies must have a Content-Length")
    body = b""
    length_text = headers.get("content-length", "0")
    if not length_text.isdigit() or len(length_text) > 10:
        raise BadRequest(400, "malformed Content-Length")
    length = int(length_text)
    if length > MAX_BODY:
        raise BadRequest(413, "request body too large")
    body = rest
    while len(body) < length:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise BadRequest(408, "request took too long")
        conn.settimeout(remaining)
        try:
            chunk = conn.recv(length - len(body))
        except socket.timeout:
            raise BadRequest(408, "request took too long") from None
        if not chunk:
            raise ConnectionError("client closed the connection")
        body += chunk
    body = body[:length]
    path, _, query = target.partition("?")
    if "://" in path and not path.startswith("/"):  # absolute-form: keep only the path
        after = path.split("://", 1)[1]
        slash = after.find("/")
        path = after[slash:] if slash >= 0 else "/"
    return Request(method, target, path.split("#", 1)[0], query, headers, body, client)


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
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, port))
        self.sock.listen(64)
        self.address: Tuple[str, int] = self.sock.getsockname()[:2]
        self.queue: "queue.Queue[Optional[Tuple[socket.socket, str]]]" = queue.Queue(
            maxsize=threads * QUEUE_PER_THREAD
        )
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
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        self.acceptor.join(5)
        self.sock.close()
        for _ in self.threads:
            try:
                self.queue.put(None, timeout=1)
            except queue.Full:
                break
        for thread in self.threads:
            thread.join(self.timeout + 1)

    def _accept(self) -> None:
        import select

        while not self.stopping.is_set():
            try:
                ready, _, _ = select.select([self.sock], [], [], 1.0)
                if not ready:
                    continue
                conn, addr = self.sock.accept()
            except OSError:
                if self.stopping.is_set():
                    return
                continue
            try:
                self.queue.put_nowait((conn, str(addr[0])))
            except queue.Full:
                self._refuse(conn)

    @staticmethod
    def _refuse(conn: socket.socket) -> None:
        # Busy: answer without a thread; the client retries (the dashboard does).
        try:
            conn.setblocking(False)
            conn.send(
                b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\n"
                b"Content-Length: 0\r\nConnection: close\r\n\r\n"
            )
        except OSError:
            pass
        finally:
            conn.close()

    def _worker(self) -> None:
        while True:
            item = self.queue.get()
            if item is None:
                return
            conn, client = item
            try:
                self._serve(conn, client)
            except Exception as err:  # one bad connection must never take a worker down
                log.error("unexpected error while answering %s: %s", client, err)
            finally:
                with contextlib.suppress(OSError):
                    conn.close()

    def _serve(self, raw: socket.socket, client: str) -> None:
        conn: Any = raw
        raw.settimeout(self.timeout)
        if self.ssl_context is not None:
            try:
                conn = self.ssl_context.wrap_socket(raw, server_side=True)
            except (OSError, ValueError) as err:
                log.debug("TLS handshake with %s failed: %s", client, err)
                return
        request: Optional[Request] = None
        try:
            request = _read_request(conn, client, self.timeout)
        except BadRequest as err:
            response = simple(err.status, str(err))
        except (ConnectionError, OSError):
            return
        else:
            try:
                response = self.handler(request)
            except Exception as err:
                log.error("error answering %s %s: %s", request.method, request.path, err)
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
        with os.fdopen(os.dup(response.fd), "rb") as handle:
            if self.ssl_context is None:
                conn.sendfile(handle, 0, length)
            else:
                remaining = length
                while remaining > 0:
                    chunk = handle.read(min(65536, remaining))
                    if not chunk:
                        break
                    conn.sendall(chunk)
                    remaining -= len(chunk)
