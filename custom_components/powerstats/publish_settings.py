"""Publishing settings: the form fields, their validation against GitHub, and the parsed result.

The config flow's optional publishing step, the options flow and the reauth step all use these,
so the fields, defaults and error keys live in one place. The token is kept in the entry's data
(redacted from diagnostics, never logged, never shown in a form again); repository, branch,
folder, API URL, levels and schedule in its options.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import time
from typing import Any, Final

import voluptuous as vol
from homeassistant.core import HomeAssistant
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.selector import (
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    SelectSelector,
    SelectSelectorConfig,
    TextSelector,
    TextSelectorConfig,
    TextSelectorType,
    TimeSelector,
)

from .core.github import (
    DEFAULT_API_URL,
    GitHubAuthError,
    GitHubClient,
    GitHubError,
    GitHubNotFoundError,
    GitHubPermissionError,
    GitHubSSOError,
    InvalidTargetError,
    Target,
    valid_token,
)
from .core.views import LEVELS

CONF_GITHUB_TOKEN: Final = "github_token"  # noqa: S105 - a field name
CONF_GITHUB_REPOSITORY: Final = "github_repository"
CONF_GITHUB_BRANCH: Final = "github_branch"
CONF_GITHUB_PATH: Final = "github_path"
CONF_GITHUB_API_URL: Final = "github_api_url"
CONF_PUBLISH_LEVELS: Final = "publish_levels"
CONF_PUBLISH_TIME: Final = "publish_time"
CONF_PUBLISH_INTERVAL: Final = "publish_interval"  # minutes; 0 = nightly only

# The publishing options (the token is in the entry's data).
PUBLISH_OPTION_KEYS: Final = (
    CONF_GITHUB_REPOSITORY,
    CONF_GITHUB_BRANCH,
    CONF_GITHUB_PATH,
    CONF_GITHUB_API_URL,
    CONF_PUBLISH_LEVELS,
    CONF_PUBLISH_TIME,
    CONF_PUBLISH_INTERVAL,
)
# Daily and weekly reveal when someone is home: they leave the house only when chosen.
DEFAULT_LEVELS: Final = ("monthly", "yearly")
DEFAULT_TIME: Final = "00:05:00"
MIN_INTERVAL: Final = 10  # minutes; GitHub Pages builds about 10 times an hour at most
MAX_INTERVAL: Final = 1440
# GitHub refuses a ref longer than 255 bytes ("GH005: Sorry, refs longer than 255 bytes are not
# allowed"), and the ref is "refs/heads/" (11 bytes) and the branch. Git itself names no limit,
# so only GitHub's counts; bytes of UTF-8, as GitHub counts them.
MAX_BRANCH_BYTES: Final = 255 - len("refs/heads/")

# Errors shown in the form (keys in strings.json: config/options error).
ERR_INVALID_AUTH: Final = "invalid_auth"
ERR_NOT_FOUND: Final = "repository_not_found"
ERR_NO_PUSH: Final = "no_push_permission"
ERR_SSO_REQUIRED: Final = "sso_required"
ERR_CANNOT_CONNECT: Final = "cannot_connect"
ERR_TOKEN_REQUIRED: Final = "token_required"  # noqa: S105 - an error key
ERR_TOKEN_MALFORMED: Final = "token_malformed"  # noqa: S105 - an error key
ERR_INTERVAL: Final = "interval_too_short"
ERR_INTERVAL_INVALID: Final = "interval_invalid"
ERR_BRANCH_TOO_LONG: Final = "branch_too_long"
_TARGET_FIELDS: Final = {
    "repository": CONF_GITHUB_REPOSITORY,
    "branch": CONF_GITHUB_BRANCH,
    "folder": CONF_GITHUB_PATH,
    "api_url": CONF_GITHUB_API_URL,
}


@dataclass(frozen=True)
class PublishSettings:
    """Parsed publishing settings of one config entry."""

    token: str = field(repr=False)  # out of every repr, log line and traceback
    target: Target
    levels: frozenset[str]
    nightly: time
    interval_minutes: int | None

    @classmethod
    def from_entry(
        cls, data: Mapping[str, Any], options: Mapping[str, Any]
    ) -> PublishSettings | None:
        """The entry's publishing settings, or None when publishing is not set up."""
        token = data.get(CONF_GITHUB_TOKEN)
        repository = options.get(CONF_GITHUB_REPOSITORY)
        if not token or not repository:
            return None
        try:
            target = _target(options)
            nightly = time.fromisoformat(str(options.get(CONF_PUBLISH_TIME, DEFAULT_TIME)))
        except ValueError:
            return None
        interval = _interval(options.get(CONF_PUBLISH_INTERVAL)) or 0
        levels = frozenset(options.get(CONF_PUBLISH_LEVELS, DEFAULT_LEVELS))
        return cls(
            token=str(token),
            target=target,
            levels=levels & frozenset(LEVELS),
            nightly=nightly,
            interval_minutes=interval if interval >= MIN_INTERVAL else None,
        )


