"""Dropping root: the service binds its port as root, then serves as its own user.

A port below 1024 (port 80 for `http://<board>/`) needs root or CAP_NET_BIND_SERVICE to bind.
BusyBox init and OpenRC have no portable way to hand a capability to a service, so the init
scripts start `serve --user powerstats` as root: the agent reads its config, binds, and
switches to that user for good before it touches the network or the disk.
"""

from __future__ import annotations

import os

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs resident memory; mypy reads it, the board does not
    from typing import Any


class PrivilegeError(Exception):
    """The process cannot become the requested user."""


def check(name: str) -> Any:
    """The password entry of `name`, if this process can become that user (before binding)."""
    import pwd

    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        raise PrivilegeError(
            f"no user {name!r} on this system; create it (install.sh does)"
        ) from None
    already = os.getuid() == entry.pw_uid and os.geteuid() == entry.pw_uid
    if not already and os.geteuid() != 0:
        raise PrivilegeError(
            f"--user={name} needs the agent to start as root (it runs as uid {os.geteuid()})"
        )
    return entry


def drop_to(name: str) -> None:
    """Become user `name` (its group and supplementary groups) for good; no-op if already."""
    entry = check(name)
    if os.getuid() == entry.pw_uid and os.geteuid() == entry.pw_uid:
        return
    os.initgroups(name, entry.pw_gid)
    os.setgid(entry.pw_gid)
    os.setuid(entry.pw_uid)  # sets real, effective and saved uid: root cannot come back
    os.environ["HOME"] = entry.pw_dir
    os.environ["USER"] = os.environ["LOGNAME"] = name
    try:
        os.setuid(0)
    except PermissionError:
        return
    raise PrivilegeError(f"could not drop root: the process could become root again as {name}")
