"""The authenticated data view: GET /api/powerstats/data/<relative path>.

Serves exactly manifest.json and the files it lists, from memory, with an ETag (the sha256 the
manifest gives) and 304 on a matching If-None-Match. Any other path is a 404. HEAD answers as GET
does, without the body. Every answer is for the logged-in user alone: `private` keeps it out of a
shared cache (a proxy in front of HA), `no-cache` makes a browser ask again before each use, so
the page never shows files older than the last publish.
"""

from __future__ import annotations

from http import HTTPStatus

from aiohttp import web
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.http import KEY_HASS, HomeAssistantView
from homeassistant.util.hass_dict import HassKey

from .const import DOMAIN
from .runtime import loaded_entry

URL_PREFIX = "/api/powerstats/data"
CACHE_CONTROL = "private, no-cache"
_VIEW_REGISTERED: HassKey[bool] = HassKey(f"{DOMAIN}_view_registered")


def _matches(if_none_match: str, etag: str) -> bool:
    for candidate in if_none_match.split(","):
        tag = candidate.strip()
        tag = tag.removeprefix("W/")
        if tag in ("*", etag):
            return True
    return False


class PowerStatsDataView(HomeAssistantView):
    """The files, for the sidebar panel and the board agent (HA login or long-lived token)."""

    url = URL_PREFIX + "/{path:.+}"
    name = "api:powerstats:data"
    requires_auth = True

    async def get(self, request: web.Request, path: str) -> web.Response:
        """Return one listed file, or 304 / 404."""
        entry = loaded_entry(request.app[KEY_HASS])
        served = entry.runtime_data.writer.files.get(path) if entry is not None else None
        if served is None:
            return web.Response(
                status=HTTPStatus.NOT_FOUND, headers={"Cache-Control": CACHE_CONTROL}
            )
        etag = f'"{served.sha256}"'
        headers = {"ETag": etag, "Cache-Control": CACHE_CONTROL, "Vary": "Accept-Encoding"}
        if _matches(request.headers.get("If-None-Match", ""), etag):
            return web.Response(status=HTTPStatus.NOT_MODIFIED, headers=headers)
        response = web.Response(body=served.data, content_type="application/json", headers=headers)
        # JSON of numbers shrinks to about a third; aiohttp compresses only for a client that
        # accepts it (the browser, not necessarily the board's agent).
        response.enable_compression()
        return response

    async def head(self, request: web.Request, path: str) -> web.Response:
        """The headers GET would send (aiohttp leaves the body out for HEAD)."""
        return await self.get(request, path)


@callback
def async_register_view(hass: HomeAssistant) -> None:
    """Register the view once per HA run (HA cannot unregister views; it 404s when unloaded)."""
    if hass.data.get(_VIEW_REGISTERED):
        return
    hass.http.register_view(PowerStatsDataView())
    hass.data[_VIEW_REGISTERED] = True
