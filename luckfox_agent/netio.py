"""Sockets through the `_socket` C module, without the `socket` module's Python layer.

`socket` (with `selectors` and the enum classes it builds for every address family, socket
kind and flag) costs about 0.4 MB resident on the board for conveniences the agent can do in a
few lines: connect with a deadline, accept, sendfile. TLS still needs `socket.socket`: `ssl`
imports `socket` anyway, so only HTTPS pays for it.
"""

from __future__ import annotations

import _socket
import os
import select

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs resident memory; mypy reads it, the board does not
    from typing import Any, Dict, List, Tuple

# Raised by a socket operation that ran out of time (socket.timeout, TimeoutError on 3.10+).
Timeout = _socket.timeout
AF_INET, AF_INET6, SOCK_STREAM = _socket.AF_INET, _socket.AF_INET6, _socket.SOCK_STREAM
SOL_SOCKET, SO_REUSEADDR, SHUT_RDWR = _socket.SOL_SOCKET, _socket.SO_REUSEADDR, _socket.SHUT_RDWR


def listener(family: int) -> Any:
    """A new TCP socket to bind and listen on."""
    return _socket.socket(family, SOCK_STREAM)


def accept(sock: Any, tls: bool) -> Tuple[Any, Any]:
    """(connection, address) from a listening socket; a `socket.socket` when TLS wraps it."""
    fd, address = sock._accept()
    if tls:
        import socket

        return socket.socket(sock.family, sock.type, 0, fd), address
    return _socket.socket(sock.family, sock.type, 0, fd), address


def connect(host: Any, port: int, timeout: float) -> Any:
    """A connected TCP socket, trying each address of `host` in turn (as create_connection)."""
    error: OSError = OSError(f"no address found for {host!r}")
    for family, kind, proto, _name, address in _socket.getaddrinfo(host, port, 0, SOCK_STREAM):
        sock = _socket.socket(family, kind, proto)
        try:
            sock.settimeout(timeout)
            sock.connect(address)
        except OSError as err:
            sock.close()
            error = err
            continue
        return sock
    raise error


def for_tls(sock: Any) -> Any:
    """The same connection as a `socket.socket`, which `ssl` needs to wrap it."""
    import socket

    return socket.socket(sock.family, sock.type, sock.proto, sock.detach())


def sendfile(sock: Any, fd: int, length: int, timeout: float) -> None:
    """Send `length` bytes of file `fd` from its start with os.sendfile, `timeout` per wait."""
    out = sock.fileno()
    poller = select.poll()
    poller.register(out, select.POLLOUT)
    offset = 0
    while offset < length:
        try:
            sent = os.sendfile(out, fd, offset, length - offset)
        except BlockingIOError:  # a socket with a timeout is non-blocking underneath
            if not poller.poll(timeout * 1000):
                raise Timeout("timed out while sending a file") from None
            continue
        if sent == 0:
            break  # the file is shorter than it was: the client sees a short body
        offset += sent


EVENT_READ = 1


class _Key:
    """What `Selector.select` hands back for a ready socket: the data it was registered with."""

    __slots__ = ("data",)

    def __init__(self, data: Any) -> None:
        self.data = data


class Selector:
    """The part of `selectors.DefaultSelector` the server uses, on select.poll (read only)."""

    def __init__(self) -> None:
        self._poll = select.poll()
        self._keys: Dict[int, _Key] = {}
        self._fds: Dict[int, int] = {}  # id(socket) -> its fd when registered

    def register(self, sock: Any, events: int, data: Any) -> None:
        """Watch `sock` for reading; `data` comes back with it."""
        fd = sock.fileno()
        self._poll.register(fd, select.POLLIN)
        self._keys[fd] = _Key(data)
        self._fds[id(sock)] = fd

    def unregister(self, sock: Any) -> None:
        """Stop watching `sock` (KeyError if it was not watched, as selectors does)."""
        fd = self._fds.pop(id(sock))
        del self._keys[fd]
        self._poll.unregister(fd)

    def select(self, timeout: float) -> List[Tuple[_Key, int]]:
        """The registered sockets ready to read (or closed, or in error) within `timeout` s."""
        ready = self._poll.poll(timeout * 1000)
        return [(self._keys[fd], EVENT_READ) for fd, _ in ready if fd in self._keys]

    def close(self) -> None:
        """Forget every socket."""
        self._keys.clear()
        self._fds.clear()
