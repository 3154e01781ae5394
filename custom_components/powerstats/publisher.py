"""The publisher: when to publish to GitHub, what, and what to do when GitHub says no.

One `Publisher` for the dataset, in the entry's runtime data. It keeps its state (pending
publish, last night published, backoff, maintenance, the blob ids last published) in its own
`Store`, so a restart resumes a publish that had to wait. Triggers — the nightly time (keyed by
date and caught up at start), the optional interval, the button and the `powerstats.publish`
action, maintenance being turned off, and views written after past buckets were merged in
(backfill, import) — only mark a publish pending and kick; one attempt runs at a time, and
after a failure nothing is sent until the backoff period is over (at most one failing request
per period)."""

from __future__ import annotations

import json
import logging
import random
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any, Final

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.dispatcher import async_dispatcher_connect
from homeassistant.helpers.event import (
    async_track_point_in_utc_time,
    async_track_time_interval,
)
from homeassistant.helpers.start import async_at_started
from homeassistant.helpers.storage import Store
from homeassistant.util import dt as dt_util

from .const import (
    DOMAIN,
    ISSUE_PUBLISH_BRANCH_PROTECTED,
    ISSUE_PUBLISH_EXISTING_DATA,
    ISSUE_PUBLISH_NO_PERMISSION,
    ISSUE_PUBLISH_NOT_FOUND,
    ISSUE_PUBLISH_SSO_REQUIRED,
    LOGGER,
    PUBLISH_ISSUES,
    PUBLISH_STORAGE_VERSION,
    SIGNAL_VIEWS_WRITTEN,
    publish_issue_id,
    publish_store_key,
)
from .core.github import (
    WRITE_INTERVAL,
    GitHubAuthError,
    GitHubBranchProtectedError,
    GitHubClient,
    GitHubError,
    GitHubExistingDataError,
    GitHubNotFoundError,
    GitHubPermissionError,
    GitHubRateLimitError,
    GitHubSSOError,
    GitHubTransientError,
    PublishResult,
    PublishWithdrawnError,
    accepted_permissions,
    git_blob_sha,
)
from .core.publish_plan import (
    LONGEST_WAIT,
    USER_FIX_RETRY,
    PublishedMeter,
    backoff_delay,
    due_night,
    next_nightly,
    published_files,
    stale_paths,
)
from .core.views import MANIFEST
from .panel import FRONTEND_DIR
from .publish_settings import PublishSettings
from .views_writer import ViewsWritten

# Why publishing stopped, shown as the Publish problem sensor's `reason` attribute.
PROBLEM_AUTH: Final = "invalid_auth"
PROBLEM_PERMISSION: Final = "no_push_permission"
PROBLEM_NOT_FOUND: Final = "repository_not_found"
PROBLEM_RATE_LIMITED: Final = "rate_limited"
PROBLEM_UNREACHABLE: Final = "cannot_connect"
PROBLEM_EXISTING_DATA: Final = "existing_data"
PROBLEM_SSO_REQUIRED: Final = "sso_required"
PROBLEM_BRANCH_PROTECTED: Final = "branch_protected"
PROBLEMS: Final = (
    PROBLEM_AUTH,
    PROBLEM_PERMISSION,
    PROBLEM_SSO_REQUIRED,
    PROBLEM_BRANCH_PROTECTED,
    PROBLEM_NOT_FOUND,
    PROBLEM_RATE_LIMITED,
    PROBLEM_UNREACHABLE,
    PROBLEM_EXISTING_DATA,
)
# Problems nothing but the user ends: no publish is tried on its own while one stands.
HELD_BY: Final = (PROBLEM_AUTH, PROBLEM_EXISTING_DATA)
# Repair issues for the problems only the user can fix on GitHub (translation keys).
ISSUE_OF_PROBLEM: Final = {
    PROBLEM_PERMISSION: ISSUE_PUBLISH_NO_PERMISSION,
    PROBLEM_SSO_REQUIRED: ISSUE_PUBLISH_SSO_REQUIRED,
    PROBLEM_BRANCH_PROTECTED: ISSUE_PUBLISH_BRANCH_PROTECTED,
    PROBLEM_NOT_FOUND: ISSUE_PUBLISH_NOT_FOUND,
    PROBLEM_EXISTING_DATA: ISSUE_PUBLISH_EXISTING_DATA,
}
# What only the user can fix on GitHub: asked for by a repair issue, tried again hourly.
_USER_FIXES: Final[dict[type[GitHubError], str]] = {
    GitHubPermissionError: PROBLEM_PERMISSION,
    GitHubSSOError: PROBLEM_SSO_REQUIRED,
    GitHubBranchProtectedError: PROBLEM_BRANCH_PROTECTED,
    GitHubNotFoundError: PROBLEM_NOT_FOUND,
}
# How many manifests of a first publish's tries are remembered: four days of hourly tries.
SENDING_KEPT: Final = 96


