"""A fake GitHub REST API on 127.0.0.1 that behaves as docs/publishing.md's facts describe.

It keeps real git objects (so blob, tree and commit ids are the ones GitHub would give), checks
tokens and permissions, and can be told to misbehave: errors, rate limits, hangs, and someone
else pushing to the branch in the middle of a publish. Every request is logged.

Two of GitHub's protections it applies on its own, with its own figures (GitHub publishes the
first not at all, the second as "80 a minute, 500 an hour"); each is a field, so a test can
tighten it:
- Bad credentials, again and again: `BAD_CREDENTIALS_ALLOWED` answers of 401 to one client
  address within `BAD_CREDENTIALS_WINDOW` seconds, and every request from that address is
  refused with 403 `LOGIN_ATTEMPTS_EXCEEDED` for `LOCKOUT_SECONDS`, good tokens included.
- The secondary rate limit on content-creating requests (POST, PATCH, PUT, DELETE), per token:
  `CONTENT_WRITES_PER_MINUTE` in any 60 seconds and `CONTENT_WRITES_PER_HOUR` in any hour. One
  more is refused with 403 `SECONDARY_LIMIT` and a `retry-after` of the seconds until a write is
  allowed again. Every write the token got past the limit counts, whatever its answer.
Both read the time from `clock`. A hung request ends when the client gives up: aiohttp cancels
the handler of a closed connection (`handler_cancellation`), and `stop()` ends any left.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import hashlib
import json
import math
import mimetypes
import re
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from aiohttp import web

from .faults import ENDLESS, HANG, Fault, Hook
from .objects import BLOB_MODE
from .repository import Repository

type Access = Literal["write", "read", "none"]
type Json = dict[str, Any]

WRITE_METHODS = frozenset({"POST", "PATCH", "PUT", "DELETE"})
CONTENTS_INLINE_LIMIT = 1024 * 1024
RATE_LIMIT = 5000
NOT_FAST_FORWARD = "Update is not a fast forward"
EMPTY_REPOSITORY = "Git Repository is empty."
SECONDARY_LIMIT = (
    "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."
)
LOGIN_ATTEMPTS_EXCEEDED = "Maximum number of login attempts exceeded. Please try again later."
BAD_CREDENTIALS_ALLOWED = 5
BAD_CREDENTIALS_WINDOW = 3600.0
LOCKOUT_SECONDS = 3600.0
CONTENT_WRITES_PER_MINUTE = 80
CONTENT_WRITES_PER_HOUR = 500
_SHA = re.compile(r"^[0-9a-f]{40}$")


@dataclass(frozen=True)
class Grant:
    """What a token may do. `reports_push` overrides what GET /repos claims (fine-grained quirk)."""

    access: Access = "write"
    reports_push: bool | None = None
    # Not yet authorized for the owner's single sign-on: every repository request is refused.
    sso_pending: bool = False


@dataclass(frozen=True)
class LoggedRequest:
    """One request the fake answered (status 0: it hung until the client gave up)."""

    method: str
    path: str
    query: dict[str, str]
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def is_write(self) -> bool:
        return self.method in WRITE_METHODS


class _Answer(Exception):
    """Raised inside handlers to answer with a GitHub-style error."""

    def __init__(self, status: int, message: str, headers: Mapping[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = dict(headers or {})


@dataclass
class _Budget:
    """The primary rate limit counters of one token."""

    remaining: int = RATE_LIMIT
    reset: int = 0


@dataclass
class FakeGitHub:
    """The fake server. `await start()`, use `api_url`, `await stop()` (or `async with`)."""

    token: str = "ghp_fake_token"
    repository: str = "owner/repo"
    empty: bool = True
    prefix: str = ""  # "/api/v3" makes it look like GitHub Enterprise Server
    clock: Callable[[], float] = time.time
    hang_seconds: float = 30.0
    bad_credentials_allowed: int = BAD_CREDENTIALS_ALLOWED
    bad_credentials_window: float = BAD_CREDENTIALS_WINDOW
    lockout_seconds: float = LOCKOUT_SECONDS
    content_writes_per_minute: int = CONTENT_WRITES_PER_MINUTE
    content_writes_per_hour: int = CONTENT_WRITES_PER_HOUR
    repos: dict[str, Repository] = field(default_factory=dict)
    grants: dict[str, Grant] = field(default_factory=dict)
    # Old full name (lower case) -> new one, for repositories renamed or transferred.
    moved: dict[str, str] = field(default_factory=dict)
    protected: set[str] = field(default_factory=set)  # branches no ref update may move
    requests: list[LoggedRequest] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    hooks: list[Hook] = field(default_factory=list)
    _budgets: dict[str, _Budget] = field(default_factory=dict)
    _bad_credentials: dict[str, deque[float]] = field(default_factory=dict)  # by address
    _locked_until: dict[str, float] = field(default_factory=dict)  # address -> epoch seconds
    _content_writes: dict[str, deque[float]] = field(default_factory=dict)  # by token
    _runner: web.AppRunner | None = None
    _port: int = 0
    _stopping: asyncio.Event = field(default_factory=asyncio.Event)

    def __post_init__(self) -> None:
        if self.repository and self.repository not in self.repos:
            self.add_repository(self.repository)
        if self.token and self.token not in self.grants:
            self.grants[self.token] = Grant()

    # ---- lifecycle ------------------------------------------------------------------------

    async def start(self, port: int = 0) -> None:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, handler_cancellation=True)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", port)
        await site.start()
        server = site._server
        assert isinstance(server, asyncio.Server)
        self._port = server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        self._stopping.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeGitHub:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def port(self) -> int:
        return self._port

    @property
    def root_url(self) -> str:
        return f"http://127.0.0.1:{self._port}"

    @property
    def api_url(self) -> str:
        """The base URL a client is configured with (GitHub's or GHES's form)."""
        return self.root_url + self.prefix

    # ---- set-up and inspection ------------------------------------------------------------

    def add_repository(
        self,
        full_name: str,
        *,
        files: Mapping[str, bytes] | None = None,
        default_branch: str = "main",
        private: bool = True,
    ) -> Repository:
        owner, _, name = full_name.partition("/")
        repo = Repository(owner, name, default_branch=default_branch, private=private)
        self.repos[full_name.lower()] = repo
        if files:
            repo.commit_files(files, "Initial commit", int(self.clock()))
        elif not self.empty and full_name == self.repository:
            repo.commit_files({"README.md": b"# Energy history\n"}, "Initial commit", 0)
        return repo

    @property
    def repo(self) -> Repository:
        """The default repository (the one named at construction)."""
        return self.repos[self.repository.lower()]

    def grant(
        self,
        token: str,
        access: Access = "write",
        reports_push: bool | None = None,
        *,
        sso_pending: bool = False,
    ) -> None:
        self.grants[token] = Grant(access, reports_push, sso_pending)

    def protect(self, branch: str) -> None:
        """Refuse ref updates of a branch, as a branch protection rule asking for pull
        requests does."""
        self.protected.add(branch)

    def rename(self, full_name: str, new_full_name: str) -> None:
        """Rename (or transfer) a repository. Requests to the old name are redirected, as
        GitHub's REST docs say ("HTTP redirects": 301 Moved Permanently for a GET, 307 for other
        methods, with the new address in Location)."""
        repo = self.repos.pop(full_name.lower())
        repo.owner, _, repo.name = new_full_name.partition("/")
        self.repos[new_full_name.lower()] = repo
        self.moved[full_name.lower()] = new_full_name
        if self.repository.lower() == full_name.lower():
            self.repository = new_full_name

    def revoke(self, token: str) -> None:
        """Make a token bad credentials (401), as when a user deletes it on GitHub."""
        self.grants.pop(token, None)

    def is_locked_out(self, address: str = "127.0.0.1") -> bool:
        """Whether requests from `address` are refused for too many bad credentials."""
        return self._locked_until.get(address, 0.0) > self.clock()

    def clear_log(self) -> None:
        self.requests.clear()

    @property
    def writes(self) -> list[LoggedRequest]:
        return [r for r in self.requests if r.is_write]

    # ---- misbehaviour ---------------------------------------------------------------------

    def fail(
        self,
        status: int,
        message: str = "",
        *,
        times: int = 1,
        method: str | None = None,
        path: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        """Answer the next matching requests with an error."""
        self.faults.append(Fault(status, message, dict(headers or {}), times, method, path))

    def server_errors(
        self,
        times: int = 1,
        status: int = 500,
        *,
        method: str | None = None,
        path: str | None = None,
    ) -> None:
        self.fail(status, "Server Error", times=times, method=method, path=path)

    def lose_answers(
        self,
        times: int = 1,
        status: int = 502,
        *,
        method: str | None = None,
        path: str | None = None,
    ) -> None:
        """Do what the next matching requests ask, then answer them with a server error, as
        when GitHub (or a proxy) fails after the change was made: the client cannot tell."""
        self.faults.append(
            Fault(status, "Server Error", {}, times, method, path, after_the_change=True)
        )

    def hang(self, times: int = 1, *, method: str | None = None, path: str | None = None) -> None:
        """Do not answer the next matching requests until the client gives up (a timeout)."""
        self.fail(HANG, times=times, method=method, path=path)

    def endless_answer(
        self, times: int = 1, *, method: str | None = None, path: str | None = None
    ) -> None:
        """Answer the next matching requests with a 200 whose body goes on for 64 MB."""
        self.fail(ENDLESS, times=times, method=method, path=path)

    def primary_rate_limit(
        self,
        reset_at: int,
        times: int = 1,
        status: int = 403,
        *,
        method: str | None = None,
        path: str | None = None,
    ) -> None:
        """Answer as when the hourly budget is spent: remaining 0, reset at an epoch second."""
        headers = {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(reset_at)}
        message = "API rate limit exceeded for user ID 1."
        self.fail(status, message, times=times, headers=headers, method=method, path=path)

    def secondary_rate_limit(
        self,
        retry_after: int | None,
        times: int = 1,
        status: int = 403,
        *,
        method: str | None = None,
        path: str | None = None,
    ) -> None:
        """Answer as GitHub's abuse protection does, with or without a retry-after header."""
        headers = {} if retry_after is None else {"retry-after": str(retry_after)}
        self.fail(status, SECONDARY_LIMIT, times=times, headers=headers, method=method, path=path)

    def before_next(
        self, action: Callable[[], None], *, method: str | None = None, path: str | None = None
    ) -> None:
        """Run `action` just before the next matching request is handled."""
        self.hooks.append(Hook(action, method, path))

    def someone_else_pushes(
        self,
        files: Mapping[str, bytes | None],
        *,
        method: str = "PATCH",
        path: str = r"/git/refs/",
        branch: str | None = None,
    ) -> None:
        """Move the branch with another commit just before the next matching request."""

        def push() -> None:
            self.repo.commit_files(files, "Someone else's change", int(self.clock()), branch)

        self.before_next(push, method=method, path=path)

    # ---- request handling -----------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        method = request.method
        path = request.path
        query = dict(request.query)
        body: Any = None
        if request.can_read_body:
            raw = await request.read()
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                body = raw.decode(errors="replace")
        if path.startswith("/_fake/") or path.startswith("/_pages/"):
            return await self._handle_admin(request, body)
        if self.prefix and path.startswith(self.prefix + "/"):
            path = path[len(self.prefix) :]
        elif self.prefix:
            return self._error(404, "Not Found")
        for hook in self.hooks:
            if hook.matches(method, path):
                self.hooks.remove(hook)
                hook.action()
                break  # one hook per request, so several can be queued for a run of requests
        token = _bearer(request.headers.get("Authorization", ""))
        headers = {k.lower(): v for k, v in request.headers.items()}
        try:
            fault = self._take_fault(method, path)
            if fault is not None and fault.status == HANG:
                self.requests.append(LoggedRequest(method, path, query, HANG, body, headers))
                await self._hang()
                return self._error(504, "Timed out")
            if fault is not None and fault.status == ENDLESS:
                self.requests.append(LoggedRequest(method, path, query, 200, body, headers))
                return await self._endless(request)
            if fault is not None and not fault.after_the_change:
                raise _Answer(fault.status, fault.message or "Injected failure", fault.headers)
            address = request.remote or ""
            self._refuse_locked_out(address)
            grant = self.grants.get(token or "")
            if grant is None:
                self._count_bad_credentials(address)
                raise _Answer(401, "Bad credentials")
            if method in WRITE_METHODS:
                self._count_content_write(token or "")
            result = self._route(method, path, query, body, grant)
            if fault is not None:  # done, and the answer lost
                raise _Answer(fault.status, fault.message, fault.headers)
            status, payload = result
            response = web.json_response(payload, status=status)
        except _Answer as answer:
            response = self._error(answer.status, answer.message, answer.headers)
        self._rate_headers(response, token or "", response.headers.get("x-ratelimit-remaining"))
        self.requests.append(LoggedRequest(method, path, query, response.status, body, headers))
        return response

    async def _endless(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        await response.prepare(request)
        chunk = b" " * 65536
        with contextlib.suppress(ConnectionError):  # the client stopped reading: that is all
            for _ in range(1024):
                await response.write(chunk)
            await response.write_eof()
        return response

    async def _hang(self) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), self.hang_seconds)

    def _refuse_locked_out(self, address: str) -> None:
        if self.is_locked_out(address):
            raise _Answer(403, LOGIN_ATTEMPTS_EXCEEDED)

    def _count_bad_credentials(self, address: str) -> None:
        now = self.clock()
        recent = _within(
            self._bad_credentials.setdefault(address, deque()), now, self.bad_credentials_window
        )
        recent.append(now)
        if len(recent) >= self.bad_credentials_allowed:
            recent.clear()
            self._locked_until[address] = now + self.lockout_seconds

    def _count_content_write(self, token: str) -> None:
        """Count a content-creating request, or refuse it as GitHub's secondary limit does."""
        now = self.clock()
        writes = _within(self._content_writes.setdefault(token, deque()), now, 3600.0)
        last_minute = [t for t in writes if t > now - 60.0]
        waits = []
        if len(last_minute) >= self.content_writes_per_minute:
            waits.append(last_minute[-self.content_writes_per_minute] + 60.0 - now)
        if len(writes) >= self.content_writes_per_hour:
            waits.append(writes[-self.content_writes_per_hour] + 3600.0 - now)
        if waits:
            retry_after = max(1, math.ceil(max(waits)))
            raise _Answer(403, SECONDARY_LIMIT, {"retry-after": str(retry_after)})
        writes.append(now)

    def _take_fault(self, method: str, path: str) -> Fault | None:
        for fault in self.faults:
            if fault.matches(method, path):
                fault.times -= 1
                if fault.times <= 0:
                    self.faults.remove(fault)
                return fault
        return None

    def _rate_headers(self, response: web.StreamResponse, token: str, forced: str | None) -> None:
        now = int(self.clock())
        budget = self._budgets.setdefault(token, _Budget(reset=now + 3600))
        if now >= budget.reset:
            budget.remaining, budget.reset = RATE_LIMIT, now + 3600
        budget.remaining = max(0, budget.remaining - 1)
        if forced is not None:
            return  # an injected rate limit already set its own headers
        response.headers["x-ratelimit-limit"] = str(RATE_LIMIT)
        response.headers["x-ratelimit-remaining"] = str(budget.remaining)
        response.headers["x-ratelimit-used"] = str(RATE_LIMIT - budget.remaining)
        response.headers["x-ratelimit-reset"] = str(budget.reset)
        response.headers["x-ratelimit-resource"] = "core"

    @staticmethod
    def _error(status: int, message: str, headers: Mapping[str, str] | None = None) -> web.Response:
        payload = {
            "message": message,
            "documentation_url": "https://docs.github.com/rest",
            "status": str(status),
        }
        return web.json_response(payload, status=status, headers=dict(headers or {}))

    def _route(
        self, method: str, path: str, query: dict[str, str], body: Any, grant: Grant
    ) -> tuple[int, Any]:
        match = re.fullmatch(r"/repos/([^/]+)/([^/]+)(/.*)?", path)
        if match is None:
            raise _Answer(404, "Not Found")
        old_name = f"{match[1]}/{match[2]}".lower()
        repo = self.repos.get(old_name)
        if repo is None and old_name in self.moved:
            location = f"{self.api_url}/repos/{self.moved[old_name]}{match[3] or ''}"
            status = 301 if method == "GET" else 307
            raise _Answer(status, "Moved Permanently", {"Location": location})
        if repo is None or (repo.private and grant.access == "none"):
            raise _Answer(404, "Not Found")  # GitHub hides private repositories it cannot show
        if grant.sso_pending:
            # GitHub's REST docs ("Authenticating for SAML SSO"): 403, the message, and the
            # address where the token's owner authorizes it.
            raise _Answer(
                403,
                "Resource protected by organization SAML enforcement. You must grant your "
                "Personal Access token access to this organization.",
                {"X-GitHub-SSO": f"required; url={self.root_url}/orgs/{repo.owner}/sso"},
            )
        rest = match[3] or ""
        if method in WRITE_METHODS and grant.access != "write":
            raise _Answer(
                403,
                "Resource not accessible by personal access token",
                {"X-Accepted-GitHub-Permissions": "contents=write"},
            )
        if rest == "" and method == "GET":
            return 200, self._repo_json(repo, grant)
        if rest.startswith("/contents/") or rest == "/contents":
            return self._contents(repo, method, rest[len("/contents/") :], query, body)
        if rest.startswith("/git/"):
            return self._git(repo, method, rest[len("/git/") :], query, body)
        raise _Answer(404, "Not Found")

    def _repo_json(self, repo: Repository, grant: Grant) -> Json:
        push = grant.access == "write" if grant.reports_push is None else grant.reports_push
        return {
            "id": 1,
            "name": repo.name,
            "full_name": repo.full_name,
            "private": repo.private,
            "default_branch": repo.default_branch,
            "html_url": f"{self.root_url}/{repo.full_name}",
            "permissions": {
                "admin": False,
                "maintain": False,
                "push": push,
                "triage": push,
                "pull": True,
            },
        }

    # ---- git database ---------------------------------------------------------------------

    def _git(
        self, repo: Repository, method: str, rest: str, query: dict[str, str], body: Any
    ) -> tuple[int, Any]:
        if repo.is_empty:
            raise _Answer(409, EMPTY_REPOSITORY)
        objects = repo.objects
        if method == "GET" and rest.startswith(("ref/", "refs/")):
            ref = rest.split("/", 1)[1]
            branch = _branch_of(ref)
            if branch is None or branch not in repo.refs:
                raise _Answer(404, "Not Found")
            return 200, self._ref_json(repo, branch)
        if method == "PATCH" and rest.startswith("refs/"):
            return self._update_ref(repo, rest.split("/", 1)[1], _object(body))
        if method == "POST" and rest == "refs":
            data = _object(body)
            branch = _branch_of(str(data.get("ref", "")).removeprefix("refs/"))
            sha = str(data.get("sha", ""))
            if branch is None or sha not in objects.commits:
                raise _Answer(422, "Invalid request.")
            if branch in repo.refs:
                raise _Answer(422, "Reference already exists")
            repo.refs[branch] = sha
            return 201, self._ref_json(repo, branch)
        if method == "GET" and rest.startswith("commits/"):
            commit = objects.commits.get(rest.removeprefix("commits/"))
            if commit is None:
                raise _Answer(404, "Not Found")
            return 200, self._commit_json(repo, commit.sha)
        if method == "POST" and rest == "commits":
            return self._create_commit(repo, _object(body))
        if method == "GET" and rest.startswith("trees/"):
            return self._get_tree(repo, rest.removeprefix("trees/"), query)
        if method == "POST" and rest == "trees":
            return self._create_tree(repo, _object(body))
        if method == "GET" and rest.startswith("blobs/"):
            sha = rest.removeprefix("blobs/")
            if sha not in objects.blobs:
                raise _Answer(404, "Not Found")
            content = objects.blobs[sha]
            return 200, {
                "sha": sha,
                "size": len(content),
                "encoding": "base64",
                "content": base64.b64encode(content).decode(),
            }
        if method == "POST" and rest == "blobs":
            data = _object(body)
            content = _decode_content(data.get("content"), str(data.get("encoding", "utf-8")))
            sha = objects.add_blob(content)
            return 201, {
                "sha": sha,
                "url": f"{self.api_url}/repos/{repo.full_name}/git/blobs/{sha}",
            }
        raise _Answer(404, "Not Found")

    def _ref_json(self, repo: Repository, branch: str) -> Json:
        sha = repo.refs[branch]
        return {"ref": f"refs/heads/{branch}", "object": {"sha": sha, "type": "commit"}}

    def _commit_json(self, repo: Repository, sha: str) -> Json:
        commit = repo.objects.commits[sha]
        return {
            "sha": sha,
            "html_url": f"{self.root_url}/{repo.full_name}/commit/{sha}",
            "message": commit.message,
            "tree": {"sha": commit.tree},
            "parents": [{"sha": p} for p in commit.parents],
        }

    def _update_ref(self, repo: Repository, ref: str, data: Json) -> tuple[int, Any]:
        branch = _branch_of(ref)
        if branch is None or branch not in repo.refs:
            raise _Answer(422, "Reference does not exist")
        sha = str(data.get("sha", ""))
        if sha not in repo.objects.commits:
            raise _Answer(422, "Object does not exist")
        if not data.get("force", False) and not repo.objects.is_ancestor(repo.refs[branch], sha):
            raise _Answer(422, NOT_FAST_FORWARD)
        if branch in self.protected:
            raise _Answer(422, f"Protected branch update failed for refs/heads/{branch}.")
        repo.refs[branch] = sha
        return 200, self._ref_json(repo, branch)

    def _create_commit(self, repo: Repository, data: Json) -> tuple[int, Any]:
        tree = str(data.get("tree", ""))
        parents = data.get("parents", [])
        message = data.get("message")
        if not isinstance(message, str) or not isinstance(parents, list):
            raise _Answer(422, "Invalid request.")
        if tree not in repo.objects.trees:
            raise _Answer(422, "Tree SHA does not exist")
        if any(not isinstance(p, str) or p not in repo.objects.commits for p in parents):
            raise _Answer(422, "Parent SHA does not exist or is not a commit object")
        commit = repo.objects.add_commit(tree, tuple(parents), message, int(self.clock()))
        return 201, self._commit_json(repo, commit.sha)

    def _get_tree(self, repo: Repository, sha: str, query: dict[str, str]) -> tuple[int, Any]:
        objects = repo.objects
        if sha not in objects.trees:
            raise _Answer(404, "Not Found")
        if query.get("recursive") not in (None, "", "0", "false"):
            found = objects.walk(sha)
        else:
            found = [(e.name, e) for e in objects.trees[sha]]
        entries = []
        for path, entry in found:
            item: Json = {
                "path": path,
                "mode": entry.mode,
                "type": "tree" if entry.is_tree else "blob",
                "sha": entry.sha,
            }
            if not entry.is_tree:
                item["size"] = len(objects.blobs[entry.sha])
            entries.append(item)
        return 200, {"sha": sha, "tree": entries, "truncated": False}

    def _create_tree(self, repo: Repository, data: Json) -> tuple[int, Any]:
        objects = repo.objects
        base = data.get("base_tree")
        entries = data.get("tree")
        if not isinstance(entries, list):
            raise _Answer(422, "Invalid tree info")
        if base is not None and base not in objects.trees:
            raise _Answer(422, "base_tree is not a valid tree oid")
        files = objects.flatten(base) if base is not None else {}
        for entry in entries:
            if not isinstance(entry, dict) or not _valid_path(entry.get("path")):
                raise _Answer(422, "Invalid tree info")
            path = str(entry["path"])
            if entry.get("mode") not in (BLOB_MODE, "100755") or entry.get("type") != "blob":
                raise _Answer(422, "Invalid tree info")
            if "content" in entry:
                if not isinstance(entry["content"], str):
                    raise _Answer(422, "Invalid tree info")
                files[path] = objects.add_blob(entry["content"].encode())
            elif entry.get("sha") is None and "sha" in entry:
                if path not in files:
                    raise _Answer(422, "GitRPC::BadObjectState")
                del files[path]
            elif isinstance(entry.get("sha"), str) and entry["sha"] in objects.blobs:
                files[path] = entry["sha"]
            else:
                raise _Answer(422, "Invalid tree info")
        sha = objects.build_tree(files)
        return 201, self._get_tree(repo, sha, {})[1]

    # ---- contents -------------------------------------------------------------------------

    def _contents(
        self, repo: Repository, method: str, path: str, query: dict[str, str], body: Any
    ) -> tuple[int, Any]:
        if method == "GET":
            if repo.is_empty:
                raise _Answer(404, "This repository is empty.")
            branch = query.get("ref") or repo.default_branch
            if branch not in repo.refs:
                raise _Answer(404, f"No commit found for the ref {branch}")
            shas = repo.blob_shas(branch)
            if path not in shas:
                raise _Answer(404, "Not Found")
            content = repo.objects.blobs[shas[path]]
            inline = len(content) <= CONTENTS_INLINE_LIMIT
            return 200, {
                "type": "file",
                "name": path.rsplit("/", 1)[-1],
                "path": path,
                "sha": shas[path],
                "size": len(content),
                "encoding": "base64" if inline else "none",
                "content": base64.encodebytes(content).decode() if inline else "",
            }
        if method != "PUT":
            raise _Answer(404, "Not Found")
        data = _object(body)
        if not _valid_path(path) or not isinstance(data.get("message"), str):
            raise _Answer(422, "Invalid request.")
        content = _decode_content(data.get("content"), "base64")
        branch = str(data.get("branch") or repo.default_branch)
        if not repo.is_empty and branch not in repo.refs:
            raise _Answer(404, f"Branch {branch} not found")
        current = repo.blob_shas(branch).get(path)
        sha = data.get("sha")
        if sha is not None and (not isinstance(sha, str) or not _SHA.match(sha)):
            raise _Answer(422, 'Invalid request.\n\n"sha" is not a valid blob sha.')
        if current is not None and sha is None:
            raise _Answer(422, 'Invalid request.\n\n"sha" wasn\'t supplied.')
        if current is not None and sha != current:
            raise _Answer(409, f"{path} does not match {sha}")
        commit = repo.commit_files({path: content}, str(data["message"]), int(self.clock()), branch)
        blob = repo.blob_shas(branch)[path]
        payload = {
            "content": {
                "name": path.rsplit("/", 1)[-1],
                "path": path,
                "sha": blob,
                "size": len(content),
            },
            "commit": self._commit_json(repo, commit.sha),
        }
        return (201 if current is None else 200), payload

    # ---- helpers for the CLI, end-to-end tests and the demo -------------------------------

    async def _handle_admin(self, request: web.Request, body: Any) -> web.StreamResponse:
        path = request.path
        if path == "/_fake/log":
            return web.json_response(
                [{"method": r.method, "path": r.path, "status": r.status} for r in self.requests]
            )
        if path == "/_fake/faults" and request.method == "POST":
            data = _object(body)
            self.fail(
                int(data.get("status", 500)),
                str(data.get("message", "")),
                times=int(data.get("times", 1)),
                method=data.get("method"),
                path=data.get("path"),
                headers=data.get("headers"),
            )
            return web.json_response({"ok": True})
        match = re.fullmatch(r"/_fake/files/([^/]+)/([^/]+)", path)
        if match is not None:
            repo = self.repos.get(f"{match[1]}/{match[2]}".lower())
            if repo is None:
                return self._error(404, "Not Found")
            branch = request.query.get("branch")
            return web.json_response(
                {
                    "head": repo.head(branch),
                    "commits": len(repo.history(branch)),
                    "files": {
                        p: hashlib.sha256(c).hexdigest() for p, c in repo.files(branch).items()
                    },
                }
            )
        match = re.fullmatch(r"/_pages/([^/]+)/([^/]+)/(.*)", path)
        if match is not None:
            return self._pages(match[1], match[2], match[3])
        return self._error(404, "Not Found")

    def _pages(self, owner: str, name: str, path: str) -> web.Response:
        """Serve a branch's files as GitHub Pages would (cacheable, open to any origin)."""
        repo = self.repos.get(f"{owner}/{name}".lower())
        files = repo.files() if repo is not None else {}
        if path == "" or path.endswith("/"):
            path += "index.html"
        if path not in files:
            return web.Response(status=404, text="404 Not Found")
        content_type = mimetypes.guess_type(path)[0] or "application/octet-stream"
        return web.Response(
            body=files[path],
            content_type=content_type,
            headers={"Cache-Control": "max-age=600", "Access-Control-Allow-Origin": "*"},
        )


def _within(times: deque[float], now: float, seconds: float) -> deque[float]:
    """Drop the times older than `seconds` before `now` (oldest first); return what is left."""
    while times and times[0] <= now - seconds:
        times.popleft()
    return times


def _bearer(header: str) -> str | None:
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() in ("bearer", "token") and value.strip() else None


def _branch_of(ref: str) -> str | None:
    return ref.removeprefix("heads/") if ref.startswith("heads/") and len(ref) > 6 else None


def _object(body: Any) -> Json:
    if not isinstance(body, dict):
        raise _Answer(400, "Problems parsing JSON")
    return body


def _valid_path(path: Any) -> bool:
    if not isinstance(path, str) or not path or path.startswith("/") or path.endswith("/"):
        return False
    return all(part not in ("", ".", "..", ".git") for part in path.split("/"))


def _decode_content(content: Any, encoding: str) -> bytes:
    if not isinstance(content, str):
        raise _Answer(422, 'Invalid request.\n\n"content" wasn\'t supplied.')
    if encoding == "base64":
        try:
            return base64.b64decode(content, validate=False)
        except binascii.Error as err:
            raise _Answer(422, "content is not valid Base64") from err
    return content.encode()
