"""A minimal HTTP/1.1 client for the mirror and the HA actions.

`http.client` pulls in the `email` package and `ssl` at import (about 8 MB resident on the
board); the agent needs one request at a time with a deadline and a size cap, so it speaks
the protocol itself. TLS is imported only when a URL is https.
"""

from __future__ import annotations

import time

from . import netio
from .config import SourceUrl

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs resident memory; mypy reads it, the board does not
    from typing import Any, Dict, List, Optional

MAX_HEAD = 65536


class HttpError(Exception):
    """The request failed: connection, timeout, protocol or size problem."""


class UnsendableRequest(HttpError):
    """The request was never sent: a value bound for its head holds a character HTTP cannot
    carry. `field` names where: a header's name, or "" for the request line."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


class Response:
    """A complete response; header names are lower case."""

    __slots__ = (
        "body",
        "bytes_received",
        "bytes_sent",
        "headers",
        "status",
    )

    status: int
    headers: Dict[str, str]
    body: bytes
    bytes_sent: int
    bytes_received: int

    def __init__(
        self,
        status: int,
        body: bytes = b"",
        bytes_sent: int = 0,
        bytes_received: int = 0,
    ) -> None:
        self.status = status
        self.headers = {}
        self.body = body
        self.bytes_sent = bytes_sent
        self.bytes_received = bytes_received


class _Reader:
    """Buffered reads from a socket against one overall deadline."""

    def __init__(self, sock: Any, deadline: float) -> None:
        self.sock = sock
        self.deadline = deadline
        self.buffer = b""
        self.received = 0
        self.closed = False

    def _fill(self) -> None:
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise HttpError("timed out")
        self.sock.settimeout(remaining)
        try:
            chunk = self.sock.recv(65536)
        except netio.Timeout:
            raise HttpError("timed out") from None
        except OSError as err:
            raise HttpError(f"connection failed while reading: {err.strerror or err}") from None
        if not chunk:
            self.closed = True
        self.received += len(chunk)
        self.buffer += chunk

    def read_until(self, marker: bytes, limit: int) -> bytes:
        while marker not in self.buffer:
            if len(self.buffer) > limit:
                raise HttpError("response header too large")
            if self.closed:
                raise HttpError("connection closed before the response header ended")
            self._fill()
        head, _, self.buffer = self.buffer.partition(marker)
        return head

    def read_head(self, limit: int) -> List[str]:
        """The lines of the response head, up to the empty line that ends it.

        A line ends at LF, with or without a CR before it: RFC 9112 section 2.2 lets a
        recipient take a bare LF as a line end. A CR anywhere else is refused, as that section
        asks, so the agent never reads a header one way where a proxy read it another.
        """
        while True:
            # The empty line comes right after a line's LF: a bare LF, or a CR LF.
            ends = [(self.buffer.find(mark), len(mark)) for mark in (b"\n\n", b"\n\r\n")]
            found = [end for end in ends if end[0] != -1]
            if found:
                break
            if len(self.buffer) > limit:
                raise HttpError("response header too large")
            if self.closed:
                raise HttpError("connection closed before the response header ended")
            self._fill()
        at, size = min(found)
        head, self.buffer = self.buffer[:at], self.buffer[at + size :]
        lines = []
        for line in head.split(b"\n"):
            if line.endswith(b"\r"):
                line = line[:-1]
            if b"\r" in line:
                raise HttpError("malformed response header: a CR not followed by LF")
            lines.append(line.decode("latin-1"))
        return lines

    def read_exact(self, size: int) -> bytes:
        while len(self.buffer) < size:
            if self.closed:
                raise HttpError(f"truncated body: got {len(self.buffer)} of {size} bytes")
            self._fill()
        data, self.buffer = self.buffer[:size], self.buffer[size:]
        return data

    def read_to_close(self, limit: int) -> bytes:
        while not self.closed:
            if len(self.buffer) > limit:
                raise HttpError(f"response larger than {limit} bytes")
            self._fill()
        return self.buffer


def _connect(url: SourceUrl, deadline: float, cafile: str) -> Any:
    # An ASCII host goes to getaddrinfo as bytes: a str would be IDNA-encoded, which imports
    # `encodings.idna`, `stringprep` and `unicodedata` (about 0.4 MB resident) for nothing.
    host: "str | bytes" = url.host
    if url.host.isascii():
        host = url.host.encode("ascii")
    try:
        sock = netio.connect(host, url.port, _remaining(deadline))
    except netio.Timeout:
        raise HttpError(f"connecting to {url.host}:{url.port} timed out") from None
    except OSError as err:
        raise HttpError(f"cannot connect to {url.host}:{url.port}: {err.strerror or err}") from None
    if url.scheme == "https":
        return _handshake(sock, url.host, deadline, cafile)
    return sock


def _remaining(deadline: float) -> float:
    # Never 0: a socket timeout of 0 means non-blocking, not "no time left".
    return max(deadline - time.monotonic(), 0.001)


def _handshake(sock: Any, host: str, deadline: float, cafile: str) -> Any:
    """The TLS connection over `sock`, its handshake done by `deadline`."""
    import ssl

    # Certificates are always verified; a self-signed HA is trusted through `cafile`.
    try:
        context = ssl.create_default_context(cafile=cafile or None)
    except (OSError, ssl.SSLError) as err:
        sock.close()
        # A poll failed like any other (counted, backed off), not an error of the agent's own.
        raise HttpError(f"cannot use the CA file {cafile}: {err.strerror or err}") from None
    tls = netio.for_tls(sock)
    try:
        tls = context.wrap_socket(tls, server_hostname=host, do_handshake_on_connect=False)
        # The socket `for_tls` hands over has no timeout: the handshake would wait for ever.
        # A timeout bounds the whole handshake (ssl, since Python 3.5), not each read, so a
        # source dripping its certificate a byte at a time is cut off at the deadline too.
        tls.settimeout(_remaining(deadline))
        tls.do_handshake()
    except netio.Timeout:
        tls.close()
        raise HttpError(f"TLS handshake with {host} timed out") from None
    except (OSError, ssl.SSLError) as err:
        tls.close()
        raise HttpError(f"TLS handshake with {host} failed: {err}") from None
    return tls


def _decode_chunked(reader: _Reader, limit: int) -> bytes:
    body = bytearray()
    while True:
        # A chunk's lines may end at a bare LF too, as the head's may (see `read_head`).
        line = reader.read_until(b"\n", 1024).decode("latin-1")
        if line.endswith("\r"):
            line = line[:-1]
        # RFC 9112 section 7.1.1: extensions after ";" (with optional blanks before it) are
        # ignored.
        size = _size(line.split(";", 1)[0].rstrip(" \t"), True, "chunked encoding")
        if size == 0:
            break
        if len(body) + size > limit:
            raise HttpError(f"response larger than {limit} bytes")
        body += reader.read_exact(size)
        end = reader.read_exact(1)
        if end == b"\r":
            end = reader.read_exact(1)
        if end != b"\n":
            raise HttpError("malformed chunked encoding")
    return bytes(body)


def _encode_head(lines: List[str]) -> bytes:
    """The request head as bytes; HttpError when a line holds a character HTTP cannot carry.

    The config refuses such values when it is read; this keeps one that came another way a
    failed request (counted, backed off, shown) rather than an error nobody handles. The
    message names the header and the character, never the value: that may be a token.
    """
    text = "\r\n".join(lines) + "\r\n\r\n"
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError as err:
        line = text.count("\r\n", 0, err.start)
        field = lines[line].partition(":")[0] if line else ""
        where = f"header {field}" if line else "the request line"
        raise UnsendableRequest(
            f"cannot send {where}: it holds the character U+{ord(text[err.start]):04X}", field
        ) from None


_DIGITS = frozenset("0123456789")
_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")


def _size(text: str, hexadecimal: bool, what: str) -> int:
    """A Content-Length (decimal) or chunk size (hex): digits only, else HttpError.

    int() would also take a sign, spaces, underscores and 0x: "-1" would read odd slices, and
    a proxy on the way could frame the body otherwise than the agent does. More than 16 digits
    is over any size cap anyway (and over int()'s limit on long decimal strings in 3.11+).
    """
    digits = _HEX_DIGITS if hexadecimal else _DIGITS
    if not 0 < len(text) <= 16 or not all(char in digits for char in text):
        raise HttpError(f"malformed {what}")
    return int(text, 16 if hexadecimal else 10)


def _add_field(headers: Dict[str, str], name: str, value: str) -> None:
    """Add one header line; a repeated name becomes one comma-separated list (RFC 9110
    section 5.3), so the framing below sees every value, never only the last one."""
    headers[name] = f"{headers[name]}, {value}" if name in headers else value


def _content_length(value: str) -> int:
    """The body's length from a Content-Length list (repeated lines were joined into one).

    RFC 9112 section 6.3: a list of one value repeated is that value; differing values make the
    framing invalid, and the response is discarded rather than read by one of them.
    """
    lengths = {_size(item.strip(" \t"), False, "Content-Length") for item in value.split(",")}
    if len(lengths) > 1:
        raise HttpError("the response has differing Content-Length values")
    return lengths.pop()


def _only_chunked(value: str) -> None:
    """Refuse any transfer coding but chunked, once: the agent asks for none other (it sends no
    TE header), so another is a broken or hostile source, and a body framed one way here and
    another way by a proxy on the path is how responses are smuggled."""
    if [item.strip(" \t").lower() for item in value.split(",")] != ["chunked"]:
        raise HttpError("unsupported Transfer-Encoding: only chunked is read")


def request(
    url: SourceUrl,
    path: str,
    *,
    method: str = "GET",
    headers: Optional[Dict[str, str]] = None,
    body: bytes = b"",
    timeout: float = 20.0,
    max_body: int = 4 << 20,
    cafile: str = "",
) -> Response:
    """Send one request and read the whole response within `timeout` seconds."""
    deadline = time.monotonic() + timeout
    host_header = url.host if ":" not in url.host else f"[{url.host}]"
    if url.port != (443 if url.scheme == "https" else 80):
        host_header += f":{url.port}"
    lines = [
        f"{method} {path} HTTP/1.1",
        f"Host: {host_header}",
        "Connection: close",
        "User-Agent: powerstats-agent",
        "Accept-Encoding: identity",
    ]
    for name, value in (headers or {}).items():
        if "\r" in value or "\n" in value:
            raise UnsendableRequest(f"header {name} contains a line break", name)
        lines.append(f"{name}: {value}")
    if body or method == "POST":
        lines.append(f"Content-Length: {len(body)}")
    raw = _encode_head(lines) + body
    sock = _connect(url, deadline, cafile)
    try:
        try:
            sock.settimeout(_remaining(deadline))
            sock.sendall(raw)
        except netio.Timeout:
            raise HttpError("timed out while sending the request") from None
        except OSError as err:
            raise HttpError(f"connection failed while sending: {err.strerror or err}") from None
        reader = _Reader(sock, deadline)
        head = reader.read_head(MAX_HEAD)
        parts = head[0].split(" ", 2)
        # Three ASCII digits (RFC 9110 section 15): str.isdigit() also takes "¹", "²" and "³"
        # (the head is read as Latin-1), which int() refuses with an error no caller expects.
        if (
            len(parts) < 2
            or not parts[0].startswith("HTTP/1.")
            or len(parts[1]) != 3
            or not all(char in _DIGITS for char in parts[1])
        ):
            raise HttpError("the source did not answer with HTTP")
        response = Response(status=int(parts[1]))
        for line in head[1:]:
            name, sep, value = line.partition(":")
            if sep:
                _add_field(response.headers, name.strip().lower(), value.strip())
        no_body = method == "HEAD" or response.status in (204, 304) or response.status < 200
        if no_body:
            pass
        elif "transfer-encoding" in response.headers:  # it overrides any Content-Length
            _only_chunked(response.headers["transfer-encoding"])
            response.body = _decode_chunked(reader, max_body)
        elif "content-length" in response.headers:
            length = _content_length(response.headers["content-length"])
            if length > max_body:
                raise HttpError(f"response of {length} bytes is over the {max_body} byte limit")
            response.body = reader.read_exact(length)
        else:
            response.body = reader.read_to_close(max_body)
        response.bytes_sent = len(raw)
        response.bytes_received = reader.received
        return response
    finally:
        sock.close()