@dataclass
class PublishState:
    """What the publisher remembers across restarts."""

    pending: bool = False
    pending_night: str | None = None  # ISO date of a nightly publish that is still to do
    last_night: str | None = None  # ISO date of the last nightly publish done
    last_publish: float | None = None  # epoch seconds of the last successful publish
    last_commit_sha: str | None = None
    last_commit_url: str | None = None
    target: str | None = None  # which repository `published` describes
    published: dict[str, str] = field(default_factory=dict)  # relative path -> blob id
    # The blob ids of the manifests the tries of a first publish to `target` sent, oldest
    # first: a try whose commit landed but whose success was never noted (a crash, an answer
    # lost) leaves its manifest there, known as ours at every later try, which may render
    # another manifest and fail before it commits.
    sending: list[str] = field(default_factory=list)
    missing: str | None = None  # the permission GitHub said the token lacks (its repair's)
    maintenance: bool = False
    failures: int = 0
    retry_at: float | None = None
    problem: str | None = None

    @classmethod
    def from_stored(cls, data: Any) -> PublishState:
        """Rebuild the state from the store, dropping anything that is not what we wrote."""
        state = cls()
        if not isinstance(data, dict):
            return state
        for name, kind in (
            ("pending", bool),
            ("maintenance", bool),
            ("failures", int),
            ("pending_night", str),
            ("last_night", str),
            ("last_commit_sha", str),
            ("last_commit_url", str),
            ("target", str),
            ("problem", str),
        ):
            if isinstance(data.get(name), kind):
                setattr(state, name, data[name])
        for name in ("last_publish", "retry_at"):
            if isinstance(data.get(name), int | float):
                setattr(state, name, float(data[name]))
        published = data.get("published")
        if isinstance(published, dict):
            state.published = {
                k: v for k, v in published.items() if isinstance(k, str) and isinstance(v, str)
            }
        sending = data.get("sending")
        if isinstance(sending, str):  # saved by a version that noted the latest try only
            sending = [sending]
        if isinstance(sending, list):
            state.sending = [s for s in sending if isinstance(s, str)][-SENDING_KEPT:]
        missing = data.get("missing")
        if isinstance(missing, str):
            # Shown in a repair (markdown): only a list of permissions, as the client passes.
            state.missing = accepted_permissions(missing)
        if state.problem not in PROBLEMS:
            state.problem = None
        # The nights are compared as dates: one that is no date would stop nightly publishing.
        state.pending_night = _iso_date(state.pending_night)
        state.last_night = _iso_date(state.last_night)
        return state


type FilesSource = Callable[[], Mapping[str, bytes]]
type MetersSource = Callable[[], list[PublishedMeter]]
type MaintenanceListener = Callable[[bool], Awaitable[None]]


