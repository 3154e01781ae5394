"""The mirror: keeps the web root's manifest.json and data files equal to the source's.

One poll = one conditional request for manifest.json. Only when the manifest changed are the
files it lists compared (by sha256) with the local copies, and only changed files fetched.
Every fetched file must match its size and sha256 and the contract's shape; the whole set is
staged first and swapped in (data files, then the manifest) only when every file is good, so
the web root always holds one consistent, last good generation. Nothing is written when
nothing changed: the board's flash has limited erase cycles. Each data file gets a gzip sibling
made from the same verified bytes (packing.py), for browsers that accept gzip.
"""

from __future__ import annotations

import os
import threading
import time

from . import jsonlite as json
from . import log
from .config import Config
from .contract import ContractError, FileEntry, parse_level_file, parse_manifest
from .fsutil import (
    atomic_write,
    remove_interrupted_writes,
    remove_quietly,
    sha256_file,
    sha256_hex,
    stage_write,
    suppress,
    sync_folder,
)
from .httpclient import HttpError, request
from .packing import Packer, found_siblings, identity, prune, sibling_name

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs resident memory; mypy reads it, the board does not
    from typing import Any, Callable, Dict, FrozenSet, List, Optional, Tuple

    from .packing import Packed

    # (staged data file, its target, staged gzip sibling or "", the sha256 of its bytes)
    Staged = Tuple[str, str, str, str]

MANIFEST = "manifest.json"
# 200 meters take about 210 KiB as the integration writes them; the most meters the contract
# check takes (256) with the longest ids and names, about 330 KiB.
MAX_MANIFEST_BYTES = 512 << 10
# An error message is kept in the state file and shown on /admin: a few hundred characters
# say what went wrong; a source that answers with megabytes of text must not fill the flash.
MAX_ERROR = 300
# The state file's last-success time is refreshed at most this often (seconds): everything
# else in it changes only when the data or the error changes, so idle polls write nothing.
STATE_REFRESH = 3600.0
# The longest ETag or Last-Modified kept to send back; real ones are well under 100 characters.
MAX_VALIDATOR = 256


class MirrorError(Exception):
    """One poll failed; the message is safe to log and show (no token)."""


class MirrorStatus:
    """What the status page and `status` command show about the mirror."""

    __slots__ = (
        "etag",
        "failures",
        "files_fetched",
        "last_attempt",
        "last_change",
        "last_error",
        "last_error_at",
        "last_modified",
        "last_success",
        "maintenance",
        "next_poll",
        "polls",
    )

    last_attempt: Optional[float]
    last_success: Optional[float]
    last_change: Optional[float]
    last_error: Optional[str]
    last_error_at: Optional[float]
    failures: int
    next_poll: Optional[float]
    etag: Optional[str]
    last_modified: Optional[str]
    polls: int
    files_fetched: int
    maintenance: Optional[bool]

    def __init__(
        self,
        last_attempt: Optional[float] = None,
        last_success: Optional[float] = None,
        last_change: Optional[float] = None,
        last_error: Optional[str] = None,
        last_error_at: Optional[float] = None,
        failures: int = 0,
        next_poll: Optional[float] = None,
        etag: Optional[str] = None,
        last_modified: Optional[str] = None,
        polls: int = 0,
        files_fetched: int = 0,
        maintenance: Optional[bool] = None,
    ) -> None:
        self.last_attempt = last_attempt
        self.last_success = last_success
        self.last_change = last_change
        self.last_error = last_error
        self.last_error_at = last_error_at
        self.failures = failures
        self.next_poll = next_poll
        self.etag = etag
        self.last_modified = last_modified
        self.polls = polls
        self.files_fetched = files_fetched
        self.maintenance = maintenance

    def persisted(self) -> Dict[str, Any]:
        """The part kept in the state file."""
        return {
            "etag": self.etag,
            "last_modified": self.last_modified,
            "last_success": self.last_success,
            "last_change": self.last_change,
            "last_error": self.last_error,
            "last_error_at": self.last_error_at,
        }


