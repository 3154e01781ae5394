"""Home Assistant's REST API, for the admin page's actions (publish now, maintenance mode).

The agent never writes to HA any other way: it calls HA's own services with the stored
long-lived token, exactly as a user would from Developer tools.
"""

from __future__ import annotations

import json

from .config import Config, parse_url
from .httpclient import HttpError, request

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs resident memory; mypy reads it, the board does not
    from typing import Any, Dict


class HaError(Exception):
    """The call did not succeed; the message is safe to show (no token)."""


def call_service(config: Config, domain: str, service: str, data: Dict[str, Any]) -> None:
    """POST /api/services/<domain>/<service> with `data`; raises HaError on failure."""
    if not config.source_token:
        raise HaError("no HA token configured ([source] token)")
    origin = parse_url(config.ha_origin)
    path = origin.path.rstrip("/") + f"/api/services/{domain}/{service}"
    try:
        response = request(
            origin,
            path,
            method="POST",
            headers={
                "Authorization": f"Bearer {config.source_token}",
                "Content-Type": "application/json",
            },
            body=json.dumps(data).encode(),
            timeout=config.timeout,
            max_body=1 << 20,
            cafile=config.source_ca_file,
        )
    except HttpError as err:
        raise HaError(f"Home Assistant is not reachable: {err}") from None
    if response.status in (401, 403):
        raise HaError("Home Assistant refused the token; check [source] token")
    if response.status == 400:
        raise HaError(
            f"Home Assistant rejected {domain}.{service} (HTTP 400); is the entity right?"
        )
    if not 200 <= response.status < 300:
        raise HaError(f"Home Assistant answered HTTP {response.status} to {domain}.{service}")


def publish_now(config: Config) -> None:
    """Ask the integration to publish to GitHub now."""
    call_service(config, "powerstats", "publish", {})


def set_maintenance(config: Config, on: bool) -> None:
    """Turn the entry's maintenance switch on or off."""
    call_service(
        config,
        "switch",
        "turn_on" if on else "turn_off",
        {"entity_id": config.maintenance_entity},
    )
