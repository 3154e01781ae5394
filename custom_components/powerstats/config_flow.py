"""Every flow of PowerStats: set up the dataset, add and change meters, publishing, reauth.

- The config flow (one PowerStats entry: `single_config_entry`) asks for the first meter, then
  for publishing (optional), and creates the entry with that meter as its first subentry.
- The `meter` subentry flow adds a meter (sensor and name, then price, files and backfill)
  and reconfigures one. It never asks about GitHub.
- The options flow changes publishing; reauth asks for a new token when GitHub refused it.

Flows only update the entry or its subentries; the entry's update listener reloads it.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Mapping
from typing import Any

import voluptuous as vol
from homeassistant.components.sensor import DOMAIN as SENSOR_DOMAIN
from homeassistant.config_entries import (
    SOURCE_RECONFIGURE,
    ConfigEntry,
    ConfigEntryState,
    ConfigFlow,
    ConfigFlowResult,
    ConfigSubentryFlow,
    OptionsFlow,
    SubentryFlowResult,
)
from homeassistant.const import (
    ATTR_UNIT_OF_MEASUREMENT,
    CONF_ENTITY_ID,
    CONF_NAME,
    STATE_UNAVAILABLE,
    STATE_UNKNOWN,
)
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
    SUBENTRY_METER,
    TITLE,
)
from .core.accounting import (
    MAX_PRICE,
    Kind,
    kind_of_unit,
    other_currency,
    parse_price,
    parse_reading,
    price_unit,
)
from .core.views import LEVELS, MAX_NAME_LENGTH
from .publish_settings import (
    CONF_GITHUB_TOKEN,
    PUBLISH_OPTION_KEYS,
    async_check_access,
    async_validate,
    github_schema,
    publish_target,
    reauth_schema,
    token_error,
)

MAX_METER_ID = 32
# A meter's settings besides its sensor and name (the `settings` step).
SETTING_KEYS = (CONF_PRICE_MODE, CONF_PRICE, CONF_PRICE_ENTITY, CONF_LEVELS)


# -- the meter's forms ----------------------------------------------------------------------------


def _validate_source(hass: HomeAssistant, entity_id: str) -> tuple[Kind | None, str | None]:
    """The kind of meter an entity can be, or the error key explaining why it cannot."""
    state = hass.states.get(entity_id)
    if state is None:
        return None, "entity_not_found"
    kind = kind_of_unit(state.attributes.get(ATTR_UNIT_OF_MEASUREMENT))
    if kind is None:
        return None, "unsupported_unit"
    # An offline sensor (solar at night) is a meter all the same: covered once it reports.
    offline = state.state in (STATE_UNAVAILABLE, STATE_UNKNOWN)
    if (
        not offline
        and parse_reading(state.state, state.attributes.get(ATTR_UNIT_OF_MEASUREMENT), kind) is None
    ):
        return None, "not_numeric"
    return kind, None


def _name_error(name: str) -> str | None:
    """The error key of a (trimmed) meter name, or None when the files and the device may
    carry it."""
    categories = [unicodedata.category(c) for c in name]
    # Spaces, zero-width and other format characters alone show as a blank name.
    if all(c[0] == "Z" or c == "Cf" for c in categories):
        return "name_required"
    # A line break or tab (an API call, a paste) would split the name on the dashboard; a lone
    # surrogate cannot even be written to the files as UTF-8.
    if any(c in ("Cc", "Cs") for c in categories):
        return "name_invalid"
    return None


def _validate_meter(
    hass: HomeAssistant, user_input: Mapping[str, Any], taken_sources: set[str]
) -> tuple[str, Kind | None, dict[str, str]]:
    """The meter form's answers checked: (trimmed name, kind, errors by field)."""
    name = user_input[CONF_NAME].strip()
    if user_input[CONF_ENTITY_ID] in taken_sources:
        return name, None, {CONF_ENTITY_ID: "already_metered"}
    kind, error = _validate_source(hass, user_input[CONF_ENTITY_ID])
    if (name_error := _name_error(name)) is not None:
        return name, kind, {CONF_NAME: name_error}
    if len(name) > MAX_NAME_LENGTH:
        return name, kind, {CONF_NAME: "name_too_long"}
    if error is not None or kind is None:
        return name, kind, {CONF_ENTITY_ID: error or "unsupported_unit"}
    return name, kind, {}