class Publisher:
    """Publishes the dataset's meters (and the dashboard) to its GitHub repository."""

    # GitHub asks for a pause between content-creating requests; tests set it to 0.
    write_interval: float = WRITE_INTERVAL

    def __init__(
        self,
        hass: HomeAssistant,
        entry: ConfigEntry[Any],
        settings: PublishSettings | None,
        *,
        rendered: FilesSource,
        meters: MetersSource,
        dashboard_dir: Path | None,
        dashboard_skip: frozenset[str] = frozenset(),
        on_maintenance: MaintenanceListener | None = None,
    ) -> None:
        self.hass = hass
        self.entry = entry
        self.settings = settings
        self.state = PublishState()
        self._rendered = rendered
        self._meters = meters
        self._dashboard_dir = dashboard_dir
        self._dashboard_skip = dashboard_skip
        self._dashboard: dict[str, bytes] | None = None
        self._on_maintenance = on_maintenance
        self._store: Store[dict[str, Any]] = publish_store(hass, entry.entry_id)
        self._rng = random.Random()
        self._listeners: list[CALLBACK_TYPE] = []
        self._unsubs: list[CALLBACK_TYPE] = []
        self._unsub_retry: CALLBACK_TYPE | None = None
        self._unsub_nightly: CALLBACK_TYPE | None = None
        self._running = False
        # The user said to replace a dataset this installation did not publish (Publish now).
        self._replace_existing = False
        self._generation = 0  # bumped by every trigger, to tell one arriving mid-publish
        self._stopped = False
        # Set once the saved state was read: only then may stopping write it back.
        self._loaded = False

    # ---- life cycle ----------------------------------------------------------------------

    async def async_load(self) -> None:
        """Load the saved state (maintenance, what waits), before the files are first rendered."""
        self.state = PublishState.from_stored(await self._store.async_load())
        self._loaded = True
        if self.settings is not None:
            key = self._target_key(self.settings)
            if self.state.target != key:
                # Another repository (or folder): what we published before says nothing there,
                # and it gets the dataset at once rather than tonight.
                self.state.target, self.state.published, self.state.sending = key, {}, []
                self.state.pending = True
            if self.state.problem == PROBLEM_EXISTING_DATA:
                # Looked at again (its repair issue does not outlive a restart): the data may
                # have been moved away meanwhile.
                self.state.problem = None
        latest = dt_util.utcnow().timestamp() + LONGEST_WAIT
        if self.state.retry_at is not None and self.state.retry_at > latest:
            self.state.retry_at = latest  # saved by a version that obeyed any wait

    @callback
    def async_start(self) -> None:
        """Arm the schedule once the files are rendered; the first check runs once HA started."""
        if self.settings is not None and self.state.problem == PROBLEM_AUTH:
            # The token GitHub refused is not sent again (that gets the account refused): ask
            # for a new one again, as the request before the restart did.
            self.entry.async_start_reauth(self.hass)
        if self.settings is not None and self.state.problem in ISSUE_OF_PROBLEM:
            # Its repair issue did not outlive the restart; the problem stands until a try
            # (up to an hour away) or the user ends it.
            self._raise_issue(self.state.problem)
        if self.settings is not None:
            self._schedule_nightly()
            if self.settings.interval_minutes:
                self._unsubs.append(
                    async_track_time_interval(
                        self.hass,
                        self._on_interval,
                        timedelta(minutes=self.settings.interval_minutes),
                        name="PowerStats publish interval",
                    )
                )
        self._unsubs.append(async_at_started(self.hass, self._on_started))
        self._unsubs.append(
            async_dispatcher_connect(self.hass, SIGNAL_VIEWS_WRITTEN, self._on_views_written)
        )

    async def async_stop(self) -> None:
        """Stop every timer and save the state (a pending publish resumes at the next start)."""
        self._stopped = True
        for unsub in (*self._unsubs, self._unsub_retry, self._unsub_nightly):
            if unsub is not None:
                unsub()
        self._unsubs.clear()
        self._unsub_retry = self._unsub_nightly = None
        if self._loaded:
            await self._async_save()

    @callback
    def async_add_listener(self, listener: CALLBACK_TYPE) -> CALLBACK_TYPE:
        """Be told when the state changes (entities); returns the remover."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    # ---- triggers ------------------------------------------------------------------------

    async def async_settings_checked(self) -> None:
        """GitHub just accepted the publishing settings (a flow checked them): a problem only
        the user could fix (the token, the repository, the permission, GitHub out of reach) is
        taken as fixed, so the next try does not wait for it. A rate limit stands: GitHub named
        that wait."""
        state = self.state
        if state.problem is None or state.problem == PROBLEM_RATE_LIMITED:
            return
        state.problem, state.retry_at, state.failures = None, None, 0
        if self._unsub_retry is not None:
            self._unsub_retry()
            self._unsub_retry = None
        self._drop_issues()
        await self._async_save()
        self._notify()

    @callback
    def async_try_now(self) -> None:
        """Publish what waits now, unless maintenance or a wait still holds it."""
        self._kick()

    @callback
    def async_request(self) -> None:
        """Publish now (new history merged in, say). Waits for maintenance or a backoff."""
        self._mark_pending()
        self._kick()

    @callback
    def async_publish_now(self, *, may_replace: bool) -> None:
        """The user asks to publish now (button, action): as `async_request`, and, from an
        administrator (`may_replace`), the go-ahead to replace a dataset in the folder that was
        not published from here, which PowerStats otherwise leaves alone (see
        `GitHubExistingDataError`). Any user may press the button: replacing history others
        read (Pages, the board, a restore) is an administrator's decision. A backoff does not
        hold it; what does (maintenance, a refused token, a rate limit) is raised as the
        caller's answer, the publish waiting for it."""
        if self.state.problem == PROBLEM_EXISTING_DATA:
            if not may_replace:
                assert self.settings is not None  # the problem is only ever of a target
                # The caller's refusal, not PowerStats' failure: HA answers it as a bad request.
                raise ServiceValidationError(
                    translation_domain=DOMAIN,
                    translation_key="replace_needs_admin",
                    translation_placeholders={"repository": self.settings.target.full_name},
                )
            self._replace_existing = True
            self.state.problem = None
            self._drop_issues()
            self._notify()
        elif self.state.problem != PROBLEM_RATE_LIMITED and self.state.retry_at is not None:
            # A backoff after a failure, or the hourly look at what only the user can fix:
            # someone pressing Publish now (the fix made on GitHub, say) wants that try now. One
            # try per press, never alongside another; a rate limit is GitHub's to lift.
            self.state.retry_at = None
        self.async_request()
        self._explain_hold()

    def _explain_hold(self) -> None:
        """Say why a publish asked for now does not go out now (it waits, and goes out then)."""
        state = self.state
        placeholders: dict[str, str] = {}
        if state.maintenance:
            key = "publish_paused"
        elif state.problem == PROBLEM_AUTH:
            key = "publish_needs_token"
        elif (
            state.problem == PROBLEM_RATE_LIMITED
            and state.retry_at is not None
            and state.retry_at > dt_util.utcnow().timestamp()
        ):
            until = dt_util.as_local(dt_util.utc_from_timestamp(state.retry_at))
            key, placeholders = "publish_rate_limited", {"time": until.strftime("%H:%M")}
        else:
            return
        raise ServiceValidationError(
            translation_domain=DOMAIN, translation_key=key, translation_placeholders=placeholders
        )

    async def async_set_maintenance(self, on: bool) -> None:
        """Hold publishing (changes wait) or release it (what waited is published)."""
        if self.state.maintenance == on:
            return
        self.state.maintenance = on
        await self._async_save()
        self._notify()
        if self._on_maintenance is not None:
            await self._on_maintenance(on)
        if not on:
            self._kick()  # what waited goes out now

    @property
    def enabled(self) -> bool:
        """Whether publishing to GitHub is set up."""
        return self.settings is not None

    @callback
    def _on_views_written(self, written: ViewsWritten) -> None:
        # The regular tick publishes on the schedule; merged-in history goes out at once.
        if written.history_changed and written.changed and self.enabled:
            self.async_request()

    @callback
    def _on_started(self, _hass: HomeAssistant) -> None:
        self._check_night()
        self._kick()

    @callback
    def _on_interval(self, _now: datetime) -> None:
        self._mark_pending()
        self._kick()

    @callback
    def _on_nightly(self, _now: datetime) -> None:
        self._unsub_nightly = None
        self._schedule_nightly()
        self._check_night()
        self._kick()

    @callback
    def _on_retry(self, _now: datetime) -> None:
        self._unsub_retry = None
        self._kick()

    def _schedule_nightly(self) -> None:
        if self.settings is None or self._stopped:
            return
        moment = next_nightly(dt_util.utcnow(), self.settings.nightly, self._tz)
        self._unsub_nightly = async_track_point_in_utc_time(self.hass, self._on_nightly, moment)

    @callback
    def _check_night(self) -> None:
        """Mark tonight's publish pending if it is due and not done (keyed by date)."""
        if self.settings is None:
            return
        now = dt_util.utcnow()
        last = date.fromisoformat(self.state.last_night) if self.state.last_night else None
        if last is not None and last > now.astimezone(self._tz).date():
            # Noted while the clock ran ahead (no clock battery, no network time yet) and put
            # right since: trusted, it would hold every nightly publish until that date.
            LOGGER.warning(
                "The last nightly publish is dated %s, after today; the clock was ahead then",
                last,
            )
            self.state.last_night = last = None
        night = due_night(now, self.settings.nightly, self._tz, last)
        if night is not None and self.state.pending_night != night.isoformat():
            self.state.pending_night = night.isoformat()
            self._mark_pending()

    @callback
    def _mark_pending(self) -> None:
        self._generation += 1
        if not self.state.pending:
            self.state.pending = True
            self.hass.async_create_task(self._async_save(), eager_start=True)
            self._notify()  # the Publish problem sensor shows what waits

    # ---- one attempt -----------------------------------------------------------------------

    @callback
    def _kick(self) -> None:
        """Start an attempt if one is pending and nothing says wait."""
        if (
            self.settings is None
            or self._stopped
            or not self.state.pending
            or self._running
            or self.state.maintenance
            or self.state.problem in HELD_BY
        ):
            return
        retry_at = self.state.retry_at
        if retry_at is not None and retry_at > dt_util.utcnow().timestamp():
            self._arm_retry(retry_at)
            return
        self._running = True
        self.entry.async_create_background_task(
            self.hass, self._async_attempt(), f"PowerStats publish {self.entry.title}"
        )

    async def _async_attempt(self) -> None:
        generation = self._generation
        try:
            result = await self._async_publish()
        except GitHubError as err:
            await self._async_failed(err)
        except PublishWithdrawnError:
            # Maintenance went on meanwhile: nothing landed, and everything still waits for it.
            LOGGER.info("Publishing to %s stopped for Maintenance before its commit", self._where)
        except Exception as err:  # a bug must not stop publishing for good
            LOGGER.exception("Publishing to %s failed unexpectedly", self._where)
            await self._async_failed(GitHubTransientError(type(err).__name__))
        else:
            await self._async_succeeded(result, generation)
        finally:
            self._running = False
        if self.state.pending and self.state.retry_at is None:
            self._kick()  # a trigger arrived during the publish

    async def _async_publish(self) -> PublishResult:
        settings = self.settings
        assert settings is not None
        if self._dashboard is None:
            self._dashboard = await self.hass.async_add_executor_job(
                read_dashboard, self._dashboard_dir, self._dashboard_skip
            )
        meters = self._meters()
        # Nightly publishing refreshes the repository once a day, not every 10 minutes.
        every = settings.interval_minutes * 60 if settings.interval_minutes else 86400
        files = published_files(self._rendered(), meters, self._dashboard, every)
        remove = stale_paths(self.state.published, files, {m.meter_id for m in meters})
        client = GitHubClient(
            async_get_clientsession(self.hass),
            settings.token,
            settings.target,
            write_interval=self.write_interval,
        )
        generated = _generated(files)
        message = f"Energy history as of {generated}" if generated else "Energy history"
        if not self.state.published and MANIFEST in files:
            manifest = git_blob_sha(files[MANIFEST])
            if manifest not in self.state.sending:
                self.state.sending = [*self.state.sending, manifest][-SENDING_KEPT:]
                await self._async_save()
        return await client.publish(
            files,
            message,
            previous=self.state.published or None,
            remove=remove,
            replace_existing=self._replace_existing,
            ours=self.state.sending,
            may_land=lambda: not self.state.maintenance,
        )

    async def _async_succeeded(self, result: PublishResult, generation: int) -> None:
        state = self.state
        had_problem = state.problem
        state.published, state.sending = dict(result.published), []
        state.last_publish = dt_util.utcnow().timestamp()
        if result.commit_sha is not None:
            state.last_commit_sha, state.last_commit_url = result.commit_sha, result.commit_url
        if state.pending_night is not None:
            state.last_night = max(state.pending_night, state.last_night or "")
            state.pending_night = None
        state.failures, state.retry_at, state.problem, state.missing = 0, None, None, None
        self._replace_existing = False
        if generation == self._generation:
            state.pending = False
        self._drop_issues()
        if had_problem:
            LOGGER.info("Publishing to %s works again", self._where)
        LOGGER.debug(
            "Published to %s: %s file(s) changed, %s request(s)",
            self._where,
            len(result.changed),
            result.requests,
        )
        await self._async_save()
        self._notify()

    async def _async_failed(self, err: GitHubError) -> None:
        state = self.state
        now = dt_util.utcnow().timestamp()
        state.failures += 1
        state.missing = err.missing if isinstance(err, GitHubPermissionError) else None
        if isinstance(err, GitHubAuthError):
            # Retrying bad credentials gets the account refused: stop and ask for a token.
            state.problem, state.retry_at = PROBLEM_AUTH, None
            LOGGER.warning("GitHub refused the token for %s; asking for a new one", self._where)
            self.entry.async_start_reauth(self.hass)
        elif isinstance(err, GitHubExistingDataError):
            # Held until the user restores from it or says to replace it (Publish now).
            state.problem, state.retry_at = PROBLEM_EXISTING_DATA, None
            LOGGER.warning("Not publishing to %s: %s; see Repairs", self._where, err)
            self._raise_issue(state.problem)
        elif (problem := _USER_FIXES.get(type(err))) is not None:
            state.problem = problem
            state.retry_at = now + USER_FIX_RETRY
            self._raise_issue(state.problem)
        else:
            wait = err.wait_seconds(now) if isinstance(err, GitHubRateLimitError) else None
            state.problem = PROBLEM_RATE_LIMITED if wait is not None else PROBLEM_UNREACHABLE
            state.retry_at = now + backoff_delay(state.failures, self._rng, wait)
        if state.problem not in HELD_BY:
            # Warn once when publishing starts failing; the retries after that are debug only.
            LOGGER.log(
                logging.WARNING if state.failures == 1 else logging.DEBUG,
                "Publishing to %s failed (%s); next try at %s",
                self._where,
                err,
                dt_util.as_local(dt_util.utc_from_timestamp(state.retry_at or now)).isoformat(),
            )
        await self._async_save()
        self._notify()
        if state.retry_at is not None:
            self._arm_retry(state.retry_at)

    def _raise_issue(self, problem: str) -> None:
        assert self.settings is not None
        issue = ISSUE_OF_PROBLEM[problem]
        # The one that stops publishing now: what GitHub refused before (a permission, say,
        # before a write got as far as the protected branch) is not what to fix any more.
        self._drop_issues(but=issue)
        ir.async_create_issue(
            self.hass,
            DOMAIN,
            publish_issue_id(issue, self.entry.entry_id),
            is_fixable=False,
            is_persistent=False,
            severity=ir.IssueSeverity.ERROR,
            translation_key=issue,
            translation_placeholders={
                "repository": self.settings.target.full_name,
                "branch": self.settings.target.branch,
                "missing": self.state.missing or "contents=write",
            },
        )

    def _drop_issues(self, *, but: str | None = None) -> None:
        for issue in PUBLISH_ISSUES:
            if issue != but:
                ir.async_delete_issue(
                    self.hass, DOMAIN, publish_issue_id(issue, self.entry.entry_id)
                )

    def _arm_retry(self, retry_at: float) -> None:
        if self._unsub_retry is not None:
            self._unsub_retry()
        self._unsub_retry = async_track_point_in_utc_time(
            self.hass, self._on_retry, dt_util.utc_from_timestamp(retry_at)
        )

    # ---- helpers -------------------------------------------------------------------------

    @property
    def _tz(self) -> tzinfo:
        return dt_util.get_default_time_zone()

    @property
    def _where(self) -> str:
        assert self.settings is not None
        return f"{self.settings.target.full_name}@{self.settings.target.branch}"

    @staticmethod
    def _target_key(settings: PublishSettings) -> str:
        # Which repository (and folder) `state.published` describes.
        t = settings.target
        return f"{t.api_url}|{t.full_name}|{t.branch}|{t.folder}"

    async def _async_save(self) -> None:
        await self._store.async_save(asdict(self.state))

    @callback
    def _notify(self) -> None:
        for listener in list(self._listeners):
            listener()

    def diagnostics(self) -> dict[str, Any]:
        """What the diagnostics download shows about publishing (no token)."""
        settings = self.settings
        return {
            "enabled": settings is not None,
            "repository": settings.target.full_name if settings else None,
            "branch": settings.target.branch if settings else None,
            "folder": settings.target.folder if settings else None,
            "api_url": settings.target.api_url if settings else None,
            "levels": sorted(settings.levels) if settings else [],
            "last_commit_url": self.state.last_commit_url,
            "last_commit_sha": self.state.last_commit_sha,
            "last_publish": self.state.last_publish,
            "last_night": self.state.last_night,
            "pending": self.state.pending,
            "maintenance": self.state.maintenance,
            "failures": self.state.failures,
            "retry_at": self.state.retry_at,
            "problem": self.state.problem,
            "published_files": len(self.state.published),
        }


