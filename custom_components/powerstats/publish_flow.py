"""The publishing steps of the config, options and reauth flows.

The meter's own flow (config_flow.py) inherits these steps: after its own form it hands over to
`async_step_github` with what it collected, and this step finishes the entry.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from homeassistant.config_entries import ConfigFlow, ConfigFlowResult, OptionsFlow

from .publish_settings import (
    CONF_GITHUB_TOKEN,
    ERR_TOKEN_REQUIRED,
    GITHUB_KEYS,
    PublishSettings,
    async_check_access,
    async_validate,
    github_schema,
    reauth_schema,
)


def _without_github(options: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in options.items() if k not in GITHUB_KEYS}


class PublishConfigFlowSteps(ConfigFlow):
    """The optional publishing step when a meter is added, and reauth with a new token."""

    _meter_title: str
    _meter_data: dict[str, Any]
    _meter_options: dict[str, Any]

    def _async_continue_with_publishing(
        self, title: str, data: dict[str, Any], options: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Called by the meter's step once the meter itself is valid."""
        self._meter_title, self._meter_data = title, data
        self._meter_options = _without_github(options or {})
        return self.async_show_form(step_id="github", data_schema=github_schema({}))

    async def async_step_github(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Publishing to GitHub (optional: an empty repository skips it)."""
        errors: dict[str, str] = {}
        if user_input is not None:
            options, errors = await async_validate(self.hass, user_input, {})
            if not errors:
                return self.async_create_entry(
                    title=self._meter_title,
                    data=self._meter_data,
                    options={**self._meter_options, **options},
                )
        return self.async_show_form(
            step_id="github",
            data_schema=github_schema(_no_token(user_input)),
            errors=errors,
        )

    async def async_step_reauth(self, entry_data: Mapping[str, Any]) -> ConfigFlowResult:
        """GitHub refused the token."""
        return await self.async_step_reauth_confirm()

    async def async_step_reauth_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for a new token and check it against the same repository."""
        entry = self._get_reauth_entry()
        errors: dict[str, str] = {}
        settings = PublishSettings.from_options(entry.options)
        if user_input is not None:
            token = str(user_input.get(CONF_GITHUB_TOKEN) or "").strip()
            if not token:
                errors[CONF_GITHUB_TOKEN] = ERR_TOKEN_REQUIRED
            elif settings is not None:
                error = await async_check_access(self.hass, token, settings.target)
                if error is not None:
                    errors["base"] = error
            if not errors:
                return self.async_update_reload_and_abort(
                    entry, options={**entry.options, CONF_GITHUB_TOKEN: token}
                )
        return self.async_show_form(
            step_id="reauth_confirm",
            data_schema=reauth_schema(),
            errors=errors,
            description_placeholders={
                "repository": settings.target.full_name if settings else "",
                "meter": entry.title,
            },
        )


class PublishOptionsSteps(OptionsFlow):
    """The publishing step of the options flow, after the meter's own options."""

    _meter_options: dict[str, Any]

    def _async_continue_with_publishing(self, meter_options: dict[str, Any]) -> ConfigFlowResult:
        """Called by the meter's options step with its (valid) options."""
        self._meter_options = _without_github(meter_options)
        return self.async_show_form(
            step_id="github", data_schema=github_schema(self._github_defaults())
        )

    def _github_defaults(self) -> dict[str, Any]:
        options = self.config_entry.options
        return {k: options[k] for k in GITHUB_KEYS if k in options and k != CONF_GITHUB_TOKEN}

    async def async_step_github(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Publishing to GitHub: leave the token empty to keep it, the repository to stop."""
        errors: dict[str, str] = {}
        if user_input is not None:
            current = self.config_entry.options
            options, errors = await async_validate(self.hass, user_input, current)
            if not errors:
                return self.async_create_entry(data={**self._meter_options, **options})
        return self.async_show_form(
            step_id="github",
            data_schema=github_schema({**self._github_defaults(), **_no_token(user_input)}),
            errors=errors,
        )


def _no_token(user_input: Mapping[str, Any] | None) -> dict[str, Any]:
    """A form shown again never carries the token back to the browser."""
    return {k: v for k, v in (user_input or {}).items() if k != CONF_GITHUB_TOKEN}