def _validate_settings(hass: HomeAssistant, user_input: Mapping[str, Any]) -> dict[str, str]:
    """The settings form's errors by field."""
    errors: dict[str, str] = {}
    mode = user_input[CONF_PRICE_MODE]
    price = user_input.get(CONF_PRICE)
    # The number box lets "nan" through its bounds (no comparison with NaN holds).
    if mode == PRICE_FIXED and (price is None or not math.isfinite(price)):
        errors[CONF_PRICE] = "price_required"
    elif mode == PRICE_ENTITY:
        price_entity = user_input.get(CONF_PRICE_ENTITY)
        state = hass.states.get(price_entity) if price_entity else None
        if not price_entity:
            errors[CONF_PRICE_ENTITY] = "price_entity_required"
        elif state is None:
            errors[CONF_PRICE_ENTITY] = "entity_not_found"
        elif (read := price_unit(state.attributes.get(ATTR_UNIT_OF_MEASUREMENT))) is None:
            errors[CONF_PRICE_ENTITY] = "price_unit"
        elif other_currency(read[1], hass.config.currency):
            errors[CONF_PRICE_ENTITY] = "price_currency"
        elif parse_price(state.state) is None:
            errors[CONF_PRICE_ENTITY] = "price_not_numeric"
    if not user_input.get(CONF_LEVELS):
        errors[CONF_LEVELS] = "levels_required"
    return errors


def meter_id_for(name: str, taken: set[str]) -> str:
    """A unique slug of the name, `[a-z0-9_-]{1,32}`: the meter's folder, fixed for good."""
    base = slugify(name)[:MAX_METER_ID].strip("_") or "meter"
    candidate, n = base, 2
    while candidate in taken:
        suffix = f"_{n}"
        candidate = base[: MAX_METER_ID - len(suffix)] + suffix
        n += 1
    return candidate


def _source_schema(defaults: Mapping[str, Any], *, with_backfill: bool) -> vol.Schema:
    schema = vol.Schema(
        {
            vol.Required(CONF_ENTITY_ID, default=defaults.get(CONF_ENTITY_ID, vol.UNDEFINED)): (
                selector.EntitySelector(selector.EntitySelectorConfig(domain=SENSOR_DOMAIN))
            ),
            vol.Required(CONF_NAME, default=defaults.get(CONF_NAME, vol.UNDEFINED)): (
                selector.TextSelector()
            ),
        }
    )
    if with_backfill:
        schema = schema.extend(
            {
                vol.Optional(
                    CONF_BACKFILL, default=defaults.get(CONF_BACKFILL, True)
                ): selector.BooleanSelector()
            }
        )
    return schema


