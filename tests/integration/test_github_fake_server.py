"""The fake GitHub itself: it answers as GitHub does in the cases the publisher must handle."""

from __future__ import annotations

import asyncio
import base64
import sys
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.fake_github import EMPTY_REPOSITORY, NOT_FAST_FORWARD, FakeGitHub, git_sha
from tests.fake_github.server import (
    BAD_CREDENTIALS_ALLOWED,
    BAD_CREDENTIALS_WINDOW,
    CONTENT_WRITES_PER_HOUR,
    CONTENT_WRITES_PER_MINUTE,
    LOCKOUT_SECONDS,
    LOGIN_ATTEMPTS_EXCEEDED,
    SECONDARY_LIMIT,
)

TOKEN = "ghp_fake_server_test"
REPO = "/repos/alice/energy"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
async def fake(socket_enabled: None) -> AsyncIterator[FakeGitHub]:
    async with FakeGitHub(token=TOKEN, repository="alice/energy") as server:
        yield server


@pytest.fixture
async def http(socket_enabled: None) -> AsyncIterator[aiohttp.ClientSession]:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with aiohttp.ClientSession(headers=headers) as session:
        yield session


async def call(
    http: aiohttp.ClientSession, fake: FakeGitHub, method: str, path: str, body: Any = None
) -> tuple[int, Any, Mapping[str, str]]:
    async with http.request(method, fake.api_url + path, json=body) as response:
        return response.status, await response.json(), response.headers.copy()


def b64(content: bytes) -> str:
    return base64.b64encode(content).decode()


