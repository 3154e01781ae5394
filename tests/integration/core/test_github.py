"""The GitHub client against the loopback fake GitHub: one commit per publish, typed errors."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web

from custom_components.powerstats.core.github import (
    API_VERSION,
    GitHubAuthError,
    GitHubBranchProtectedError,
    GitHubClient,
    GitHubExistingDataError,
    GitHubNotFoundError,
    GitHubPermissionError,
    GitHubRateLimitError,
    GitHubSSOError,
    GitHubTransientError,
    InvalidTargetError,
    Target,
    git_blob_sha,
    valid_api_url,
)
from tests.fake_github import FakeGitHub

TOKEN = "ghp_client_test_token_0123456789"
FILES = {
    "manifest.json": b'{"format": "powerstats/1", "meters": []}\n',
    "house/monthly.json": b'{"level": "monthly"}\n',
    "house/yearly.json": b'{"level": "yearly"}\n',
    "index.html": b"<!doctype html><title>PowerStats</title>\n",
}


@pytest.fixture
async def fake(socket_enabled: None) -> AsyncIterator[FakeGitHub]:
    async with FakeGitHub(token=TOKEN, repository="alice/energy") as server:
        yield server


@pytest.fixture
async def session(socket_enabled: None) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as http:
        yield http


def client_for(
    fake: FakeGitHub, session: aiohttp.ClientSession, *, token: str = TOKEN, **target: str
) -> GitHubClient:
    settings = {"repository": "alice/energy", "api_url": fake.api_url, **target}
    return GitHubClient(session, token, Target.parse(**settings), timeout=5, write_interval=0)


async def seeded(fake: FakeGitHub) -> None:
    fake.repo.commit_files({"README.md": b"# Alice's energy\n"}, "Initial commit", 1)


# ---- what a publish does -----------------------------------------------------------------


async def test_first_publish_into_an_empty_repository_creates_it_and_holds_every_file(
    fake: FakeGitHub, session: aiohttp.ClientSession
) -> None:
    result = await client_for(fake, session).publish(FILES, "Publish energy history")

    assert fake.repo.files("main") == FILES
    puts = [r for r in fake.requests if r.method == "PUT"]
    assert len(puts) == 1
    assert puts[0].path.endswith("/contents/house/monthly.json")  # never the manifest first
    assert next(r.status for r in fake.requests if r.path.endswith("/git/ref/heads/main")) == 409
    assert len(fake.repo.history("main")) == 2
    assert result.commit_sha == fake.repo.head("main")
    assert set(result.changed) == set(FILES)


async def test_a_publish_makes_exactly_one_commit_holding_every_changed_file(
    fake: FakeGitHub, session: aiohttp.ClientSession
) -> None:
    await seeded(fake)

    result = await client_for(fake, session).publish(FILES, "Publish energy history")

    history = fake.repo.history("main")
    assert len(history) == 2
    assert history[0].message == "Publish energy history"
    assert fake.repo.files("main") == {"README.md": b"# Alice's energy\n", **FILES}
    assert result.commit_url == f"{fake.root_url}/alice/energy/commit/{history[0].sha}"
    assert result.requests == 6
    assert [r.method for r in fake.requests] == ["GET", "GET", "GET", "POST", "POST", "PATCH"]


async def test_only_files_whose_content_differs_from_the_repository_are_sent(
    fake: FakeGitHub, session: aiohttp.ClientSession
) -> None:
    fake.repo.commit_files(FILES, "Earlier publish", 1)
    changed = {**FILES, "house/yearly.json": b'{"level": "yearly", "rows": [1]}\n'}

    result = await client_for(fake, session).publish(changed, "Publish energy history")

    tree_post = next(r for r in fake.requests if r.path.endswith("/git/trees"))
    assert [e["path"] for e in tree_post.body["tree"]] == ["house/yearly.json"]
    assert result.changed == ("house/yearly.json",)
    assert fake.repo.files("main") == changed


async def test_nothing_differing_from_the_repository_makes_no_commit(
    fake: FakeGitHub, session: aiohttp.ClientSession
) -> None:
    fake.repo.commit_files(FILES, "Earlier publish", 1)

    result = await client_for(fake, session).publish(FILES, "Publish energy history")

    assert result.commit_sha is None
    assert len(fake.repo.history("main")) == 1
    assert fake.writes == []


async def test_nothing_changed_since_the_last_publish_sends_no_request_at_all(
    fake: FakeGitHub, session: aiohttp.ClientSession
) -> None:
    client = client_for(fake, session)
    first = await client.publish(FILES, "Publish energy history")
    fake.clear_log()

    again = await client.publish(FILES, "Publish energy history", previous=first.published)

    assert fake.requests == []
    assert again.requests == 0
    assert again.commit_sha is None


OTHERS = {**FILES, "manifest.json": b'{"format": "powerstats/1", "meters": ["theirs"]}\n'}


async def test_a_first_publish_leaves_a_dataset_it_did_not_publish_alone(
    fake: FakeGitHub, session: aiohttp.ClientSession
) -> None:
    fake.repo.commit_files(OTHERS, "Published by another installation", 1)

    with pytest.raises(GitHubExistingDataError, match=r"manifest\.json on main"):
        await client_for(fake, session).publish(FILES, "Publish energy history")

    assert fake.writes == []
    assert fake.repo.files("main") == OTHERS


async def test_a_dataset_not_published_from_here_is_replaced_when_the_user_says_so(
    fake: FakeGitHub, session: aiohttp.ClientSession
) -> None:
    fake.repo.commit_files(OTHERS, "Published by another installation", 1)

    await client_for(fake, session).publish(FILES, "Publish", replace_existing=True)

    assert fake.repo.files("main") == FILES


async def test_a_dataset_published_from_here_before_is_updated_without_asking(
    fake: FakeGitHub, session: aiohttp.ClientSession
) -> None:
    client = client_for(fake, session)
    first = await client.publish(OTHERS, "Publish energy history")

    await client.publish(FILES, "Publish energy history", previous=first.published)

    assert fake.repo.files("main") == FILES


async def test_a_dataset_in_another_folder_of_the_repository_is_no_reason_to_wait(
    fake: FakeGitHub, session: aiohttp.ClientSession
) -> None:
    fake.repo.commit_files(OTHERS, "Published by another installation", 1)

    await client_for(fake, session, folder="energy").publish(FILES, "Publish")

    assert fake.repo.files("main")["energy/manifest.json"] == FILES["manifest.json"]
    assert fake.repo.files("main")["manifest.json"] == OTHERS["manifest.json"]


async def test_a_branch_moved_by_someone_else_mid_publish_is_rebuilt_on_top_losing_nothing(
    fake: FakeGitHub, session: aiohttp.ClientSession
) -> None:
    await seeded(fake)
    fake.someone_else_pushes({"NOTES.md": b"someone else's note\n"})

    result = await client_for(fake, session).publish(FILES, "Publish energy history")

    patches = [r.status for r in fake.requests if r.method == "PATCH"]
    assert patches == [422, 200]
    history = fake.repo.history("main")
    assert [c.message for c in history] == [
        "Publish energy history",
        "Someone else's change",
        "Initial commit",
    ]
    assert fake.repo.files("main")["NOTES.md"] == b"someone else's note\n"
    assert {p: fake.repo.files("main")[p] for p in FILES} == FILES
    assert result.commit_sha == history[0].sha


async def test_a_branch_that_never_stops_moving_gives_up_as_a_transient_error(
    fake: FakeGitHub, session: aiohttp.ClientSession
) -> None:
    await seeded(fake)
    for n in range(5):
        fake.someone_else_pushes({"NOTES.md": f"note {n}\n".encode()})

    with pytest.raises(GitHubTransientError):
        await client_for(fake, session).publish(FILES, "Publish energy history")

    assert all(c.message != "Publish energy history" for c in fake.repo.history("main"))


async def test_files_no_longer_published_are_removed_in_the_same_commit(
    fake: FakeGitHub, session: aiohttp.ClientSession
) -> None:
    client = client_for(fake, session)
    with_daily = {**FILES, "house/daily.json": b'{"level": "daily"}\n'}
    first = await client.publish(with_daily, "Publish energy history")
    commits_before = len(fake.repo.history("main"))

    result = await client.publish(
        FILES, "Publish energy history", previous=first.published, remove=["house/daily.json"]
    )

    assert "house/daily.json" not in fake.repo.files("main")
    assert result.changed == ("house/daily.json",)
    assert len(fake.repo.history("main")) == commits_before + 1


async def test_files_go_below_the_configured_folder(
    fake: FakeGitHub, session: aiohttp.ClientSession
) -> None:
    await seeded(fake)

    await client_for(fake, session, folder="/docs/energy/").publish(FILES, "Publish")

    files = fake.repo.files("main")
    assert files["docs/energy/manifest.json"] == FILES["manifest.json"]
    assert "manifest.json" not in files


async def test_a_missing_branch_is_started_holding_only_the_published_files(
    fake: FakeGitHub, session: aiohttp.ClientSession
) -> None:
    await seeded(fake)

    await client_for(fake, session, branch="gh-pages").publish(FILES, "Publish")

    assert fake.repo.files("gh-pages") == FILES
    assert len(fake.repo.history("gh-pages")) == 1
    assert fake.repo.files("main") == {"README.md": b"# Alice's energy\n"}


async def test_a_file_that_is_not_text_goes_up_as_a_blob(
    fake: FakeGitHub, session: aiohttp.ClientSession
) -> None:
    await seeded(fake)
    icon = bytes(range(256))

    await client_for(fake, session).publish({**FILES, "favicon.ico": icon}, "Publish")

    assert fake.repo.files("main")["favicon.ico"] == icon
    assert any(r.path.endswith("/git/blobs") for r in fake.requests)


async def test_github_enterprise_server_works_under_its_api_v3_prefix(
    session: aiohttp.ClientSession,
) -> None:
    async with FakeGitHub(token=TOKEN, repository="alice/energy", prefix="/api/v3") as ghes:
        await seeded(ghes)
        assert ghes.api_url.endswith("/api/v3")

        await client_for(ghes, session).publish(FILES, "Publish")

        assert {p: ghes.repo.files("main")[p] for p in FILES} == FILES


async def test_every_request_pins_the_api_version_and_names_the_client(
    fake: FakeGitHub, session: aiohttp.ClientSession
) -> None:
    await client_for(fake, session).publish(FILES, "Publish")

    assert fake.requests
    for request in fake.requests:
        assert request.headers["x-github-api-version"] == API_VERSION
        assert request.headers["accept"] == "application/vnd.github+json"
        assert request.headers["user-agent"].startswith("PowerStats")
        assert request.headers["authorization"] == f"Bearer {TOKEN}"


async def test_the_token_never_appears_in_logs_or_errors(
    fake: FakeGitHub, session: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    client = client_for(fake, session)
    await client.publish(FILES, "Publish")
    fake.server_errors()
    with pytest.raises(GitHubTransientError) as failure:
        await client.publish({**FILES, "x.json": b"{}"}, "Publish")

    assert caplog.records
    assert TOKEN not in caplog.text
    assert TOKEN not in str(failure.value)
    assert TOKEN not in repr(client)


# ---- what goes wrong ---------------------------------------------------------------------


async def test_bad_credentials_raise_an_auth_error(
    fake: FakeGitHub, session: aiohttp.ClientSession
) -> None:
    with pytest.raises(GitHubAuthError):
        await client_for(fake, session, token="ghp_wrong").publish(FILES, "Publish")


async def test_a_token_without_contents_write_raises_a_permission_error_naming_what_is_missing(
    fake: FakeGitHub, session: aiohttp.ClientSession
) -> None:
    await seeded(fake)
    fake.grant(TOKEN, "read")

    with pytest.raises(GitHubPermissionError) as failure:
        await client_for(fake, session).publish(FILES, "Publish")

    assert failure.value.missing == "contents=write"


async def test_a_permission_header_that_is_not_a_list_of_permissions_is_not_passed_on(
    fake: FakeGitHub, session: aiohttp.ClientSession
) -> None:
    # It is shown in a repair, which renders markdown: a hostile host must not place a link.
    await seeded(fake)
    fake.fail(
        403,
        "Resource not accessible by personal access token",
        headers={"X-Accepted-GitHub-Permissions": "[renew your token](https://evil.example)"},
    )

    with pytest.raises(GitHubPermissionError) as failure:
        await client_for(fake, session).publish(FILES, "Publish")

    assert failure.value.missing is None


@pytest.mark.parametrize("token", ["ghp_abc\r\nX-Injected: 1", "ghp_abc def", "ghp_\u200babc"])
async def test_a_token_with_characters_no_github_token_has_is_never_sent(
    fake: FakeGitHub, session: aiohttp.ClientSession, token: str
) -> None:
    with pytest.raises(GitHubAuthError, match="characters a GitHub token never has"):
        await client_for(fake, session, token=token).publish(FILES, "Publish")

    assert fake.requests == []


async def test_an_error_message_that_echoes_the_token_is_kept_without_it(
    fake: FakeGitHub, session: aiohttp.ClientSession
) -> None:
    # A proxy or another API host that echoes the request must not put the token in the log.
    fake.fail(500, f"upstream refused: Authorization: Bearer {TOKEN}", times=10)

    with pytest.raises(GitHubTransientError) as failure:
        await client_for(fake, session).publish(FILES, "Publish")

    assert TOKEN not in str(failure.value)
    assert "Bearer [token]" in str(failure.value)


async def test_an_answer_nested_deeper_than_python_can_parse_is_an_answer_without_a_body(
    session: aiohttp.ClientSession,
) -> None:
    async def nested(request: web.Request) -> web.Response:
        return web.Response(status=502, text="[" * 200_000, content_type="application/json")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", nested)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    target = Target.parse(repository="alice/energy", api_url=f"http://127.0.0.1:{port}")
    try:
        with pytest.raises(GitHubTransientError, match="no message"):
            await GitHubClient(session, TOKEN, target, timeout=5).check_access()
    finally:
        await runner.cleanup()


async def test_a_token_not_authorized_for_single_sign_on_raises_an_sso_error(
    fake: FakeGitHub, session: aiohttp.ClientSession
) -> None:
    await seeded(fake)
    fake.grant(TOKEN, "write", sso_pending=True)

    with pytest.raises(GitHubSSOError) as failure:
        await client_for(fake, session).publish(FILES, "Publish")
    with pytest.raises(GitHubSSOError):
        await client_for(fake, session).check_access()

    assert failure.value.missing is None  # nothing the token lacks: it needs authorizing


async def test_a_protected_branch_raises_a_branch_protected_error_and_moves_nothing(
    fake: FakeGitHub, session: aiohttp.ClientSession
) -> None:
    await seeded(fake)
    head = fake.repo.head()
    fake.protect("main")

    with pytest.raises(GitHubBranchProtectedError):
        await client_for(fake, session).publish(FILES, "Publish")

    assert fake.repo.head() == head
    assert sum(r.method == "PATCH" for r in fake.requests) == 1  # not retried as a race


async def test_a_private_repository_the_token_cannot_see_raises_not_found(
    fake: FakeGitHub, session: aiohttp.ClientSession
) -> None:
    await seeded(fake)
    fake.grant(TOKEN, "none")

    with pytest.raises(GitHubNotFoundError):
        await client_for(fake, session).publish(FILES, "Publish")


@pytest.mark.parametrize("publish", [True, False])
async def test_a_renamed_repository_is_not_found_and_its_new_address_never_asked(
    fake: FakeGitHub, session: aiohttp.ClientSession, publish: bool
) -> None:
    await seeded(fake)
    fake.rename("alice/energy", "alice/power")
    client = client_for(fake, session)
    ask = client.publish(FILES, "Publish energy history") if publish else client.check_access()

    with pytest.raises(GitHubNotFoundError, match="moved"):
        await ask

    assert {r.status for r in fake.requests} == {301}  # the token went nowhere else
    assert all("/alice/energy" in r.path for r in fake.requests)


async def test_a_primary_rate_limit_says_to_wait_until_the_reset_time(
    fake: FakeGitHub, session: aiohttp.ClientSession
) -> None:
    fake.primary_rate_limit(reset_at=1_800_000_600)

    with pytest.raises(GitHubRateLimitError) as failure:
        await client_for(fake, session).publish(FILES, "Publish")

    assert failure.value.wait_seconds(now=1_800_000_000) == 601
    assert len(fake.requests) == 1


async def test_a_secondary_rate_limit_says_to_wait_as_long_as_retry_after(
    fake: FakeGitHub, session: aiohttp.ClientSession
) -> None:
    fake.secondary_rate_limit(retry_after=120, status=429)

    with pytest.raises(GitHubRateLimitError) as failure:
        await client_for(fake, session).publish(FILES, "Publish")

    assert failure.value.wait_seconds(now=0) == 120


async def test_a_secondary_rate_limit_without_retry_after_says_to_wait_a_minute(
    fake: FakeGitHub, session: aiohttp.ClientSession
) -> None:
    fake.secondary_rate_limit(retry_after=None)

    with pytest.raises(GitHubRateLimitError) as failure:
        await client_for(fake, session).publish(FILES, "Publish")

    assert failure.value.wait_seconds(now=0) == 60


async def test_an_account_refused_for_bad_credentials_waits_like_a_rate_limit_not_a_permission(
    fake: FakeGitHub, session: aiohttp.ClientSession
) -> None:
    fake.bad_credentials_allowed = 1  # something else sent a bad token for this account
    with pytest.raises(GitHubAuthError):
        await client_for(fake, session, token="ghp_wrong").publish(FILES, "Publish")

    with pytest.raises(GitHubRateLimitError, match="login attempts") as failure:
        await client_for(fake, session).publish(FILES, "Publish")

    assert failure.value.wait_seconds(now=0) == 60


async def test_a_server_error_is_transient_and_stops_after_one_request(
    fake: FakeGitHub, session: aiohttp.ClientSession
) -> None:
    await seeded(fake)
    fake.server_errors(status=502, method="POST", path="/git/trees")

    with pytest.raises(GitHubTransientError):
        await client_for(fake, session).publish(FILES, "Publish")

    assert [r.status for r in fake.requests][-1] == 502
    assert len(fake.repo.history("main")) == 1


async def test_a_request_github_does_not_answer_in_time_is_transient(
    fake: FakeGitHub, session: aiohttp.ClientSession
) -> None:
    fake.hang()
    client = GitHubClient(
        session,
        TOKEN,
        Target.parse("alice/energy", api_url=fake.api_url),
        timeout=0.2,
        write_interval=0,
    )

    with pytest.raises(GitHubTransientError, match="in time"):
        await client.publish(FILES, "Publish")


async def test_an_answer_larger_than_any_github_sends_is_refused_unread(
    fake: FakeGitHub, session: aiohttp.ClientSession
) -> None:
    fake.endless_answer(path="/repos/alice/energy$")

    with pytest.raises(GitHubTransientError, match="larger than"):
        await client_for(fake, session).check_access()


async def test_an_unreachable_server_is_transient(session: aiohttp.ClientSession) -> None:
    async with FakeGitHub(token=TOKEN) as gone:
        url = gone.api_url
    client = GitHubClient(session, TOKEN, Target.parse("alice/energy", api_url=url), timeout=2)

    with pytest.raises(GitHubTransientError, match="cannot reach"):
        await client.publish(FILES, "Publish")


# ---- the setup check and settings --------------------------------------------------------


async def test_the_setup_check_reports_whether_the_token_may_push(
    fake: FakeGitHub, session: aiohttp.ClientSession
) -> None:
    assert (await client_for(fake, session).check_access()).can_push is True
    fake.grant(TOKEN, "read")
    assert (await client_for(fake, session).check_access()).can_push is False


async def test_the_setup_check_raises_not_found_for_a_repository_that_is_not_there(
    fake: FakeGitHub, session: aiohttp.ClientSession
) -> None:
    with pytest.raises(GitHubNotFoundError):
        await client_for(fake, session, repository="alice/missing").check_access()


@pytest.mark.parametrize(
    ("settings", "bad"),
    [
        ({"repository": "no-slash"}, "repository"),
        ({"repository": "a/b/c"}, "repository"),
        ({"repository": "-bad/name"}, "repository"),
        ({"repository": "alice/energy", "branch": "a..b"}, "branch"),
        ({"repository": "alice/energy", "branch": "x y"}, "branch"),
        ({"repository": "alice/energy", "folder": "../up"}, "folder"),
        ({"repository": "alice/energy", "folder": "data/\ud800"}, "folder"),
        ({"repository": "alice/energy", "branch": "energy-\udc00"}, "branch"),
        ({"repository": "alice/energy", "api_url": "ftp://x"}, "api_url"),
    ],
)
def test_settings_github_would_refuse_are_named_before_any_request(
    settings: dict[str, str], bad: str
) -> None:
    with pytest.raises(InvalidTargetError) as failure:
        Target.parse(**settings)
    assert failure.value.field_name == bad


def test_blob_ids_are_the_ones_git_computes() -> None:
    assert git_blob_sha(b"") == "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391"
    assert git_blob_sha(b"hello\n") == "ce013625030ba8dba906f756967f9e9ca394464a"


@pytest.mark.parametrize(
    ("api_url", "valid"),
    [
        ("https://api.github.com", True),
        ("https://ghe.example.com/api/v3", True),
        ("http://127.0.0.1:8080", True),
        ("http://127.8.9.10/api/v3", True),
        ("http://localhost:9", True),
        ("http://[::1]:9/api/v3", True),
        ("http://api.github.com", False),
        ("http://192.168.1.10/api/v3", False),
        ("http://[::ffff:192.168.1.10]", False),
        ("http://localhost.example.com", False),
        ("ftp://127.0.0.1", False),
        ("https://", False),
        ("http://127.0.0.1:notaport", False),
        ("https://alice:secret@ghe.example.com/api/v3", False),
        ("https://alice@api.github.com", False),
        ("https://api.github.com?access_token=x", False),
        ("https://api.github.com/#x", False),
    ],
)
def test_an_api_url_is_https_or_http_on_this_machine_only(api_url: str, valid: bool) -> None:
    assert valid_api_url(api_url) is valid