def _settings_schema(current: Mapping[str, Any]) -> vol.Schema:
    return vol.Schema(
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
                CONF_PRICE, description={"suggested_value": current.get(CONF_PRICE)}
            ): selector.NumberSelector(
                selector.NumberSelectorConfig(
                    min=0, max=MAX_PRICE, step="any", mode=selector.NumberSelectorMode.BOX
                )
            ),
            vol.Optional(
                CONF_PRICE_ENTITY, description={"suggested_value": current.get(CONF_PRICE_ENTITY)}
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


def _meter_data(name: str, entity_id: str, kind: Kind, meter_id: str) -> dict[str, Any]:
    return {
        CONF_ENTITY_ID: entity_id,
        CONF_NAME: name,
        CONF_METER_ID: meter_id,
        CONF_KIND: kind.value,
    }


def _no_token(user_input: Mapping[str, Any] | None) -> dict[str, Any]:
    """A form shown again never carries the token back to the browser."""
    return {k: v for k, v in (user_input or {}).items() if k != CONF_GITHUB_TOKEN}


# -- the dataset ----------------------------------------------------------------------------------


class PowerStatsConfigFlow(ConfigFlow, domain=DOMAIN):
    """Set up PowerStats with its first meter (a second PowerStats aborts: one dataset)."""

    VERSION = 1
    MINOR_VERSION = 1

    _first_meter: dict[str, Any]

    @staticmethod
    @callback
    def async_get_options_flow(config_entry: ConfigEntry[Any]) -> OptionsFlow:
        """Publishing settings."""
        return PublishingOptionsFlow()

    @classmethod
    @callback
    def async_get_supported_subentry_types(
        cls, config_entry: ConfigEntry[Any]
    ) -> dict[str, type[ConfigSubentryFlow]]:
        """Meters are added, changed and removed as subentries."""
        return {SUBENTRY_METER: MeterSubentryFlow}

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Ask for the first meter's source sensor and a name."""
        errors: dict[str, str] = {}
        if user_input is not None:
            name, kind, errors = _validate_meter(self.hass, user_input, set())
            if kind is not None and not errors:
                self._first_meter = {
                    **_meter_data(
                        name, user_input[CONF_ENTITY_ID], kind, meter_id_for(name, set())
                    ),
                    CONF_BACKFILL: user_input.get(CONF_BACKFILL, True),
                }
                return self.async_show_form(step_id="github", data_schema=github_schema({}))
        return self.async_show_form(
            step_id="user",
            data_schema=_source_schema(user_input or {}, with_backfill=True),
            errors=errors,
        )

    async def async_step_github(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Publishing to GitHub (optional: an empty repository skips it)."""
        errors: dict[str, str] = {}
        if user_input is not None:
            checked = await async_validate(self.hass, user_input, {}, None)
            errors = checked.errors
            if not errors:
                meter = self._first_meter
                return self.async_create_entry(
                    title=TITLE,
                    data={CONF_GITHUB_TOKEN: checked.token} if checked.token else {},
                    options=checked.options,
                    subentries=[
                        {
                            "subentry_type": SUBENTRY_METER,
                            "title": meter[CONF_NAME],
                            "unique_id": meter[CONF_METER_ID],
                            "data": meter,
                        }
                    ],
                )
        return self.async_show_form(
            step_id="github", data_schema=github_schema(_no_token(user_input)), errors=errors
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
        target = publish_target(entry.options)
        if user_input is not None:
            token = str(user_input.get(CONF_GITHUB_TOKEN) or "").strip()
            if (token_problem := token_error(token)) is not None:
                errors[CONF_GITHUB_TOKEN] = token_problem
            elif target is not None:
                error = await async_check_access(self.hass, token, target)
                if error is not None:
                    errors["base"] = error
            if not errors:
                await _async_save_checked(
                    self.hass, entry, data={**entry.data, CONF_GITHUB_TOKEN: token}
                )
                return self.async_abort(reason="reauth_successful")
        return self.async_show_form(
            step_id="reauth_confirm",
            data_schema=reauth_schema(),
            errors=errors,
            description_placeholders={
                "repository": target.full_name if target else "",
            },
        )


async def _async_save_checked(hass: HomeAssistant, entry: ConfigEntry, **changes: Any) -> None:
    """Save publishing settings GitHub just accepted; what stopped publishing is fixed.

    A change reloads the entry (its update listener), and the publisher starts afresh from the
    state saved here; unchanged settings (the same token pasted again) reload nothing, so what
    waits is tried at once.
    """
    publisher = entry.runtime_data.publisher if entry.state is ConfigEntryState.LOADED else None
    if publisher is not None:
        await publisher.async_settings_checked()
    if not hass.config_entries.async_update_entry(entry, **changes) and publisher is not None:
        publisher.async_try_now()


class PublishingOptionsFlow(OptionsFlow):
    """Publishing to GitHub: leave the token empty to keep it, the repository empty to stop."""

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """One form with every publishing setting."""
        entry = self.config_entry
        errors: dict[str, str] = {}
        if user_input is not None:
            checked = await async_validate(
                self.hass, user_input, entry.options, entry.data.get(CONF_GITHUB_TOKEN)
            )
            errors = checked.errors
            if not errors:
                data = {k: v for k, v in entry.data.items() if k != CONF_GITHUB_TOKEN}
                if checked.token:
                    data[CONF_GITHUB_TOKEN] = checked.token
                # Token and options change in one update, so the entry reloads once; the
                # options stored again below are then unchanged and reload nothing.
                await _async_save_checked(self.hass, entry, data=data, options=checked.options)
                return self.async_create_entry(data=checked.options)
        defaults = {k: entry.options[k] for k in PUBLISH_OPTION_KEYS if k in entry.options}
        return self.async_show_form(
            step_id="init",
            data_schema=github_schema({**defaults, **_no_token(user_input)}),
            errors=errors,
        )


# -- the meters -----------------------------------------------------------------------------------


class MeterSubentryFlow(ConfigSubentryFlow):
    """Add a meter, or change one (its id and history stay)."""

    _meter: dict[str, Any]

    def _taken(self, *, but: str | None = None) -> tuple[set[str], set[str]]:
        """Sources and meter ids of the other meters."""
        others = [
            s
            for s in self._get_entry().subentries.values()
            if s.subentry_type == SUBENTRY_METER and s.subentry_id != but
        ]
        return (
            {s.data[CONF_ENTITY_ID] for s in others},
            {s.data[CONF_METER_ID] for s in others},
        )

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> SubentryFlowResult:
        """Ask for the new meter's source sensor, a name and whether to backfill."""
        errors: dict[str, str] = {}
        if user_input is not None:
            sources, ids = self._taken()
            name, kind, errors = _validate_meter(self.hass, user_input, sources)
            if kind is not None and not errors:
                self._meter = {
                    **_meter_data(name, user_input[CONF_ENTITY_ID], kind, meter_id_for(name, ids)),
                    CONF_BACKFILL: user_input.get(CONF_BACKFILL, True),
                }
                return await self.async_step_settings()
        return self.async_show_form(
            step_id="user",
            data_schema=_source_schema(user_input or {}, with_backfill=True),
            errors=errors,
        )

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Point the meter at another sensor or rename it; its id and history stay."""
        subentry = self._get_reconfigure_subentry()
        errors: dict[str, str] = {}
        if user_input is not None:
            sources, _ = self._taken(but=subentry.subentry_id)
            name, kind, errors = _validate_meter(self.hass, user_input, sources)
            if kind is not None and not errors:
                self._meter = {
                    **subentry.data,
                    CONF_ENTITY_ID: user_input[CONF_ENTITY_ID],
                    CONF_NAME: name,
                    CONF_KIND: kind.value,
                }
                return await self.async_step_settings()
        return self.async_show_form(
            step_id="reconfigure",
            data_schema=_source_schema(user_input or subentry.data, with_backfill=False),
            errors=errors,
        )

    async def async_step_settings(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Price and which files are written."""
        errors: dict[str, str] = {}
        if user_input is not None:
            errors = _validate_settings(self.hass, user_input)
            if not errors:
                settings = {k: user_input[k] for k in SETTING_KEYS if k in user_input}
                meter = {**{k: v for k, v in self._meter.items() if k not in SETTING_KEYS}}
                meter.update(settings)
                # Another dialog may have added a meter since the first step.
                reconfiguring = self.source == SOURCE_RECONFIGURE
                sources, ids = self._taken(
                    but=self._get_reconfigure_subentry().subentry_id if reconfiguring else None
                )
                if meter[CONF_ENTITY_ID] in sources:
                    return self.async_abort(reason="already_metered")
                if not reconfiguring and meter[CONF_METER_ID] in ids:
                    meter[CONF_METER_ID] = meter_id_for(meter[CONF_NAME], ids)
                if reconfiguring:
                    # Unchanged values update nothing, so nothing reloads.
                    return self.async_update_and_abort(
                        self._get_entry(),
                        self._get_reconfigure_subentry(),
                        title=meter[CONF_NAME],
                        data=meter,
                    )
                return self.async_create_entry(
                    title=meter[CONF_NAME], data=meter, unique_id=meter[CONF_METER_ID]
                )
        return self.async_show_form(
            step_id="settings",
            data_schema=_settings_schema(user_input or self._meter),
            errors=errors,
        )