def sendable_validator(value: object) -> Optional[str]:
    """`value` when it can go back to the source as If-None-Match/If-Modified-Since, else None.

    A source may answer with a validator holding a control character or a non-ASCII one, which
    the request refuses to send: remembered, it would fail every later poll. (A bare CR or LF
    no longer gets into one, see `httpclient`; an older agent's state file may hold one.)
    Without it the poll is unconditional, and an unchanged manifest is still not written.
    """
    if not isinstance(value, str) or not value or len(value) > MAX_VALIDATOR:
        return None
    if not all(" " <= char <= "~" for char in value):
        return None
    return value


def _sync_folders(folders: List[str]) -> None:
    """Make the renames made in `folders` durable (see `sync_folder`), and forget them."""
    for folder in folders:
        sync_folder(folder)
    del folders[:]


def bounded_error(message: str) -> str:
    """A failure message as the state file keeps it and /admin shows it: secrets scrubbed
    first, then cut to MAX_ERROR characters; cut first, a secret split by the cut would no
    longer match and its first part would be kept."""
    message = log.scrub(message)
    if len(message) > MAX_ERROR:
        message = message[: MAX_ERROR - 3] + "..."
    return message


def load_state(path: str) -> MirrorStatus:
    """Read the state file; a missing or damaged one means a fresh start."""
    status = MirrorStatus()
    try:
        with open(path, "rb") as handle:
            data = json.loads(handle.read(65536))
    except (OSError, ValueError):
        return status
    if not isinstance(data, dict):
        return status
    if isinstance(data.get("last_error"), str):
        # Scrubbed as read too: an older agent kept its errors unscrubbed.
        status.last_error = bounded_error(data["last_error"])
    # A validator saved by a version that kept any would make every poll fail: dropped here.
    status.etag = sendable_validator(data.get("etag"))
    status.last_modified = sendable_validator(data.get("last_modified"))
    for key in ("last_success", "last_change", "last_error_at"):
        if isinstance(data.get(key), (int, float)):
            setattr(status, key, float(data[key]))
    return status


def read_local_manifest(webroot: str) -> Tuple[Optional[bytes], Tuple[FileEntry, ...], Any]:
    """The served manifest's bytes, its file entries and its parsed document."""
    try:
        with open(os.path.join(webroot, MANIFEST), "rb") as handle:
            raw = handle.read(MAX_MANIFEST_BYTES + 1)
        doc, entries = parse_manifest(raw)
        return raw, entries, doc
    except (OSError, ValueError, MemoryError):
        return None, (), None


def _is_mirrored_name(name: str) -> bool:
    """Whether the mirror writes files called `name`: the manifest, level files, their gzip."""
    return name.endswith((".json", ".json.gz"))


def subfolders(folder: str) -> List[str]:
    """The folders in `folder` (one per meter in the web root), symbolic links left out."""
    try:
        return [e.path for e in os.scandir(folder) if e.is_dir(follow_symlinks=False)]
    except OSError:
        return []


