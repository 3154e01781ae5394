"""Which Host names the agent answers to: the board's own names and addresses, and no other.

A web page on any site can make a LAN browser send requests to the board under the site's own
name (DNS rebinding) and read the answers, daily files and admin page included. Answering
only to the board's names and addresses (and 421 Misdirected Request to anything else) takes
that away. The address a request arrived at is always one of the board's own, so the
addresses are checked per connection: they stay right when DHCP changes them.
"""

from __future__ import annotations

import os

from .httpserver import Request

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs resident memory; mypy reads it, the board does not
    from typing import FrozenSet, Iterable

LOOPBACK = ("localhost", "127.0.0.1", "::1")


def own_names(extra: Iterable[str] = ()) -> FrozenSet[str]:
    """The board's host name (bare and .local), loopback names, and the configured extras."""
    names = set(LOOPBACK)
    hostname = os.uname().nodename.lower().rstrip(".")  # gethostname without `socket`
    if hostname:
        short = hostname.split(".", 1)[0]
        names.update((hostname, short, f"{short}.local"))
    names.update(extra)
    return frozenset(names)


def _plain_address(address: str) -> str:
    address = address.lower().split("%", 1)[0]  # an IPv6 scope (fe80::1%eth0)
    if address.startswith("::ffff:") and "." in address:  # IPv4 reached on a dual-stack socket
        address = address[7:]
    return address


def allowed(request: Request, names: FrozenSet[str]) -> bool:
    """True when the request's Host is one of `names` or the address it arrived at.

    An HTTP/1.0 request without Host (the server refuses HTTP/1.1 without it) names no host
    and is answered: a rebinding browser always sends the page's host.
    """
    host = request.host
    if not host or host in names:
        return True
    return bool(request.local) and _plain_address(host) == _plain_address(request.local)