def read_dashboard(folder: Path | None, skip: frozenset[str] = frozenset()) -> dict[str, bytes]:
    """The dashboard's files by relative path (executor only).

    Hidden files are left out, and so are the files in `skip` with their .gz/.br siblings.
    """
    if folder is None or not folder.is_dir():
        return {}
    files: dict[str, bytes] = {}
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder).as_posix()
        hidden = any(part.startswith(".") for part in relative.split("/"))
        if path.is_file() and not hidden and _compressed_from(relative) not in skip:
            files[relative] = path.read_bytes()
    return files


def _compressed_from(relative: str) -> str:
    """The file a precompressed sibling was made from; any other file is its own."""
    for suffix in (".gz", ".br"):
        if relative.endswith(suffix):
            return relative.removesuffix(suffix)
    return relative


def _iso_date(value: str | None) -> str | None:
    """`value` if it is an ISO date, else None."""
    try:
        return None if value is None else date.fromisoformat(value).isoformat()
    except ValueError:
        return None


def _generated(files: Mapping[str, bytes]) -> str | None:
    try:
        value = json.loads(files.get(MANIFEST, b"{}")).get("generated")
    except ValueError:
        return None
    return value if isinstance(value, str) else None


def publish_store(hass: HomeAssistant, entry_id: str) -> Store[dict[str, Any]]:
    """The store of the publisher's state."""
    return Store(hass, PUBLISH_STORAGE_VERSION, publish_store_key(entry_id), atomic_writes=True)


# The dashboard as packaged into the integration; in a development checkout, its source.

_SOURCE: Final = Path(__file__).parents[2] / "www"


def dashboard_dir() -> Path | None:
    """The folder whose files are published as the dashboard (executor: touches the disk)."""
    for folder in (FRONTEND_DIR, _SOURCE):
        if (folder / "index.html").is_file():
            return folder
    return None
