"""Benchmark: requests and commits per publish, one Git Data API commit vs per-file Contents PUTs.

Both approaches run against the same loopback fake GitHub (tests/fake_github), on the same
repository states. Run with the project's venv python; prints a markdown section to stdout.
"""

from __future__ import annotations

import asyncio
import base64
import sys
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from custom_components.powerstats.core.github import GitHubClient, Target, git_blob_sha  # noqa: E402
from tests.fake_github import FakeGitHub  # noqa: E402

TOKEN = "ghp_benchmark"  # noqa: S105 - the fake's token, not a secret
REPEATS = 20


def level_files(version: int, meters: int = 1) -> dict[str, bytes]:
    """A manifest plus levels that differ in every byte-relevant way between versions."""
    files = {"manifest.json": f'{{"format": "powerstats/1", "v": {version}}}\n'.encode()}
    for m in range(meters):
        for level in ("daily", "weekly", "monthly", "yearly"):
            rows = ",".join(f"[{i}, {i * version * 0.001:.4f}]" for i in range(300))
            files[f"meter{m}/{level}.json"] = f'{{"level": "{level}", "rows": [{rows}]}}'.encode()
    return files


def four_changed(version: int) -> dict[str, bytes]:
    """Four files that all changed: the manifest, and a meter's three larger levels."""
    files = level_files(version)
    return {p: files[p] for p in ("manifest.json", *sorted(files)[1:4])}


async def publish_per_file(
    http: aiohttp.ClientSession, fake: FakeGitHub, files: Mapping[str, bytes]
) -> None:
    """The old design: for each file, GET its sha, then PUT it (one commit per file)."""
    headers = {"Authorization": f"Bearer {TOKEN}", "Accept": "application/vnd.github+json"}
    base = f"{fake.api_url}/repos/{fake.repository}/contents"
    for path, content in files.items():
        async with http.get(f"{base}/{path}", headers=headers) as answer:
            sha = (await answer.json())["sha"] if answer.status == 200 else None
        if sha == git_blob_sha(content):
            continue
        body = {"message": f"Update {path}", "content": base64.b64encode(content).decode()}
        if sha is not None:
            body["sha"] = sha
        async with http.put(f"{base}/{path}", json=body, headers=headers) as answer:
            answer.raise_for_status()


@dataclass(frozen=True)
class Measured:
    requests: float
    writes: float
    commits: float
    millis: float


async def measure(
    setup: Callable[[FakeGitHub], None],
    publish: Callable[[aiohttp.ClientSession, FakeGitHub], Awaitable[None]],
) -> Measured:
    """Average one publish over REPEATS fresh fake servers prepared by `setup`."""
    totals = [0.0, 0.0, 0.0, 0.0]
    async with aiohttp.ClientSession() as http:
        for _ in range(REPEATS):
            async with FakeGitHub(token=TOKEN, repository="bench/energy") as fake:
                setup(fake)
                commits_before = len(fake.repo.history())
                fake.clear_log()
                started = time.perf_counter()
                await publish(http, fake)
                totals[3] += (time.perf_counter() - started) * 1000
                totals[0] += len(fake.requests)
                totals[1] += len(fake.writes)
                totals[2] += len(fake.repo.history()) - commits_before
    return Measured(*(t / REPEATS for t in totals))


def one_commit(
    files: Mapping[str, bytes], previous: Mapping[str, bytes] | None = None
) -> Callable[[aiohttp.ClientSession, FakeGitHub], Awaitable[None]]:
    async def run(http: aiohttp.ClientSession, fake: FakeGitHub) -> None:
        target = Target.parse(fake.repository, api_url=fake.api_url)
        client = GitHubClient(http, TOKEN, target, write_interval=0)
        known = None
        if previous is not None:
            known = {p: git_blob_sha(c) for p, c in previous.items()}
        await client.publish(files, "Publish energy history", previous=known)

    return run


def per_file(
    files: Mapping[str, bytes],
) -> Callable[[aiohttp.ClientSession, FakeGitHub], Awaitable[None]]:
    async def run(http: aiohttp.ClientSession, fake: FakeGitHub) -> None:
        await publish_per_file(http, fake, files)

    return run


def holding(files: Mapping[str, bytes]) -> Callable[[FakeGitHub], None]:
    def setup(fake: FakeGitHub) -> None:
        fake.repo.commit_files(files, "Earlier publish", 1)

    return setup


def empty(fake: FakeGitHub) -> None:
    """Leave the repository empty."""


async def main() -> int:
    old, new = four_changed(1), four_changed(2)
    one_of_four = {**old, "manifest.json": new["manifest.json"]}
    first = level_files(1, meters=2)
    dashboard = {
        p.relative_to(ROOT / "www").as_posix(): p.read_bytes()
        for p in sorted((ROOT / "www").rglob("*"))
        if p.is_file()
    }
    # What a nightly publish sends by default: the dashboard (unchanged since the last night),
    # the manifest and the monthly and yearly levels (changed).
    published = ("manifest.json", "meter0/monthly.json", "meter0/yearly.json")
    night_before = {**dashboard, **{p: level_files(1)[p] for p in published}}
    night_after = {**dashboard, **{p: level_files(2)[p] for p in published}}
    changed = len(published)
    scenarios = [
        # Each after an earlier publish from here: the client is told what that one sent.
        ("4 changed files", holding(old), new, old),
        ("1 of 4 files changed", holding(old), one_of_four, old),
        ("nothing changed since the last publish", holding(old), old, old),
        (f"first publish, empty repository, {len(first)} files", empty, first, None),
        (
            f"a night with the dashboard: {changed} of {len(night_before)} files changed",
            holding(night_before),
            night_after,
            night_before,
        ),
    ]
    print("## Publishing to GitHub: one commit per publish vs one Contents PUT per file\n")
    print(
        f"Each row is the mean of {REPEATS} publishes against the loopback fake GitHub "
        "(tests/fake_github). Old = GET + PUT through the Contents API per file "
        "(generously skipping the PUT when the sha already matches). Target for 4 changed "
        "files: 1 commit and at most 6 requests.\n"
    )
    print(
        "| scenario | requests new / old | ratio | commits new / old | writes new / old "
        "| loopback ms new / old |"
    )
    print("|---|---|---|---|---|---|")
    four = None
    for name, setup, files, previous in scenarios:
        ours = await measure(setup, one_commit(files, previous))
        theirs = await measure(setup, per_file(files))
        if four is None:
            four = ours
        ratio = ours.requests / theirs.requests if theirs.requests else float("nan")
        print(
            f"| {name} | {ours.requests:g} / {theirs.requests:g} | {ratio:.2f} "
            f"| {ours.commits:g} / {theirs.commits:g} | {ours.writes:g} / {theirs.writes:g} "
            f"| {ours.millis:.1f} / {theirs.millis:.1f} |"
        )
    assert four is not None
    verdict = "met" if four.commits == 1 and four.requests <= 6 else "NOT met"
    print(
        f"\nTarget (4 changed files: 1 commit, at most 6 requests): **{verdict}** "
        f"({four.commits:g} commit, {four.requests:g} requests). GitHub Pages starts one build "
        "per commit (soft limit ~10 an hour), so commits per publish is what bounds how often "
        "a public dashboard can refresh."
    )
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
