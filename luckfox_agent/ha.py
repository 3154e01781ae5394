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


def call_service(
    config: Config,
    domain: str,
    service: str,
    data: Dict[str, Any],
    return_response: bool = False,
) -> Any:
    """POST /api/services/<domain>/<service> with `data`; raises HaError on failure.

    With `return_response` the action's own answer is asked for and returned (HA's
    `service_response`); otherwise None.
    """
    if not config.sends_token:
        raise HaError("no HA token configured for HA's data view ([source] url and token)")
    origin = parse_url(config.ha_origin)
    path = origin.path.rstrip("/") + f"/api/services/{domain}/{service}"
    if return_response:
        path += "?return_response"
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
            max_body=1 << 16,
            cafile=config.source_ca_file,
        )
    except HttpError as err:
        raise HaError(f"Home Assistant is not reachable: {err}") from None
    action = f"{domain}.{service}"
    if response.status in (401, 403):
        raise HaError("Home Assistant refused the token; check [source] token")
    if response.status == 400:
        raise HaError(
            f"Home Assistant rejected {action} (HTTP 400); update the PowerStats integration "
            "to a version that has this action"
        )
    if not 200 <= response.status < 300:
        raise HaError(f"Home Assistant answered HTTP {response.status} to {action}")
    if not return_response:
        return None
    try:
        answer = json.loads(response.body)
    except (ValueError, RecursionError):
        answer = None
    if not isinstance(answer, dict) or "service_response" not in answer:
        raise HaError(f"Home Assistant's answer to {action} carries no result")
    return answer["service_response"]


def publish_now(config: Config) -> None:
    """Ask the integration to publish to GitHub now."""
    call_service(config, "powerstats", "publish", {})


def set_maintenance(config: Config, on: bool) -> None:
    """Turn the integration's maintenance mode on or off; fails unless HA confirms the change.

    HA answers 200 to many calls that change nothing, so success is only what the
    integration's own action reports back: its maintenance state after the call.
    """
    result = call_service(
        config, "powerstats", "set_maintenance", {"enabled": on}, return_response=True
    )
    state = result.get("maintenance") if isinstance(result, dict) else None
    if not isinstance(state, bool):
        raise HaError(
            "Home Assistant did not report the maintenance state; update the PowerStats "
            "integration to a version with the powerstats.set_maintenance action"
        )
    if state is not on:
        raise HaError(
            f"Home Assistant left maintenance mode {'on' if state else 'off'}; nothing was changed"
        )
