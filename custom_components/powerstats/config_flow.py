"""Config flow: add a meter from a power or energy sensor; options for price and files."""

from __future__ import annotations

from typing import Any

import voluptuous as vol
from homeassistant.components.sensor import DOMAIN as SENSOR_DOMAIN
from homeassistant.config_entries import ConfigEntry, ConfigFlowResult, OptionsFlow
from homeassistant.const import ATTR_UNIT_OF_MEASUREMENT, CONF_ENTITY_ID, CONF_NAME
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import selector
from homeassistant.util import slugify

from .const import (
    CONF_BACKFILL,
    CONF_KIND,
    CONF_LEVELS,
    CONF_METER_ID,
    CONF_PRICE,
    CONF_PRICE_ENTITY,
    CONF_PRICE_MODE,
    DOMAIN,
    PRICE_ENTITY,
    PRICE_FIXED,
    PRICE_MODES,
    PRICE_NONE,
)
from .meter import Kind, kind_of_unit, parse_price, parse_reading
from .publish_flow import PublishConfigFlowSteps, PublishOptionsSteps
from .views import LEVELS

MAX_METER_ID = 32


def _validate_source(hass: HomeAssistant, entity_id: str) -> tuple[Kind | None, str | None]:
    """The kind of meter an entity can be, or the error key explaining why it cannot."""
    state = hass.states.get(entity_id)
    if state is None:
        return None, "entity_not_found"
    kind = kind_of_unit(state.attributes.get(ATTR_UNIT_OF_MEASUREMENT))
    if kind is None:
        return None, "unsupported_unit"
    if parse_reading(state.state, state.attributes.get(ATTR_UNIT_OF_MEASUREMENT), kind) is None:
        return None, "not_numeric"
    return kind, None


def _validate_meter(
    hass: HomeAssistant, user_input: dict[str, Any]
) -> tuple[str, Kind | None, dict[str, str]]:
    """The meter form's answers checked: (trimmed name, kind, errors by field)."""
    name = user_input[CONF_NAME].strip()
    kind, error = _validate_source(hass, user_input[CONF_ENTITY_ID])
    if not name:
        return name, kind, {CONF_NAME: "name_required"}
    if error is not None or kind is None:
        return name, kind, {CONF_ENTITY_ID: error or "unsupported_unit"}
    return name, kind, {}


def _meter_id(name: str, taken: set[str]) -> str:
    """A unique slug of the name, `[a-z0-9_-]{1,32}`."""
    base = slugify(name)[:MAX_METER_ID].strip("_") or "meter"
    candidate, n = base, 2
    while candidate in taken:
        suffix = f"_{n}"
        candidate = base[: MAX_METER_ID - len(suffix)] + suffix
        n += 1
    return candidate


def _source_schema(defaults: dict[str, Any]) -> vol.Schema:
    return vol.Schema(
        {
            vol.Required(CONF_ENTITY_ID, default=defaults.get(CONF_ENTITY_ID, vol.UNDEFINED)): (
                selector.EntitySelector(selector.EntitySelectorConfig(domain=SENSOR_DOMAIN))
            ),
            vol.Required(CONF_NAME, default=defaults.get(CONF_NAME, vol.UNDEFINED)): (
                selector.TextSelector()
            ),
        }
    )