class Mirror:
    """Polls the source and keeps the web root current; thread-safe status for the server."""

    def __init__(self, config: Config, clock: Callable[[], float] = time.time) -> None:
        self.config = config
        self.clock = clock
        self.lock = threading.Lock()
        self._remove_interrupted_writes()
        self.status = load_state(config.state_file)
        self._state_written = self._state_bytes()
        raw, entries, doc = read_local_manifest(config.webroot)
        self.data_files: FrozenSet[str] = self._allowed(raw, entries)
        if isinstance(doc, dict):
            self.status.maintenance = bool(doc.get("maintenance"))
        if raw is None:
            # Without a local copy a 304 would leave nothing to serve: fetch unconditionally.
            self.status.etag = self.status.last_modified = None
        # What each file in the web root hashed to, with its identity then (see `_hash_of`).
        self._hashes: Dict[str, Tuple[Tuple[int, int, int], str]] = {}
        # Checked once at start (reads only): a file lost or damaged on the flash is fetched
        # again by the first poll even though the source's manifest did not change.
        contents = {e.path: self._hash_of(os.path.join(config.webroot, e.path)) for e in entries}
        self._repair = any(contents[e.path] != e.sha256 for e in entries)
        contents[MANIFEST] = None if raw is None else sha256_hex(raw)
        self.packer = Packer()
        # Data file -> its gzip sibling, for the server; replaced whole, never changed in place,
        # so a server thread reads one consistent map without a lock.
        self.packed: Dict[str, Packed] = found_siblings(config.webroot, contents)
        if self._repair:
            log.warning("some mirrored files are missing or damaged; the first poll repairs them")

    def _remove_interrupted_writes(self) -> None:
        """Remove what updates cut short by a power cut or kill -9 staged: never served, these
        files would otherwise fill the flash over the years, one crash at a time."""
        webroot = self.config.webroot
        removed = sum(
            remove_interrupted_writes(folder, _is_mirrored_name)
            for folder in [webroot, *subfolders(webroot)]
        )
        state_folder, state_name = os.path.split(self.config.state_file)
        removed += remove_interrupted_writes(state_folder, lambda name: name == state_name)
        if removed:
            log.info("removed %d temporary file(s) left by an interrupted update", removed)

    @staticmethod
    def _allowed(raw: Optional[bytes], entries: Tuple[FileEntry, ...]) -> FrozenSet[str]:
        if raw is None:
            return frozenset()
        return frozenset([MANIFEST] + [entry.path for entry in entries])

    # -- one poll ---------------------------------------------------------------------------

    def poll(self) -> str:
        """Run one poll; returns "updated", "unchanged" or "failed" (never raises MirrorError)."""
        with self.lock:
            now = self.clock()
            self.status.last_attempt = now
            self.status.polls += 1
            try:
                changed = self._poll()
            except MirrorError as err:
                self._record_failure(str(err), now)
                return "failed"
            except (RecursionError, MemoryError) as err:
                # Hostile input that slipped past the shape checks: an ordinary failure,
                # retried with backoff like any other, never a crash of the loop.
                self._record_failure(f"the source's data is too large to handle ({err!r})", now)
                return "failed"
            except Exception as err:
                # A bug: counted, backed off and shown on /admin like any failure, not only
                # logged at every poll.
                self._record_failure(
                    f"unexpected error, please report it: {type(err).__name__}: {err}", now
                )
                return "failed"
            was_failing = self.status.failures > 0
            self.status.failures = 0
            self.status.last_success = now
            if changed:
                self.status.last_change = now
            if self.status.last_error is not None:
                self.status.last_error = None
                self.status.last_error_at = None
            if was_failing:
                log.info("source is reachable again; mirror up to date")
            self._save_state()
            return "updated" if changed else "unchanged"

    def _record_failure(self, message: str, now: float) -> None:
        status = self.status
        message = bounded_error(message)
        status.failures += 1
        if message != status.last_error:
            # Logged when the situation changes, not on every retry: bounded logs.
            log.warning("mirror failed, keeping the last good copy: %s", message)
        else:
            log.debug("mirror failed again (%d in a row): %s", status.failures, message)
        status.last_error = message
        if status.last_error_at is None or status.failures == 1:
            status.last_error_at = now
        self._save_state()

    def _headers(self, conditional: bool) -> Dict[str, str]:
        headers = {"Accept": "application/json"}
        if self.config.sends_token:
            headers["Authorization"] = f"Bearer {self.config.source_token}"
        if conditional:
            if self.status.etag:
                headers["If-None-Match"] = self.status.etag
            if self.status.last_modified:
                headers["If-Modified-Since"] = self.status.last_modified
        return headers

    def _get(
        self, relative: str, conditional: bool, limit: int
    ) -> Tuple[int, Dict[str, str], bytes]:
        source = self.config.source
        try:
            response = request(
                source,
                source.path + relative,
                headers=self._headers(conditional),
                timeout=self.config.timeout,
                max_body=limit,
                cafile=self.config.source_ca_file,
            )
        except HttpError as err:
            raise MirrorError(f"{relative}: {err}") from None
        if response.status in (401, 403):
            raise MirrorError(
                f"{relative}: the source refused the token (HTTP {response.status}); "
                "check [source] token"
            )
        if response.status not in (200, 304):
            raise MirrorError(f"{relative}: the source answered HTTP {response.status}")
        return response.status, response.headers, response.body

    def _poll(self) -> bool:
        webroot = self.config.webroot
        local_raw, local_entries, _ = read_local_manifest(webroot)
        conditional = local_raw is not None and not self._repair
        status, headers, body = self._get(MANIFEST, conditional, MAX_MANIFEST_BYTES)
        if status == 304:
            if not conditional:
                raise MirrorError("manifest.json: 304 to an unconditional request")
            return False
        if body == local_raw and not self._repair:
            # The source ignores conditional requests but nothing changed: write nothing.
            self._remember_validators(headers)
            return False
        try:
            doc, entries = parse_manifest(body)
        except ContractError as err:
            raise MirrorError(str(err)) from None
        fetched = self._stage_changed(entries)
        count = len(fetched)
        self._commit(fetched, body, local_raw, local_entries, entries)
        self._repair = False
        self._remember_validators(headers)
        self.data_files = self._allowed(body, entries)
        self.status.maintenance = bool(doc.get("maintenance"))
        log.info("mirror updated: %d file(s) fetched, %d listed", count, len(entries))
        return True

    def _remember_validators(self, headers: Dict[str, str]) -> None:
        self.status.etag = self._validator(headers, "etag")
        self.status.last_modified = self._validator(headers, "last-modified")

    @staticmethod
    def _validator(headers: Dict[str, str], name: str) -> Optional[str]:
        value = sendable_validator(headers.get(name))
        if value is None and headers.get(name):
            log.debug("the source's %s cannot be sent back; polls go unconditional", name)
        return value

    def _stage_changed(self, entries: Tuple[FileEntry, ...]) -> List[Staged]:
        """Fetch, verify and stage every listed file whose local copy differs."""
        staged: List[Staged] = []
        try:
            for entry in entries:
                target = os.path.join(self.config.webroot, entry.path)
                if self._hash_of(target) == entry.sha256:
                    continue
                data = self._fetch_verified(entry)
                try:
                    os.makedirs(os.path.dirname(target), mode=0o755, exist_ok=True)
                    tmp = stage_write(target, [data])
                except OSError as err:
                    raise MirrorError(
                        f"cannot write {entry.path}: {err.strerror or err}; the old copy stays"
                    ) from None
                staged.append((tmp, target, "", entry.sha256))
                packed = self.packer.compress(tmp, target)
                if packed is not None:
                    staged[-1] = (tmp, target, packed, entry.sha256)
                self.status.files_fetched += 1
        except BaseException:
            for tmp, _, packed, _ in staged:
                remove_quietly(tmp)
                if packed:
                    remove_quietly(packed)
            raise
        return staged

    def _fetch_verified(self, entry: FileEntry) -> bytes:
        limit = min(self.config.max_file_bytes, max(entry.size, 0))
        if entry.size > self.config.max_file_bytes:
            raise MirrorError(f"{entry.path} is {entry.size} bytes, over [source] max_file_bytes")
        _, _, body = self._get(entry.path, False, limit)
        if len(body) != entry.size:
            raise MirrorError(
                f"{entry.path}: got {len(body)} bytes, the manifest says {entry.size}"
            )
        if sha256_hex(body) != entry.sha256:
            raise MirrorError(f"{entry.path}: sha256 does not match the manifest")
        try:
            parse_level_file(body, entry)
        except ContractError as err:
            raise MirrorError(str(err)) from None
        return body

    def _commit(
        self,
        staged: List[Staged],
        manifest: bytes,
        old_manifest: Optional[bytes],
        old_entries: Tuple[FileEntry, ...],
        new_entries: Tuple[FileEntry, ...],
    ) -> None:
        """Swap the staged files in, then the manifest; drop files no longer listed.

        A sibling is renamed in before its file, under a name no one serves yet; the server
        sends it only once `packed` names it with the identity of the file now in place.
        """
        webroot = self.config.webroot
        manifest_path = os.path.join(webroot, MANIFEST)
        packed = dict(self.packed)
        unsynced: List[str] = []  # folders holding renames the disk may not have yet
        try:
            if manifest != old_manifest:  # staged last, so swapped in last
                tmp = stage_write(manifest_path, [manifest])
                sibling = self.packer.compress(tmp, manifest_path) or ""  # never raises
                staged.append((tmp, manifest_path, sibling, sha256_hex(manifest)))
            for index, (tmp, target, sibling, sha256) in enumerate(staged):
                if target == manifest_path:
                    # The files it lists reach the disk before it does: after a power cut the
                    # manifest on the card never lists bytes the card lost.
                    _sync_folders(unsynced)
                folder = os.path.dirname(target)
                if folder not in unsynced:
                    unsynced.append(folder)
                path = os.path.relpath(target, webroot).replace(os.sep, "/")
                packed.pop(path, None)
                if sibling:
                    name = sibling_name(path, sha256)
                    os.replace(sibling, os.path.join(webroot, name))
                    staged[index] = (tmp, target, "", sha256)
                os.replace(tmp, target)
                staged[index] = ("", target, "", sha256)
                found = identity(target)
                if found is not None:
                    self._hashes[target] = (found, sha256)
                if sibling and found is not None:
                    packed[path] = (name, found[0], found[1], found[2])
            _sync_folders(unsynced)
        except OSError as err:
            for tmp, _, sibling, _ in staged:
                if tmp:
                    remove_quietly(tmp)
                if sibling:
                    remove_quietly(sibling)
            raise MirrorError(f"cannot update the web root: {err.strerror or err}") from None
        listed = {MANIFEST} | {entry.path for entry in new_entries}
        if self.packer.available:
            for path in sorted(listed):
                sibling_of = packed.get(path)
                in_place = identity(os.path.join(webroot, path))
                if sibling_of is not None and in_place == sibling_of[1:]:
                    continue
                if not self._pack_in_place(path, packed):
                    break  # gzip fails (a full disk?): not 800 more tries now; next time
        self.packed = {path: value for path, value in packed.items() if path in listed}
        kept = {os.path.join(webroot, path) for path in listed}
        self._hashes = {target: known for target, known in self._hashes.items() if target in kept}
        for _, target, _, _ in staged:  # the siblings of the bytes just replaced
            path = os.path.relpath(target, webroot).replace(os.sep, "/")
            current = self.packed.get(path)
            prune(webroot, path, [current[0]] if current else [])
        for entry in old_entries:
            if entry.path not in listed:
                remove_quietly(os.path.join(webroot, entry.path))
                prune(webroot, entry.path)
                with suppress(OSError):
                    os.rmdir(os.path.join(webroot, entry.meter_id))

    def _pack_in_place(self, path: str, packed: Dict[str, Packed]) -> bool:
        """Give a file already in place the sibling it lacks (gzip missing before, an upgrade);
        False when gzip failed on it.

        Only this thread replaces data files, so the file compressed is the file recorded.
        """
        packed.pop(path, None)
        target = os.path.join(self.config.webroot, path)
        before = identity(target)
        contents = self._hash_of(target)
        if before is None or contents is None:
            return True
        made = self.packer.compress(target, target)
        if made is None:
            return False
        name = sibling_name(path, contents)
        try:
            os.replace(made, os.path.join(self.config.webroot, name))
        except OSError:
            remove_quietly(made)
            return False
        if identity(target) == before:
            packed[path] = (name, before[0], before[1], before[2])
            prune(self.config.webroot, path, [name])
        return True

    def _hash_of(self, target: str) -> Optional[str]:
        """The sha256 of a file in the web root (None: missing or unreadable), read again only
        when the file is not the one last hashed (another inode, size or time).

        A manifest change would otherwise read every listed file: some 800 at 200 meters, every
        ten minutes, on the board's flash and CPU.
        """
        found = identity(target)
        if found is None:
            return None
        known = self._hashes.get(target)
        if known is not None and known[0] == found:
            return known[1]
        contents = sha256_file(target)
        if contents is not None:
            self._hashes[target] = (found, contents)
        return contents

    # -- the state file ---------------------------------------------------------------------

    def _state_bytes(self) -> bytes:
        return json.dumps(self.status.persisted(), sort_keys=True).encode()

    def _save_state(self) -> None:
        """Write the state file only when what it records changed (flash wear)."""
        current = self._state_bytes()
        if current == self._state_written:
            return
        try:
            old = json.loads(self._state_written) if self._state_written else {}
        except ValueError:
            old = {}
        stale = dict(old)
        stale["last_success"] = self.status.last_success
        only_success_moved = stale == self.status.persisted()
        previous = old.get("last_success") if isinstance(old, dict) else None
        if (
            only_success_moved
            and isinstance(previous, (int, float))
            and self.status.last_success is not None
            and self.status.last_success - previous < STATE_REFRESH
        ):
            return
        try:
            os.makedirs(os.path.dirname(self.config.state_file), exist_ok=True)
            atomic_write(self.config.state_file, [current], mode=0o600)
            self._state_written = current
        except OSError as err:
            log.warning(
                "cannot write the state file %s: %s", self.config.state_file, err.strerror or err
            )