def publish_target(options: Mapping[str, Any]) -> Target | None:
    """Where the entry's options publish to, or None when publishing is not set up."""
    if not options.get(CONF_GITHUB_REPOSITORY):
        return None
    try:
        return _target(options)
    except InvalidTargetError:
        return None


def _target(values: Mapping[str, Any]) -> Target:
    return Target.parse(
        str(values.get(CONF_GITHUB_REPOSITORY, "")),
        str(values.get(CONF_GITHUB_BRANCH) or "main"),
        str(values.get(CONF_GITHUB_PATH) or ""),
        str(values.get(CONF_GITHUB_API_URL) or DEFAULT_API_URL),
    )


def github_schema(defaults: Mapping[str, Any]) -> vol.Schema:
    """The publishing form. The token is never shown back: leaving it empty keeps the old one.

    Current values are suggested, not defaults: a field the user clears arrives missing, and a
    default would put the old value back where the user sees an empty field.
    """

    def suggested(key: str, fallback: Any) -> dict[str, Any]:
        return {"suggested_value": defaults.get(key, fallback)}

    return vol.Schema(
        {
            vol.Optional(CONF_GITHUB_TOKEN): TextSelector(
                TextSelectorConfig(type=TextSelectorType.PASSWORD, autocomplete="off")
            ),
            vol.Optional(
                CONF_GITHUB_REPOSITORY, description=suggested(CONF_GITHUB_REPOSITORY, "")
            ): TextSelector(),
            vol.Optional(
                CONF_GITHUB_BRANCH, description=suggested(CONF_GITHUB_BRANCH, "main")
            ): TextSelector(),
            vol.Optional(
                CONF_GITHUB_PATH, description=suggested(CONF_GITHUB_PATH, "")
            ): TextSelector(),
            vol.Optional(
                CONF_GITHUB_API_URL, description=suggested(CONF_GITHUB_API_URL, DEFAULT_API_URL)
            ): TextSelector(TextSelectorConfig(type=TextSelectorType.URL)),
            vol.Optional(
                CONF_PUBLISH_LEVELS,
                default=list(defaults.get(CONF_PUBLISH_LEVELS, DEFAULT_LEVELS)),
            ): SelectSelector(
                SelectSelectorConfig(
                    options=list(LEVELS),
                    multiple=True,
                    translation_key=CONF_PUBLISH_LEVELS,
                )
            ),
            vol.Optional(
                CONF_PUBLISH_TIME, default=defaults.get(CONF_PUBLISH_TIME, DEFAULT_TIME)
            ): TimeSelector(),
            vol.Optional(
                CONF_PUBLISH_INTERVAL, description=suggested(CONF_PUBLISH_INTERVAL, 0)
            ): NumberSelector(
                NumberSelectorConfig(
                    min=0,
                    max=MAX_INTERVAL,
                    step=1,
                    mode=NumberSelectorMode.BOX,
                    unit_of_measurement="min",
                )
            ),
        }
    )


def reauth_schema() -> vol.Schema:
    """The reauth form: only a new token."""
    return vol.Schema(
        {
            vol.Required(CONF_GITHUB_TOKEN): TextSelector(
                TextSelectorConfig(type=TextSelectorType.PASSWORD, autocomplete="off")
            )
        }
    )


@dataclass(frozen=True)
class Validated:
    """The publishing form checked: the options and token to store, or errors by field."""

    options: dict[str, Any]
    token: str | None
    errors: dict[str, str]