class PowerStatsConfigFlow(PublishConfigFlowSteps, domain=DOMAIN):
    """Add a meter from the UI."""

    VERSION = 1
    MINOR_VERSION = 1

    @staticmethod
    @callback
    def async_get_options_flow(config_entry: ConfigEntry[Any]) -> OptionsFlow:
        """The options flow of a meter."""
        return PowerStatsOptionsFlow()

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Ask for the meter's source sensor and a name."""
        errors: dict[str, str] = {}
        if user_input is not None:
            entity_id = user_input[CONF_ENTITY_ID]
            self._async_abort_entries_match({CONF_ENTITY_ID: entity_id})
            name, kind, errors = _validate_meter(self.hass, user_input)
            if kind is not None and not errors:
                taken = {e.data.get(CONF_METER_ID) for e in self._async_current_entries()}
                meter_id = _meter_id(name, {t for t in taken if t})
                await self.async_set_unique_id(meter_id)
                # Next, the optional publishing step creates the entry.
                return self._async_continue_with_publishing(
                    name,
                    {
                        CONF_ENTITY_ID: entity_id,
                        CONF_NAME: name,
                        CONF_METER_ID: meter_id,
                        CONF_KIND: kind.value,
                    },
                    {CONF_BACKFILL: user_input.get(CONF_BACKFILL, True)},
                )
        schema = _source_schema(user_input or {}).extend(
            {vol.Optional(CONF_BACKFILL, default=True): selector.BooleanSelector()}
        )
        return self.async_show_form(step_id="user", data_schema=schema, errors=errors)

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Point the meter at another sensor or rename it; its id and history stay."""
        entry = self._get_reconfigure_entry()
        errors: dict[str, str] = {}
        if user_input is not None:
            entity_id = user_input[CONF_ENTITY_ID]
            for other in self._async_current_entries():
                if other.entry_id != entry.entry_id and other.data[CONF_ENTITY_ID] == entity_id:
                    return self.async_abort(reason="already_configured")
            name, kind, errors = _validate_meter(self.hass, user_input)
            if kind is not None and not errors:
                return self.async_update_reload_and_abort(
                    entry,
                    title=name,
                    data_updates={
                        CONF_ENTITY_ID: entity_id,
                        CONF_NAME: name,
                        CONF_KIND: kind.value,
                    },
                )
        return self.async_show_form(
            step_id="reconfigure",
            data_schema=_source_schema(user_input or dict(entry.data)),
            errors=errors,
        )


class PowerStatsOptionsFlow(PublishOptionsSteps):
    """Price and which files are written."""

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """One form with every tunable."""
        errors: dict[str, str] = {}
        if user_input is not None:
            mode = user_input[CONF_PRICE_MODE]
            if mode == PRICE_FIXED and user_input.get(CONF_PRICE) is None:
                errors[CONF_PRICE] = "price_required"
            elif mode == PRICE_ENTITY:
                price_entity = user_input.get(CONF_PRICE_ENTITY)
                state = self.hass.states.get(price_entity) if price_entity else None
                if not price_entity:
                    errors[CONF_PRICE_ENTITY] = "price_entity_required"
                elif state is None:
                    errors[CONF_PRICE_ENTITY] = "entity_not_found"
                elif parse_price(state.state) is None:
                    errors[CONF_PRICE_ENTITY] = "not_numeric"
            if not user_input.get(CONF_LEVELS):
                errors[CONF_LEVELS] = "levels_required"
            if not errors:
                # Next, the publishing step stores these options together with its own.
                return self._async_continue_with_publishing(user_input)
        current = user_input or dict(self.config_entry.options)
        schema = vol.Schema(
            {
                vol.Required(
                    CONF_PRICE_MODE, default=current.get(CONF_PRICE_MODE, PRICE_NONE)
                ): selector.SelectSelector(
                    selector.SelectSelectorConfig(
                        options=list(PRICE_MODES),
                        translation_key=CONF_PRICE_MODE,
                        mode=selector.SelectSelectorMode.LIST,
                    )
                ),
                vol.Optional(
                    CONF_PRICE,
                    description={"suggested_value": current.get(CONF_PRICE)},
                ): selector.NumberSelector(
                    selector.NumberSelectorConfig(
                        min=0, max=100, step="any", mode=selector.NumberSelectorMode.BOX
                    )
                ),
                vol.Optional(
                    CONF_PRICE_ENTITY,
                    description={"suggested_value": current.get(CONF_PRICE_ENTITY)},
                ): selector.EntitySelector(),
                vol.Required(
                    CONF_LEVELS, default=list(current.get(CONF_LEVELS, LEVELS))
                ): selector.SelectSelector(
                    selector.SelectSelectorConfig(
                        options=list(LEVELS), translation_key=CONF_LEVELS, multiple=True
                    )
                ),
            }
        )
        return self.async_show_form(step_id="init", data_schema=schema, errors=errors)