class MirrorLoop:
    """Runs polls every `interval`, backing off while the source is down.

    The loop sleeps in select() on a pipe: "poll now" and "stop" write a byte to it. Signal
    handlers use the same path because they must not take locks (a handler that sets a
    threading.Event can deadlock against the very wait it interrupts).
    """

    def __init__(
        self,
        mirror: Mirror,
        on_change: Callable[[], None] = lambda: None,
        before_poll: Callable[[], None] = lambda: None,
    ) -> None:
        self.mirror = mirror
        self.on_change = on_change
        self.before_poll = before_poll
        self.stopping = False
        self._read_end, self._write_end = os.pipe()
        os.set_blocking(self._read_end, False)
        os.set_blocking(self._write_end, False)

    def delay(self) -> float:
        """Seconds until the next poll: the interval, doubled per failure up to the cap."""
        config = self.mirror.config
        failures = self.mirror.status.failures
        if failures == 0:
            return config.interval
        cap = max(config.max_backoff, config.interval)
        return float(min(config.interval * (2 ** min(failures, 30)), cap))

    @property
    def wakeup_fd(self) -> int:
        """The pipe's write end, for signal.set_wakeup_fd: a signal wakes the loop's select()
        even when the kernel delivered it to another thread."""
        return self._write_end

    def _poke(self) -> None:
        with suppress(OSError):  # a full pipe: a wake-up is already pending
            os.write(self._write_end, b"!")

    def mirror_now(self) -> None:
        """Ask for a poll as soon as possible (admin "mirror now", SIGUSR1)."""
        self._poke()

    def stop(self) -> None:
        """Ask the loop to end after the current poll."""
        self.stopping = True
        self._poke()

    def _sleep(self, seconds: float) -> None:
        import select

        deadline = time.monotonic() + seconds
        while not self.stopping:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            try:
                ready, _, _ = select.select([self._read_end], [], [], remaining)
            except InterruptedError:  # pragma: no cover - Python retries select itself
                continue
            if ready:
                try:
                    while os.read(self._read_end, 512):
                        pass
                except OSError:
                    pass
                return

    def run(self) -> None:
        """Poll until stopped."""
        while not self.stopping:
            self.before_poll()
            if self.stopping:
                return
            try:
                result = self.mirror.poll()
            except Exception as err:  # a bug must not end the mirror; log and go on
                log.error("unexpected error in the mirror: %s", err)
                result = "failed"
            if result == "updated":
                self.on_change()
            wait = self.delay()
            # On the monotonic clock, as `_sleep` waits: NTP setting the board's wall clock
            # (no clock battery) would otherwise move "next poll in" by years.
            self.mirror.status.next_poll = time.monotonic() + wait
            log.debug("next poll in %.1f s", wait)
            self._sleep(wait)
