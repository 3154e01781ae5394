"""Who may do what: the caller of an action or a button press, by Home Assistant's admin flag."""

from __future__ import annotations

from homeassistant.core import Context, HomeAssistant


async def async_is_admin(hass: HomeAssistant, context: Context | None) -> bool:
    """Whether the caller is an administrator. Automations run as no user, and count as one:
    an administrator wrote them (HA's own admin-only actions treat them so)."""
    if context is None or context.user_id is None:
        return True
    user = await hass.auth.async_get_user(context.user_id)
    return user is not None and user.is_admin
