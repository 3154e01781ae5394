"""Who may read the config file: kept on every rewrite, and checked for the service's user.

The service runs as its own user (`powerstats`), while `setup` and `doctor` run as root. A
config written root:root 0600 would be read fine by both and by no one else, the service
included: so a rewrite keeps the file's owner, group and mode, a new file is root:powerstats
0640 (it holds the token: readable by the service, private from everyone else), and `doctor`
checks access with the service user's ids rather than its own.
"""

from __future__ import annotations

import contextlib
import os
import stat

from .fsutil import remove_interrupted_writes, remove_quietly, stage_write, sync_folder

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs resident memory; mypy reads it, the board does not
    from typing import List, Optional, Tuple

USER_ENV = "POWERSTATS_AGENT_USER"
DEFAULT_USER = "powerstats"


def service_user() -> str:
    """The user the service runs as (install.sh's AGENT_USER, passed on by the command)."""
    return os.environ.get(USER_ENV) or DEFAULT_USER


def _group_id(name: str) -> Optional[int]:
    import grp

    try:
        return grp.getgrnam(name).gr_gid
    except KeyError:
        return None


def write_config(path: str, data: bytes, user: str) -> str:
    """Replace `path` atomically, keeping owner, group and mode; returns what it now is.

    A new file is owned by the caller (root under install), group `user`'s group, mode 0640;
    without that group, mode 0600.
    """
    try:
        old = os.stat(path)
        mode, uid, gid = stat.S_IMODE(old.st_mode), old.st_uid, old.st_gid
    except FileNotFoundError:
        group = _group_id(user)
        mode, uid, gid = (0o600, -1, -1) if group is None else (0o640, -1, group)
    # A setup killed between writing its temporary copy and renaming it left that copy, token
    # and all, beside the config for good. The service cannot remove it (it may not write to
    # the config's folder), so each rewrite removes those of earlier ones before staging its own.
    folder, name = os.path.split(os.path.abspath(path))
    remove_interrupted_writes(folder, lambda target: target == name)
    tmp = stage_write(path, [data], mode=0o600)
    try:
        # Owner and mode are set on the temporary file, so the config is never visible with
        # the wrong ones, not even for the moment between write and rename.
        with contextlib.suppress(PermissionError):  # not root: the file stays the caller's
            os.chown(tmp, uid, gid)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        remove_quietly(tmp)
        raise
    sync_folder(folder)  # `setup` said it saved: the new config survives a power cut too
    return describe(path)


def _name_of(uid: int, gid: int) -> Tuple[str, str]:
    import grp
    import pwd

    try:
        owner = pwd.getpwuid(uid).pw_name
    except KeyError:
        owner = str(uid)
    try:
        group = grp.getgrgid(gid).gr_name
    except KeyError:
        group = str(gid)
    return owner, group


def describe(path: str) -> str:
    """owner:group and octal mode of `path`, as `ls -l` users read them."""
    info = os.stat(path)
    owner, group = _name_of(info.st_uid, info.st_gid)
    return f"{owner}:{group} {stat.S_IMODE(info.st_mode):04o}"


def _may(info: os.stat_result, uid: int, gids: List[int], bits: int) -> bool:
    """Whether uid/gids get every permission in `bits` (4 read, 2 write, 1 search) on a file:
    owner, group, other."""
    if uid == 0:
        return True
    if info.st_uid == uid:
        shift = 6
    elif info.st_gid in gids:
        shift = 3
    else:
        shift = 0
    return (info.st_mode >> shift) & bits == bits


def _ids(user: str) -> Tuple[int, List[int]]:
    """`user`'s uid and groups; KeyError when there is no such user."""
    import pwd

    entry = pwd.getpwnam(user)
    return entry.pw_uid, os.getgrouplist(user, entry.pw_gid)


def _unreachable_reason(full: str, uid: int, gids: List[int]) -> Optional[str]:
    """Why uid/gids cannot reach `full` (a folder above it they may not enter), or None."""
    parts = full.split("/")
    for depth in range(1, len(parts) - 1):
        folder = "/".join(parts[: depth + 1])
        if not _may(os.stat(folder), uid, gids, 1):
            return f"it cannot enter the folder {folder} ({describe(folder)})"
    return None


def unreadable_reason(path: str, user: str) -> Optional[str]:
    """Why `user` cannot read `path`, or None when it can; KeyError when there is no such user.

    Decided from the user's uid and groups against the owner and mode bits of the file and of
    every folder above it, the way the kernel decides, without becoming that user.
    """
    uid, gids = _ids(user)
    full = os.path.abspath(path)
    reason = _unreachable_reason(full, uid, gids)
    if reason is None and not _may(os.stat(full), uid, gids, 4):
        reason = f"the file is {describe(full)}"
    return reason


def unwritable_reason(folder: str, user: str) -> Optional[str]:
    """Why `user` cannot create and rename files in `folder`, or None when it can; KeyError
    when there is no such user. Decided as `unreadable_reason` decides."""
    uid, gids = _ids(user)
    full = os.path.abspath(folder)
    reason = _unreachable_reason(full, uid, gids)
    if reason is None and not _may(os.stat(full), uid, gids, 2 | 1):
        reason = f"the folder is {describe(full)}"
    return reason
