"""Scripted misbehaviour for the fake GitHub: injected errors, rate limits, hangs and hooks."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

# A fault's status when the server should hang instead of answering (a client timeout).
HANG = 0
# A fault's status when the server should answer 200 with a body no real answer comes near (a
# broken server or proxy), streamed without announcing its length.
ENDLESS = 1


@dataclass
class Fault:
    """Answer the next `times` matching requests with this status, headers and message."""

    status: int
    message: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    times: int = 1
    method: str | None = None
    path: str | None = None  # a regular expression searched in the request path
    # Do what the request asks first, then answer with the error: the answer is lost, the
    # change is made (GitHub timing out, or a proxy failing, after the work was done).
    after_the_change: bool = False

    def matches(self, method: str, path: str) -> bool:
        if self.method is not None and self.method != method:
            return False
        return self.path is None or re.search(self.path, path) is not None


@dataclass
class Hook:
    """Run `action` just before the server handles the next matching request."""

    action: Callable[[], None]
    method: str | None = None
    path: str | None = None

    def matches(self, method: str, path: str) -> bool:
        if self.method is not None and self.method != method:
            return False
        return self.path is None or re.search(self.path, path) is not None
