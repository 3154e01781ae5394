"""GitHub client: publishes a set of files as one commit through the Git Data API (no HA here).

The flow for a publish (facts: docs/publishing.md):
  GET ref -> GET commit -> GET tree (recursive) -> compare git blob ids -> POST tree (base_tree)
  -> POST commit -> PATCH ref with force=false (a compare-and-swap; rebuilt if the branch moved).
Files whose blob id equals the repository's are left out; nothing changed means no commit, and
nothing changed since the last publish means no request at all.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import ipaddress
import json
import logging
import re
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import quote, urlsplit

import aiohttp

from .views import MANIFEST

_LOGGER = logging.getLogger(__name__)

API_VERSION: Final = "2022-11-28"
DEFAULT_API_URL: Final = "https://api.github.com"
USER_AGENT: Final = "PowerStats (+https://github.com/powerstats/powerstats)"
# GitHub gives up on a request after 10 s itself; allow for a slow link on top.
REQUEST_TIMEOUT: Final = 20.0
# GitHub asks for at least one second between content-creating requests.
WRITE_INTERVAL: Final = 1.0
# How often a publish is rebuilt on a branch that keeps moving under it before giving up.
MAX_REBUILDS: Final = 3
# No answer PowerStats asks for comes near this (GitHub cuts a tree listing at 7 MB); a larger
# one is a broken server or proxy, and is not read into memory.
MAX_ANSWER_BYTES: Final = 8 * 1024 * 1024
# Added to the message of the Contents PUT that gives an empty repository its first commit.
FIRST_FILE_MESSAGE: Final = "Start the PowerStats energy history"

_SHA: Final = re.compile(r"^[0-9a-f]{40}(?:[0-9a-f]{24})?$")
_OWNER: Final = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$")
_REPO_NAME: Final = re.compile(r"^[A-Za-z0-9._-]{1,100}$")
_BRANCH_FORBIDDEN: Final = re.compile(r"[\x00-\x20~^:?*\[\\\x7f]|\.\.|@\{|//")
_CONTROL: Final = re.compile(r"[\x00-\x1f\x7f]")
# How GitHub words a ref update a rule refuses: "Protected branch update failed for
# refs/heads/main." (branch protection), "Repository rule violations found" (rulesets).
_PROTECTED: Final = re.compile(r"protected branch|rule violation", re.IGNORECASE)
# How GitHub words its refusal of an account that sent bad credentials too often (by anything
# using it): "Maximum number of login attempts exceeded. Please try again later." It passes.
_LOCKED_OUT: Final = re.compile(r"login attempts", re.IGNORECASE)
# What X-Accepted-GitHub-Permissions holds: "contents=write" or "contents=write, metadata=read".
_PERMISSIONS: Final = re.compile(r"[a-z_]+=(read|write|admin)(, ?[a-z_]+=(read|write|admin))*\Z")
# A token as GitHub issues them (ghp_…, github_pat_…): printable ASCII without spaces.
_TOKEN: Final = re.compile(r"[\x21-\x7e]{1,255}")


def git_blob_sha(content: bytes) -> str:
    """Return the id git (and so GitHub) gives a file with this content."""
    header = f"blob {len(content)}\0".encode()
    return hashlib.sha1(header + content, usedforsecurity=False).hexdigest()


# ---- errors ------------------------------------------------------------------------------


class GitHubError(Exception):
    """Base of every error this client raises."""


class GitHubAuthError(GitHubError):
    """The token was refused (401): ask the user for a new one; do not retry."""


class GitHubPermissionError(GitHubError):
    """The token may not do this (403), e.g. a fine-grained token without Contents: write."""

    def __init__(self, message: str, missing: str | None = None) -> None:
        super().__init__(message)
        self.missing = missing  # GitHub's X-Accepted-GitHub-Permissions, e.g. "contents=write"


class GitHubSSOError(GitHubPermissionError):
    """403 with `X-GitHub-SSO: required`: the repository's organization enforces single
    sign-on and the token is not authorized for it (GitHub's REST docs, "SAML SSO")."""


class GitHubBranchProtectedError(GitHubError):
    """422 on the ref update from a branch protection rule or a ruleset: the branch takes
    changes only the way the rule asks (a pull request, a review, a signed commit)."""


class GitHubNotFoundError(GitHubError):
    """The repository does not exist or the token cannot see it (GitHub answers 404 for both)."""


class GitHubRateLimitError(GitHubError):
    """A primary or secondary rate limit: wait before the next request."""

    def __init__(
        self, message: str, *, retry_after: float | None = None, reset_at: float | None = None
    ) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.reset_at = reset_at

    def wait_seconds(self, now: float) -> float:
        """Seconds to wait from `now` (epoch seconds) before GitHub accepts requests again."""
        if self.retry_after is not None:
            return self.retry_after
        if self.reset_at is not None:
            # One second more: the reset instant is rounded down to a whole second.
            return max(0.0, self.reset_at - now) + 1.0
        return 60.0  # GitHub's advice when it names no time


class GitHubExistingDataError(GitHubError):
    """The target folder holds a manifest.json this installation never published: another
    installation's dataset, or the published history a fresh one should restore from first."""


class GitHubTransientError(GitHubError):
    """A timeout, an unreachable server, a 5xx or an answer we did not expect: retry later."""


class PublishWithdrawnError(Exception):
    """The caller withdrew the publish before it changed the branch (Maintenance turned on):
    what was sent so far is unreachable on GitHub, and nothing is published."""


class InvalidTargetError(ValueError):
    """A repository, branch or folder setting that GitHub would not accept."""

    def __init__(self, field_name: str) -> None:
        super().__init__(f"invalid {field_name}")
        self.field_name = field_name


class _EmptyRepositoryError(GitHubError):
    """409 from the git database: the repository has no commit yet."""


class _NotFastForwardError(GitHubError):
    """422 on the ref update: someone else moved the branch."""


class _BranchMissingError(GitHubError):
    """404 for the branch of a repository that exists."""


def _still_wanted(may_land: Callable[[], bool]) -> None:
    if not may_land():
        raise PublishWithdrawnError("withdrawn before it changed the branch")


# ---- settings and results ----------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """Where to publish: API base URL, repository, branch and folder inside it."""

    owner: str
    name: str
    branch: str = "main"
    folder: str = ""  # "" is the repository's root
    api_url: str = DEFAULT_API_URL

    @classmethod
    def parse(
        cls,
        repository: str,
        branch: str = "main",
        folder: str = "",
        api_url: str = DEFAULT_API_URL,
    ) -> Target:
        """Validate user settings; raise InvalidTargetError naming the bad one."""
        owner, slash, name = repository.strip().partition("/")
        if not slash or not _OWNER.match(owner) or not _REPO_NAME.match(name):
            raise InvalidTargetError("repository")
        if name in (".", ".."):
            raise InvalidTargetError("repository")
        branch = branch.strip()
        if (
            not branch
            or not _utf8(branch)
            or _BRANCH_FORBIDDEN.search(branch)
            or branch.startswith(("/", "-", "."))
            or branch.endswith(("/", ".", ".lock"))
        ):
            raise InvalidTargetError("branch")
        folder = folder.strip().strip("/")
        if folder and not _valid_relative_path(folder):
            raise InvalidTargetError("folder")
        api_url = api_url.strip().rstrip("/")
        if not valid_api_url(api_url):
            raise InvalidTargetError("api_url")
        return cls(owner, name, branch, folder, api_url)

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"

    def repo_path(self, relative: str) -> str:
        """The path in the repository of a published file's relative path."""
        return f"{self.folder}/{relative}" if self.folder else relative


@dataclass(frozen=True)
class RepositoryAccess:
    """What the setup check learned about the repository."""

    full_name: str
    private: bool
    can_push: bool
    default_branch: str


@dataclass(frozen=True)
class PublishResult:
    """The outcome of one publish."""

    commit_sha: str | None  # None: nothing differed, no commit made
    commit_url: str | None
    changed: tuple[str, ...]  # relative paths written or removed by the commit(s)
    published: Mapping[str, str] = field(default_factory=dict)  # relative path -> blob id
    requests: int = 0


@dataclass(frozen=True)
class _Answer:
    status: int
    data: Any
    headers: Mapping[str, str]


# ---- the client --------------------------------------------------------------------------


class GitHubClient:
    """Talks to one repository with one token over an injected aiohttp session."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        token: str,
        target: Target,
        *,
        timeout: float = REQUEST_TIMEOUT,
        write_interval: float = WRITE_INTERVAL,
        user_agent: str = USER_AGENT,
    ) -> None:
        self._session = session
        self._token = token
        self.target = target
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._write_interval = write_interval
        self._user_agent = user_agent
        self._last_write: float | None = None
        self.requests = 0  # requests sent over the client's life, for tests and benchmarks

    def __repr__(self) -> str:
        # The token stays out of every repr, log line and traceback.
        return f"GitHubClient({self.target.full_name}@{self.target.branch})"

    async def check_access(self) -> RepositoryAccess:
        """Read the repository as the setup check does (one request)."""
        answer = await self._request("GET", self._repo_url(""))
        data = _mapping(answer.data)
        permissions = _mapping(data.get("permissions", {}))
        return RepositoryAccess(
            full_name=str(data.get("full_name", self.target.full_name)),
            private=bool(data.get("private", True)),
            can_push=permissions.get("push") is True,
            default_branch=str(data.get("default_branch", "main")),
        )

    async def publish(
        self,
        files: Mapping[str, bytes],
        message: str,
        *,
        previous: Mapping[str, str] | None = None,
        remove: Iterable[str] = (),
        replace_existing: bool = False,
        ours: Collection[str] = (),
        may_land: Callable[[], bool] = lambda: True,
    ) -> PublishResult:
        """Commit every file that differs from the branch, in one commit.

        `files` maps relative paths (below the target folder) to their bytes; `previous` is
        the `published` map of the last successful publish, which lets an unchanged set skip
        GitHub entirely; `remove` names relative paths published before and no longer wanted.
        Without a `previous`, a manifest.json already in the folder raises
        `GitHubExistingDataError` unless `replace_existing` says the user chose to replace it
        or it is one of `ours` (the blob ids of those earlier attempts sent). `may_land` is
        asked just before each request that changes the branch; when it says no, the publish
        stops there with `PublishWithdrawnError`.
        """
        for relative in (*files, *remove):
            if not _valid_relative_path(relative):
                raise ValueError(f"not a relative file path: {relative!r}")
        blob_ids = {relative: git_blob_sha(content) for relative, content in files.items()}
        removals = sorted(set(remove) - set(files))
        if previous is not None and not removals and blob_ids == dict(previous):
            return PublishResult(None, None, (), blob_ids, 0)
        start = self.requests
        rebuilds = 0
        seeded: list[str] = []
        while True:
            try:
                head = await self._head()
            except _EmptyRepositoryError:
                if seeded:
                    raise GitHubTransientError("the repository stayed empty") from None
                _still_wanted(may_land)
                seeded.append(await self._create_first_file(files, message))
                continue
            except _BranchMissingError:
                head = None
            try:
                commit_sha, commit_url, changed = await self._commit_on(
                    head,
                    files,
                    blob_ids,
                    removals,
                    message,
                    keep_existing=previous is None and not replace_existing,
                    ours=ours,
                    may_land=may_land,
                )
            except _NotFastForwardError:
                rebuilds += 1
                if rebuilds > MAX_REBUILDS:
                    raise GitHubTransientError(
                        "the branch kept moving during the publish"
                    ) from None
                _LOGGER.debug("Branch %s moved during the publish; rebuilding", self.target.branch)
                continue
            changed_all = tuple(sorted({*seeded, *changed}))
            return PublishResult(
                commit_sha, commit_url, changed_all, blob_ids, self.requests - start
            )

    # ---- the steps ---------------------------------------------------------------------

    async def _head(self) -> str:
        """The branch's head commit id."""
        url = self._repo_url(f"/git/ref/heads/{quote(self.target.branch, safe='/')}")
        try:
            answer = await self._request("GET", url)
        except GitHubNotFoundError:
            # 404 for the ref alone does not tell a missing branch from a missing repository.
            await self._request("GET", self._repo_url(""))
            raise _BranchMissingError(self.target.branch) from None
        return _sha(_mapping(_mapping(answer.data).get("object")).get("sha"))

    async def _commit_on(
        self,
        head: str | None,
        files: Mapping[str, bytes],
        blob_ids: Mapping[str, str],
        removals: list[str],
        message: str,
        *,
        keep_existing: bool,
        ours: Collection[str],
        may_land: Callable[[], bool],
    ) -> tuple[str | None, str | None, list[str]]:
        """Build one commit on top of `head` (None: start the branch) and move the branch."""
        base_tree: str | None = None
        current: dict[str, str] = {}
        complete = True
        if head is not None:
            commit = _mapping(
                (await self._request("GET", self._repo_url(f"/git/commits/{head}"))).data
            )
            base_tree = _sha(_mapping(commit.get("tree")).get("sha"))
            current, complete = await self._tree_blobs(base_tree)
        path_of = self.target.repo_path
        found = current.get(path_of(MANIFEST))
        if keep_existing and found is not None and found not in {blob_ids.get(MANIFEST), *ours}:
            # Replacing it would hide that history from Pages, the board and a restore.
            raise GitHubExistingDataError(
                f"{path_of(MANIFEST)} on {self.target.branch} was not published from here"
            )
        changed = [r for r in sorted(files) if current.get(path_of(r)) != blob_ids[r]]
        removed = [r for r in removals if path_of(r) in current]
        if not changed and not removed and complete:
            return None, None, []
        if not changed and not removed:
            changed = sorted(files)  # a truncated listing: send everything rather than guess
        entries: list[dict[str, Any]] = []
        for relative in changed:
            entries.append(await self._tree_entry(path_of(relative), files[relative]))
        for relative in removed:
            entries.append(
                {"path": path_of(relative), "mode": "100644", "type": "blob", "sha": None}
            )
        body: dict[str, Any] = {"tree": entries}
        if base_tree is not None:
            body["base_tree"] = base_tree
        tree = _mapping((await self._request("POST", self._repo_url("/git/trees"), body)).data)
        commit_body = {
            "message": message,
            "tree": _sha(tree.get("sha")),
            "parents": [head] if head is not None else [],
        }
        new = _mapping(
            (await self._request("POST", self._repo_url("/git/commits"), commit_body)).data
        )
        new_sha = _sha(new.get("sha"))
        _still_wanted(may_land)
        branch = quote(self.target.branch, safe="/")
        if head is None:
            ref_body: dict[str, Any] = {"ref": f"refs/heads/{self.target.branch}", "sha": new_sha}
            await self._request("POST", self._repo_url("/git/refs"), ref_body)
        else:
            ref_update = {"sha": new_sha, "force": False}
            await self._request("PATCH", self._repo_url(f"/git/refs/heads/{branch}"), ref_update)
        url = new.get("html_url")
        commit_url = url if isinstance(url, str) and url.startswith("http") else None
        return new_sha, commit_url, changed + removed

    async def _tree_blobs(self, tree_sha: str) -> tuple[dict[str, str], bool]:
        """{path: blob id} of every file in a tree, and whether GitHub listed all of them."""
        url = self._repo_url(f"/git/trees/{tree_sha}")
        data = _mapping((await self._request("GET", url, params={"recursive": "1"})).data)
        blobs: dict[str, str] = {}
        entries = data.get("tree")
        if not isinstance(entries, list):
            raise GitHubTransientError("GitHub sent a tree without entries")
        for entry in entries:
            item = _mapping(entry)
            path, sha = item.get("path"), item.get("sha")
            if item.get("type") == "blob" and isinstance(path, str) and isinstance(sha, str):
                blobs[path] = sha
        return blobs, data.get("truncated") is not True

    async def _tree_entry(self, path: str, content: bytes) -> dict[str, Any]:
        entry: dict[str, Any] = {"path": path, "mode": "100644", "type": "blob"}
        try:
            entry["content"] = content.decode("utf-8")
        except UnicodeDecodeError:
            # Inline tree content must be text; other bytes go up as a blob first.
            body = {"content": base64.b64encode(content).decode(), "encoding": "base64"}
            blob = _mapping((await self._request("POST", self._repo_url("/git/blobs"), body)).data)
            entry["sha"] = _sha(blob.get("sha"))
        return entry

    async def _create_first_file(self, files: Mapping[str, bytes], message: str) -> str:
        """Give an empty repository its first commit with one Contents PUT (git needs one)."""
        if not files:
            raise GitHubTransientError("nothing to publish into an empty repository")
        # The manifest goes last so a reader never sees it list files that are not there yet.
        first = min(files, key=lambda relative: (relative == MANIFEST, relative))
        body = {
            "message": f"{message}\n\n{FIRST_FILE_MESSAGE}",
            "content": base64.b64encode(files[first]).decode(),
            "branch": self.target.branch,
        }
        path = quote(self.target.repo_path(first), safe="/")
        await self._request("PUT", self._repo_url(f"/contents/{path}"), body)
        return first

    # ---- HTTP ----------------------------------------------------------------------------

    def _repo_url(self, rest: str) -> str:
        owner, name = quote(self.target.owner, safe=""), quote(self.target.name, safe="")
        return f"{self.target.api_url}/repos/{owner}/{name}{rest}"

    async def _request(
        self,
        method: str,
        url: str,
        body: Mapping[str, Any] | None = None,
        params: Mapping[str, str] | None = None,
    ) -> _Answer:
        if not valid_token(self._token):
            # It would break the request's header (or inject another): never sent.
            raise GitHubAuthError("the token has characters a GitHub token never has")
        if method != "GET":
            await self._space_writes()
        headers = {
            "Accept": "application/vnd.github+json",
            "Authorization": f"Bearer {self._token}",
            "User-Agent": self._user_agent,
            "X-GitHub-Api-Version": API_VERSION,
        }
        self.requests += 1
        shown = url.removeprefix(self.target.api_url)
        try:
            async with self._session.request(
                method,
                url,
                json=body,
                params=params,
                headers=headers,
                timeout=self._timeout,
                allow_redirects=False,
            ) as response:
                status = response.status
                answer_headers = {k.lower(): v for k, v in response.headers.items()}
                try:
                    data: Any = json.loads(await _read_capped(response))
                except (ValueError, RecursionError):  # not JSON, or nested past Python's stack
                    data = None
        except TimeoutError as err:
            _LOGGER.debug("%s %s timed out", method, shown)
            raise GitHubTransientError(f"GitHub did not answer {method} in time") from err
        except aiohttp.ClientError as err:
            _LOGGER.debug("%s %s failed: %s", method, shown, type(err).__name__)
            raise GitHubTransientError(f"cannot reach GitHub: {type(err).__name__}") from err
        _LOGGER.debug("%s %s -> %s", method, shown, status)
        if status < 300:
            return _Answer(status, data, answer_headers)
        raise _error_for(method, url, status, _without(data, self._token), answer_headers)

    async def _space_writes(self) -> None:
        loop = asyncio.get_running_loop()
        if self._last_write is not None:
            wait = self._last_write + self._write_interval - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
        self._last_write = loop.time()


async def _read_capped(response: aiohttp.ClientResponse) -> bytes:
    """The answer's body, refused once it grows past `MAX_ANSWER_BYTES`."""
    too_large = GitHubTransientError(f"GitHub's answer is larger than {MAX_ANSWER_BYTES} bytes")
    if (response.content_length or 0) > MAX_ANSWER_BYTES:
        raise too_large
    body = bytearray()
    async for chunk in response.content.iter_any():
        body += chunk
        if len(body) > MAX_ANSWER_BYTES:
            raise too_large
    return bytes(body)


def _without(data: Any, token: str) -> Any:
    """An error answer with the token taken out of its message: a server that echoes the
    request (a proxy, another API host) must not put it in the log or a repair."""
    if isinstance(data, dict) and isinstance(data.get("message"), str):
        return {**data, "message": data["message"].replace(token, "[token]")}
    return data


def _error_for(
    method: str, url: str, status: int, data: Any, headers: Mapping[str, str]
) -> GitHubError:
    """Turn a GitHub error answer into the typed error the publisher acts on."""
    message = _message(data)
    described = f"GitHub answered {status} to {method}: {message}"
    if status == 401:
        return GitHubAuthError(described)
    if status in (403, 429):
        retry_after = _number(headers.get("retry-after"))
        if retry_after is not None:
            return GitHubRateLimitError(described, retry_after=retry_after)
        reset_at = _number(headers.get("x-ratelimit-reset"))
        if headers.get("x-ratelimit-remaining") == "0" and reset_at is not None:
            return GitHubRateLimitError(described, reset_at=reset_at)
        if status == 429 or "rate limit" in message.lower() or _LOCKED_OUT.search(message):
            return GitHubRateLimitError(described)
        if headers.get("x-github-sso", "").lower().startswith("required"):
            return GitHubSSOError(described)
        missing = headers.get("x-accepted-github-permissions", "")
        return GitHubPermissionError(described, accepted_permissions(missing))
    if status == 404:
        return GitHubNotFoundError(described)
    if status in (301, 302, 307, 308):
        # A renamed or transferred repository. Not followed: the token goes to the address
        # the user gave, nowhere else; the repair issue asks for the new name.
        return GitHubNotFoundError(f"GitHub answered {status} to {method}: the repository moved")
    if status == 409 and "/git/" in url and "empty" in message.lower():
        return _EmptyRepositoryError(described)
    if status == 422 and method == "PATCH" and "fast forward" in message.lower():
        return _NotFastForwardError(described)
    if status == 422 and method == "PATCH" and _PROTECTED.search(message):
        return GitHubBranchProtectedError(described)
    return GitHubTransientError(described)


def _message(data: Any) -> str:
    message = data.get("message") if isinstance(data, dict) else None
    return _clean(message) if isinstance(message, str) else "no message"


def _clean(text: str) -> str:
    """GitHub's text is shown to the user and logged: keep it short and printable."""
    return _CONTROL.sub(" ", text)[:200]


def _number(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if 0 <= number < 1e11 else None


def _mapping(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise GitHubTransientError("GitHub sent an answer of an unexpected shape")
    return value


def _sha(value: Any) -> str:
    if not isinstance(value, str) or not _SHA.match(value):
        raise GitHubTransientError("GitHub sent an object id of an unexpected shape")
    return value


def accepted_permissions(header: str) -> str | None:
    """`header` if it is a list of permissions as X-Accepted-GitHub-Permissions holds them,
    else None: it is shown in a repair (markdown), never any other text of the server's."""
    return header if _PERMISSIONS.match(header) else None


def valid_token(token: str) -> bool:
    """Whether a token can be what GitHub issued; a line break or a space pasted with it
    cannot, and would break (or add to) the request's headers."""
    return _TOKEN.fullmatch(token) is not None


def valid_api_url(api_url: str) -> bool:
    """An https URL, or an http URL of this machine only: the token must not cross a network
    in clear text (a test server or an SSH tunnel on loopback is fine)."""
    if not re.match(r"^https?://[^/\s]+(?:/[^\s]*)?$", api_url):
        return False
    try:
        parts = urlsplit(api_url)
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        return False
    if parts.query or parts.fragment:
        return False  # the API's base: paths are appended to it, a query or fragment breaks them
    if not host or "@" in parts.netloc:
        # A user name or password in the address would go out beside the token (and aiohttp
        # refuses to send both).
        return False
    return parts.scheme == "https" or _is_loopback(host)


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _valid_relative_path(path: str) -> bool:
    if not path or path.startswith("/") or path.endswith("/") or "\\" in path:
        return False
    if _CONTROL.search(path) or not _utf8(path):
        return False
    return all(part not in ("", ".", "..", ".git") for part in path.split("/"))


def _utf8(text: str) -> bool:
    """Whether `text` can be sent as UTF-8 (a lone surrogate, possible in JSON, cannot)."""
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True