class Clock:
    """The fake's clock, moved by the test."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def timed(socket_enabled: None) -> AsyncIterator[tuple[FakeGitHub, Clock]]:
    """A fake GitHub on a clock the test moves, its repository holding one commit."""
    clock = Clock()
    async with FakeGitHub(token=TOKEN, repository="alice/energy", clock=clock) as server:
        server.repo.commit_files({"a.txt": b"a"}, "base", 1)
        yield server, clock


async def status_with(fake: FakeGitHub, token: str) -> tuple[int, Any]:
    """GET the repository with `token`: the status and the message, if any."""
    headers = {"Authorization": f"Bearer {token}"}
    async with aiohttp.ClientSession(headers=headers) as session:
        status, data, _ = await call(session, fake, "GET", REPO)
    return status, data.get("message")


async def write_blob(http: aiohttp.ClientSession, fake: FakeGitHub) -> tuple[int, Any, Any]:
    """One content-creating request: POST a blob. The status, message and retry-after."""
    status, data, headers = await call(http, fake, "POST", REPO + "/git/blobs", {"content": "x"})
    return status, data.get("message"), headers.get("retry-after")


async def test_git_endpoints_of_an_empty_repository_answer_409(
    fake: FakeGitHub, http: aiohttp.ClientSession
) -> None:
    for method, path in [("GET", "/git/ref/heads/main"), ("POST", "/git/trees")]:
        status, data, _ = await call(http, fake, method, REPO + path, {"tree": []})
        assert (status, data["message"]) == (409, EMPTY_REPOSITORY)


async def test_a_contents_put_creates_then_updates_a_file_only_with_its_current_sha(
    fake: FakeGitHub, http: aiohttp.ClientSession
) -> None:
    put = {"message": "m", "content": b64(b"one\n")}
    created, data, _ = await call(http, fake, "PUT", REPO + "/contents/a.txt", put)
    first_sha = data["content"]["sha"]

    no_sha, _, _ = await call(http, fake, "PUT", REPO + "/contents/a.txt", put)
    stale = {**put, "sha": git_sha("blob", b"other\n")}
    stale_status, stale_data, _ = await call(http, fake, "PUT", REPO + "/contents/a.txt", stale)
    empty_sha, _, _ = await call(http, fake, "PUT", REPO + "/contents/a.txt", {**put, "sha": ""})
    update = {"message": "m", "content": b64(b"two\n"), "sha": first_sha}
    updated, _, _ = await call(http, fake, "PUT", REPO + "/contents/a.txt", update)

    assert (created, first_sha) == (201, git_sha("blob", b"one\n"))
    assert no_sha == 422
    assert stale_status == 409
    assert "does not match" in stale_data["message"]
    assert empty_sha == 422
    assert updated == 200
    assert fake.repo.files() == {"a.txt": b"two\n"}


async def test_a_contents_get_inlines_content_only_up_to_one_megabyte(
    fake: FakeGitHub, http: aiohttp.ClientSession
) -> None:
    fake.repo.commit_files({"small.json": b"{}", "big.json": b"x" * (1024 * 1024 + 1)}, "m", 1)

    _, small, _ = await call(http, fake, "GET", REPO + "/contents/small.json")
    _, big, _ = await call(http, fake, "GET", REPO + "/contents/big.json")
    missing, _, _ = await call(http, fake, "GET", REPO + "/contents/none.json")

    assert base64.b64decode(small["content"]) == b"{}"
    assert (big["encoding"], big["content"]) == ("none", "")
    assert missing == 404


async def test_a_ref_update_that_is_not_a_fast_forward_is_refused(
    fake: FakeGitHub, http: aiohttp.ClientSession
) -> None:
    base = fake.repo.commit_files({"a.txt": b"a"}, "base", 1)
    tree = fake.repo.objects.commits[base.sha].tree
    _, ours, _ = await call(
        http,
        fake,
        "POST",
        REPO + "/git/commits",
        {"message": "ours", "tree": tree, "parents": [base.sha]},
    )
    fake.repo.commit_files({"b.txt": b"b"}, "theirs", 2)

    status, data, _ = await call(
        http, fake, "PATCH", REPO + "/git/refs/heads/main", {"sha": ours["sha"], "force": False}
    )

    assert (status, data["message"]) == (422, NOT_FAST_FORWARD)
    assert fake.repo.history()[0].message == "theirs"


async def test_trees_with_a_base_tree_keep_other_files_and_a_null_sha_deletes(
    fake: FakeGitHub, http: aiohttp.ClientSession
) -> None:
    base = fake.repo.commit_files({"keep.txt": b"k", "old/gone.txt": b"g"}, "base", 1)
    entries = [
        {"path": "new/file.txt", "mode": "100644", "type": "blob", "content": "n"},
        {"path": "old/gone.txt", "mode": "100644", "type": "blob", "sha": None},
    ]
    tree_sha = fake.repo.objects.commits[base.sha].tree

    status, tree, _ = await call(
        http, fake, "POST", REPO + "/git/trees", {"base_tree": tree_sha, "tree": entries}
    )

    assert status == 201
    assert fake.repo.objects.flatten(tree["sha"]) == {
        "keep.txt": git_sha("blob", b"k"),
        "new/file.txt": git_sha("blob", b"n"),
    }


async def test_credentials_permissions_and_private_repositories_answer_401_403_404(
    fake: FakeGitHub, http: aiohttp.ClientSession
) -> None:
    fake.repo.commit_files({"a.txt": b"a"}, "base", 1)
    async with aiohttp.ClientSession() as anonymous, anonymous.get(fake.api_url + REPO) as answer:
        assert answer.status == 401

    fake.grant(TOKEN, "read")
    status, _, headers = await call(http, fake, "POST", REPO + "/git/trees", {"tree": []})
    assert status == 403
    assert headers["X-Accepted-GitHub-Permissions"] == "contents=write"

    fake.grant(TOKEN, "none")
    assert (await call(http, fake, "GET", REPO))[0] == 404


async def test_rate_limits_carry_the_headers_github_sends(
    fake: FakeGitHub, http: aiohttp.ClientSession
) -> None:
    fake.primary_rate_limit(reset_at=2_000_000_000)
    fake.secondary_rate_limit(retry_after=30, status=429)

    primary, _, primary_headers = await call(http, fake, "GET", REPO)
    secondary, _, secondary_headers = await call(http, fake, "GET", REPO)
    fine, _, fine_headers = await call(http, fake, "GET", REPO)

    assert primary == 403
    assert primary_headers["x-ratelimit-remaining"] == "0"
    assert primary_headers["x-ratelimit-reset"] == "2000000000"
    assert (secondary, secondary_headers["retry-after"]) == (429, "30")
    assert fine == 200
    assert int(fine_headers["x-ratelimit-remaining"]) > 0


async def test_bad_credentials_again_and_again_lock_the_address_out_even_for_a_good_token(
    timed: tuple[FakeGitHub, Clock],
) -> None:
    fake, clock = timed
    refused = [await status_with(fake, "ghp_wrong") for _ in range(BAD_CREDENTIALS_ALLOWED)]

    good_token_then = await status_with(fake, TOKEN)
    clock.now += LOCKOUT_SECONDS
    good_token_later = await status_with(fake, TOKEN)

    assert refused == [(401, "Bad credentials")] * BAD_CREDENTIALS_ALLOWED
    assert good_token_then == (403, LOGIN_ATTEMPTS_EXCEEDED)
    assert good_token_later == (200, None)


async def test_bad_credentials_spread_wider_than_the_window_lock_nothing_out(
    timed: tuple[FakeGitHub, Clock],
) -> None:
    fake, clock = timed
    for _ in range(2 * BAD_CREDENTIALS_ALLOWED):
        assert (await status_with(fake, "ghp_wrong"))[0] == 401
        clock.now += BAD_CREDENTIALS_WINDOW / (BAD_CREDENTIALS_ALLOWED - 1)

    assert not fake.is_locked_out()
    assert (await status_with(fake, TOKEN))[0] == 200


async def test_content_creating_requests_beyond_80_a_minute_wait_as_retry_after_says(
    timed: tuple[FakeGitHub, Clock], http: aiohttp.ClientSession
) -> None:
    fake, clock = timed
    allowed = [(await write_blob(http, fake))[0] for _ in range(CONTENT_WRITES_PER_MINUTE)]
    clock.now += 20

    refused = await write_blob(http, fake)
    read = await call(http, fake, "GET", REPO)
    fake.grant("ghp_another_token")
    async with aiohttp.ClientSession(
        headers={"Authorization": "Bearer ghp_another_token"}
    ) as other:
        other_token = await write_blob(other, fake)
    clock.now += 40
    after_the_wait = await write_blob(http, fake)

    assert allowed == [201] * CONTENT_WRITES_PER_MINUTE
    assert refused == (403, SECONDARY_LIMIT, "40")
    assert read[0] == 200  # reading is not content-creating
    assert other_token[0] == 201  # the limit is the token's
    assert after_the_wait[0] == 201


async def test_content_creating_requests_beyond_500_an_hour_wait_as_retry_after_says(
    timed: tuple[FakeGitHub, Clock], http: aiohttp.ClientSession
) -> None:
    fake, clock = timed
    allowed = []
    for _ in range(CONTENT_WRITES_PER_HOUR):  # ten a minute: far below the minute's limit
        allowed.append((await write_blob(http, fake))[0])
        clock.now += 6

    refused = await write_blob(http, fake)
    clock.now += 600
    after_the_wait = await write_blob(http, fake)

    assert allowed == [201] * CONTENT_WRITES_PER_HOUR
    assert refused == (403, SECONDARY_LIMIT, "600")
    assert after_the_wait[0] == 201


async def test_injected_server_errors_answer_then_stop(
    fake: FakeGitHub, http: aiohttp.ClientSession
) -> None:
    fake.server_errors(times=2, status=503)

    statuses = [(await call(http, fake, "GET", REPO))[0] for _ in range(3)]

    assert statuses == [503, 503, 200]
    assert [r.status for r in fake.requests] == statuses


async def test_a_lost_answer_is_an_error_for_a_change_that_was_made(
    fake: FakeGitHub, http: aiohttp.ClientSession
) -> None:
    fake.repo.commit_files({"a.txt": b"a"}, "base", 1)
    head = fake.repo.head()
    assert head is not None
    fake.repo.refs["other"] = head  # a commit on top of main, made on a branch beside it
    commit = fake.repo.commit_files({"b.txt": b"b"}, "next", 2, branch="other")
    fake.lose_answers(method="PATCH")

    status, _, _ = await call(
        http, fake, "PATCH", REPO + "/git/refs/heads/main", {"sha": commit.sha, "force": False}
    )

    assert status == 502
    assert fake.repo.head() == commit.sha != head


async def test_a_hang_lasts_until_the_client_gives_up(
    fake: FakeGitHub, http: aiohttp.ClientSession
) -> None:
    fake.hang()

    with pytest.raises(TimeoutError):
        async with http.get(fake.api_url + REPO, timeout=aiohttp.ClientTimeout(total=0.2)):
            pass

    assert fake.requests[0].status == 0


async def test_the_command_line_serves_a_repository_until_terminated(
    socket_enabled: None,
) -> None:
    root = ROOT
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.fake_github",
        "--port",
        "0",
        "--repo",
        "bob/power",
        "--token",
        "t0ken",
        cwd=root,
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        line = (await asyncio.wait_for(process.stdout.readline(), 30)).decode()
        api_url = line.split(" at ")[1].split()[0]
        headers = {"Authorization": "Bearer t0ken"}
        async with (
            aiohttp.ClientSession(headers=headers) as http,
            http.get(f"{api_url}/repos/bob/power") as response,
        ):
            assert response.status == 200
            assert (await response.json())["full_name"] == "bob/power"
    finally:
        process.terminate()
        assert await asyncio.wait_for(process.wait(), 30) == 0


async def test_pages_serve_the_default_branch_like_github_pages(
    fake: FakeGitHub, http: aiohttp.ClientSession
) -> None:
    fake.repo.commit_files({"index.html": b"<html>", "data/m.json": b"{}"}, "m", 1)

    async with http.get(f"{fake.root_url}/_pages/alice/energy/") as page:
        body, headers = await page.read(), page.headers
    async with http.get(f"{fake.root_url}/_pages/alice/energy/nope.json") as missing:
        missing_status = missing.status

    assert body == b"<html>"
    assert headers["Cache-Control"] == "max-age=600"
    assert headers["Access-Control-Allow-Origin"] == "*"
    assert missing_status == 404
