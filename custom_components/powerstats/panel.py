"""The sidebar panel (the dashboard inside HA): shown with the first meter, gone with the last.

The dashboard's files ship inside the integration (`frontend/`, the project's www/ as
scripts/package ships it, its modules built into one minified file per page, so a HACS install
has them).
They are served under a URL that names their content hash: browsers may cache them for good and
still load a new version at once.
The panel reads the data through HA's authenticated data view with the user's own login.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from homeassistant.components import frontend, panel_custom
from homeassistant.components.http import StaticPathConfig
from homeassistant.core import HomeAssistant
from homeassistant.helpers.translation import async_get_translations
from homeassistant.util.hass_dict import HassKey

from .const import DOMAIN, LOGGER
from .http import URL_PREFIX as DATA_URL_PREFIX

FRONTEND_DIR = Path(__file__).parent / "frontend"
STATIC_URL_BASE = "/powerstats_static"
PANEL_URL_PATH = "powerstats"
WEBCOMPONENT = "powerstats-panel"
PANEL_MODULE = "ha-panel.js"
SIDEBAR_ICON = "mdi:chart-box-outline"
TITLE_KEY = f"component.{DOMAIN}.common.panel_title"

# Static routes cannot be removed from HA's web app: register once per HA run, reuse after.
_STATIC_URL: HassKey[str] = HassKey(f"{DOMAIN}_static_url")


def frontend_digest(folder: Path) -> str:
    """A short hash of every file's relative path and bytes: changes whenever the dashboard does."""
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(path.relative_to(folder).as_posix().encode() + b"\0")
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


async def _async_static_url(hass: HomeAssistant) -> str:
    url = hass.data.get(_STATIC_URL)
    if url is None:
        digest = await hass.async_add_executor_job(frontend_digest, FRONTEND_DIR)
        url = f"{STATIC_URL_BASE}/{digest}"
        await hass.http.async_register_static_paths(
            [StaticPathConfig(url, str(FRONTEND_DIR), cache_headers=True)]
        )
        hass.data[_STATIC_URL] = url
    return url


async def _async_sidebar_title(hass: HomeAssistant) -> str:
    translations = await async_get_translations(hass, hass.config.language, "common", [DOMAIN])
    return translations.get(TITLE_KEY, "PowerStats")


async def async_register_panel(hass: HomeAssistant) -> None:
    """Show the PowerStats panel in the sidebar."""
    if "frontend" not in hass.config.components:
        # No web UI is loaded (a headless setup): there is no sidebar to add to.
        LOGGER.debug("Frontend not loaded; the PowerStats panel is not registered")
        return
    static_url = await _async_static_url(hass)
    await panel_custom.async_register_panel(
        hass,
        frontend_url_path=PANEL_URL_PATH,
        webcomponent_name=WEBCOMPONENT,
        sidebar_title=await _async_sidebar_title(hass),
        sidebar_icon=SIDEBAR_ICON,
        module_url=f"{static_url}/{PANEL_MODULE}",
        config={"data_url": f"{DATA_URL_PREFIX}/"},
        require_admin=False,
    )


async def async_unregister_panel(hass: HomeAssistant) -> None:
    """Remove the PowerStats panel from the sidebar."""
    frontend.async_remove_panel(hass, PANEL_URL_PATH, warn_if_unknown=False)