async def async_validate(
    hass: HomeAssistant,
    user_input: Mapping[str, Any],
    current_options: Mapping[str, Any],
    current_token: str | None,
) -> Validated:
    """Check the form against GitHub.

    An empty repository turns publishing off (no request is made, no token is kept). An empty
    token field keeps the stored token, but only for the same API URL: a token is never sent
    to another host than the one it was given for, so a new API URL needs a new token.
    """
    repository = str(user_input.get(CONF_GITHUB_REPOSITORY) or "").strip()
    if not repository:
        return Validated({}, None, {})
    interval = _interval(user_input.get(CONF_PUBLISH_INTERVAL))
    options: dict[str, Any] = {
        CONF_GITHUB_REPOSITORY: repository,
        CONF_GITHUB_BRANCH: str(user_input.get(CONF_GITHUB_BRANCH) or "main").strip(),
        CONF_GITHUB_PATH: str(user_input.get(CONF_GITHUB_PATH) or "").strip().strip("/"),
        CONF_GITHUB_API_URL: _api_url(user_input),
        CONF_PUBLISH_LEVELS: [
            level
            for level in LEVELS
            if level in user_input.get(CONF_PUBLISH_LEVELS, DEFAULT_LEVELS)
        ],
        CONF_PUBLISH_TIME: str(user_input.get(CONF_PUBLISH_TIME) or DEFAULT_TIME),
        CONF_PUBLISH_INTERVAL: interval or 0,
    }
    token = str(user_input.get(CONF_GITHUB_TOKEN) or "").strip() or None
    if token is None and options[CONF_GITHUB_API_URL] == _api_url(current_options):
        token = current_token or None
    errors: dict[str, str] = {}
    if (token_problem := token_error(token)) is not None:
        errors[CONF_GITHUB_TOKEN] = token_problem
    if interval is None:
        errors[CONF_PUBLISH_INTERVAL] = ERR_INTERVAL_INVALID
    elif 0 < interval < MIN_INTERVAL:
        errors[CONF_PUBLISH_INTERVAL] = ERR_INTERVAL
    if (branch_problem := _branch_error(options[CONF_GITHUB_BRANCH])) is not None:
        errors[CONF_GITHUB_BRANCH] = branch_problem
    try:
        target = _target(options)
    except InvalidTargetError as err:
        errors[_TARGET_FIELDS[err.field_name]] = f"invalid_{err.field_name}"
        return Validated(options, token, errors)
    if errors or token is None:
        return Validated(options, token, errors)
    error = await async_check_access(hass, token, target)
    if error is not None:
        errors["base"] = error
    return Validated(options, token, errors)


def _interval(value: Any) -> int | None:
    """The interval in whole minutes, or None for one that is no number from 0 to MAX_INTERVAL.

    The number selector lets "nan" through (no comparison with its bounds is true), and a
    caller of the flow's API sends what it likes.
    """
    try:
        minutes = float(value or 0)
    except (TypeError, ValueError):
        return None
    if not math.isfinite(minutes) or not 0 <= minutes <= MAX_INTERVAL:
        return None
    return int(minutes)


def _branch_error(branch: str) -> str | None:
    """The form error of a branch too long for GitHub (the rest, a lone surrogate too, is
    checked by Target.parse, whose error wins)."""
    size = len(branch.encode(errors="surrogatepass"))
    return ERR_BRANCH_TOO_LONG if size > MAX_BRANCH_BYTES else None


def token_error(token: str | None) -> str | None:
    """The form error of a pasted token (already stripped), or None when it may be tried."""
    if not token:
        return ERR_TOKEN_REQUIRED
    # A space or line break inside (a token copied with its neighbours) would break the header.
    return None if valid_token(token) else ERR_TOKEN_MALFORMED


def _api_url(values: Mapping[str, Any]) -> str:
    return str(values.get(CONF_GITHUB_API_URL) or DEFAULT_API_URL).strip().rstrip("/")


async def async_check_access(hass: HomeAssistant, token: str, target: Target) -> str | None:
    """The form error for this token and repository, or None when it may publish."""
    client = GitHubClient(async_get_clientsession(hass), token, target)
    try:
        access = await client.check_access()
    except GitHubAuthError:
        return ERR_INVALID_AUTH
    except GitHubNotFoundError:
        return ERR_NOT_FOUND
    except GitHubSSOError:
        return ERR_SSO_REQUIRED
    except GitHubPermissionError:
        return ERR_NO_PUSH
    except GitHubError:
        return ERR_CANNOT_CONNECT
    return None if access.can_push else ERR_NO_PUSH
