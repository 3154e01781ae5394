"""When and what to publish, as pure functions: nightly due dates, backoff, the published set.

No Home Assistant import and no clock reads: times come in as arguments, so the schedule is
tested across DST days and the backoff with a seeded random source.
"""

from __future__ import annotations

import json
import random
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any, Final

from .views import LEVELS, MANIFEST

NO_JEKYLL: Final = ".nojekyll"
# Exponential backoff after a failed publish: 1 min, 2, 4, ... capped at one hour.
BACKOFF_FIRST: Final = 60.0
BACKOFF_MAX: Final = 3600.0
# After a problem only the user can fix (permission, missing repository) try again hourly,
# so a fix made on GitHub alone is picked up without a restart.
USER_FIX_RETRY: Final = 3600.0
# No wait is longer: GitHub's rate-limit windows last an hour, so a server naming a longer one
# is broken, and obeying it could stop publishing for years.
LONGEST_WAIT: Final = 3700.0


def nightly_moment(day: date, at: time, tz: tzinfo) -> datetime:
    """The UTC instant of the nightly publish of `day` at local time `at`.

    A local time inside a spring-forward gap does not exist; Python resolves it with the
    offset before the change, which lands just after the gap — the publish still happens.
    A time that occurs twice on a fall-back day is taken at its first occurrence.
    """
    local = datetime.combine(day, at, tzinfo=tz).replace(fold=0)
    return local.astimezone(UTC)


def due_night(now: datetime, at: time, tz: tzinfo, last_done: date | None) -> date | None:
    """The night whose publish is due at `now` and not yet done, or None.

    Keyed by date, not by a timer having fired: a night missed while HA was stopped (or a
    trigger lost in a DST gap) is caught up at the next check.
    """
    today = now.astimezone(tz).date()
    latest = today if nightly_moment(today, at, tz) <= now else today - timedelta(days=1)
    if last_done is not None and last_done >= latest:
        return None
    return latest


def next_nightly(now: datetime, at: time, tz: tzinfo) -> datetime:
    """The first nightly instant strictly after `now` (UTC)."""
    day = now.astimezone(tz).date() - timedelta(days=1)
    while True:
        moment = nightly_moment(day, at, tz)
        if moment > now:
            return moment
        day += timedelta(days=1)


def backoff_delay(failures: int, rng: random.Random, wait_at_least: float | None = None) -> float:
    """Seconds to wait before the next attempt after `failures` failures in a row.

    Exponential with "equal jitter" (half fixed, half random) so several HA instances that
    failed together do not retry together; never shorter than what GitHub asked for.
    """
    # Bounded before it is raised: 2.0 ** 1024 overflows, a month of failures in a row.
    doublings = min(max(0, failures - 1), 16)
    ceiling = min(BACKOFF_MAX, BACKOFF_FIRST * 2.0**doublings)
    delay = ceiling / 2 + rng.uniform(0, ceiling / 2)
    if wait_at_least is not None:
        # GitHub named the time (retry-after / x-ratelimit-reset): wait that, plus a little.
        delay = max(delay, wait_at_least + rng.uniform(0, 5))
    return min(delay, LONGEST_WAIT)


@dataclass(frozen=True)
class PublishedMeter:
    """One meter's share of a publish: which of its levels leave the house."""

    meter_id: str
    levels: frozenset[str]


def published_files(
    rendered: Mapping[str, bytes],
    meters: Collection[PublishedMeter],
    dashboard: Mapping[str, bytes],
    refresh_seconds: int | None = None,
) -> dict[str, bytes]:
    """The files a publish sends: the dashboard, the chosen level files and their manifest.

    `rendered` is every view as the integration wrote it (manifest.json + <meter>/<level>.json).
    The published manifest lists only the meters and levels published here, so a reader never
    follows a link to a file that is not there, and is never in maintenance (nothing is
    published during maintenance).
    """
    chosen = {m.meter_id: m.levels for m in meters}
    files: dict[str, bytes] = {p: c for p, c in dashboard.items() if p != MANIFEST}
    # GitHub Pages serves the folder as it is, without a Jekyll build, when this file is there.
    files[NO_JEKYLL] = b""
    for path, content in rendered.items():
        meter_id, _, name = path.partition("/")
        if name.endswith(".json") and name[: -len(".json")] in chosen.get(meter_id, ()):
            files[path] = content
    if MANIFEST in rendered:
        files[MANIFEST] = _published_manifest(rendered[MANIFEST], chosen, refresh_seconds)
    return files


def _published_manifest(
    manifest: bytes, chosen: Mapping[str, frozenset[str]], refresh_seconds: int | None
) -> bytes:
    body: dict[str, Any] = json.loads(manifest)
    if refresh_seconds is not None:
        body["refresh_seconds"] = refresh_seconds
    meters = []
    for meter in body.get("meters", []):
        levels = chosen.get(meter.get("id"))
        if levels is None:
            continue
        files = meter.get("files", {})
        meters.append({**meter, "files": {k: v for k, v in files.items() if k in levels}})
    body["meters"] = meters
    body["maintenance"] = False
    return (json.dumps(body, indent=1, ensure_ascii=False, allow_nan=False) + "\n").encode()


def stale_paths(
    published: Collection[str], files: Collection[str], loaded_meters: Collection[str]
) -> list[str]:
    """Paths published before that the next commit deletes.

    A level that was unticked goes (it may show when someone is home), and so does a dashboard
    file that is no longer shipped. The files of a meter that is not loaded right now (being
    reloaded, or removed) stay: another meter's publish must not delete its history.
    """
    stale = []
    for path in published:
        if path in files:
            continue
        meter_id, _, name = path.partition("/")
        is_level = "/" not in name and name.removesuffix(".json") in LEVELS
        if not is_level or meter_id in loaded_meters:
            stale.append(path)
    return sorted(stale)
