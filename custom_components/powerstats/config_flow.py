"""Config flow for PowerStats."""

from __future__ import annotations

from typing import Any

from homeassistant.config_entries import ConfigFlow, ConfigFlowResult

from .const import DOMAIN


class PowerStatsConfigFlow(ConfigFlow, domain=DOMAIN):
    """Add a meter from the UI."""

    VERSION = 1

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Ask for the meter's source sensor."""
        return self.async_show_form(step_id="user")
