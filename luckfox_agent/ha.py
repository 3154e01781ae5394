"""Home Assistant's REST API, for the admin page's actions (publish now, maintenance mode).

The agent never writes to HA any other way: it calls HA's own services with the stored
long-lived token, exactly as a user would from Developer tools.
"""

from __future__ import annotations

import json

from . import log
from .config import Config, parse_url
from .httpclient import HttpError, UnsendableRequest, request

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs resident memory; mypy reads it, the board does not
    from typing import Any, Dict


# HA's own reason is shown on the admin page and logged: one short line.
MAX_REASON = 200


class HaError(Exception):
    """The call did not succeed; the message is safe to show (no token)."""


def _reason(body: bytes, token: str) -> str:
    """HA's own words for refusing a call, safe to show; "" when its answer holds none.

    HA answers an action that raised ServiceValidationError with 400 and {"message": ...},
    any other HomeAssistantError with 500 and the same (HA 2025.4: both with a 500 and no
    reason), and an unknown action or bad data with a plain-text 400. The body is whatever
    came back, so it is hostile: the token is scrubbed before the cut (a cut could split
    it), characters that are not printable (line breaks, escapes, bidirectional overrides)
    become blanks.
    """
    try:
        answer = json.loads(body)
    except (ValueError, RecursionError):
        return ""
    message = answer.get("message") if isinstance(answer, dict) else None
    if not isinstance(message, str):
        return ""
    if token:
        message = message.replace(token, "[redacted]")
    message = log.scrub(message)
    message = " ".join("".join(c if c.isprintable() else " " for c in message).split())
    if len(message) > MAX_REASON:
        message = message[: MAX_REASON - 3] + "..."
    return message


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
    except UnsendableRequest as err:
        setting = "[source] token" if err.field == "Authorization" else "[ha] url"
        raise HaError(f"the call to Home Assistant was not sent: {err}; fix {setting}") from None
    except HttpError as err:
        raise HaError(f"Home Assistant is not reachable: {err}") from None
    action = f"{domain}.{service}"
    if not 200 <= response.status < 300:
        raise _refusal(response.status, response.body, action, config.source_token)
    return _result(response.body, action) if return_response else None


def _refusal(status: int, body: bytes, action: str, token: str) -> HaError:
    """The error for HA's answer `status` to `action`: its own reason when it gave one."""
    if status in (401, 403):
        return HaError("Home Assistant refused the token; check [source] token")
    reason = _reason(body, token)
    if status == 400 and reason:
        return HaError(f"Home Assistant refused {action}: {reason}")
    if status == 400:
        # A plain 400: an unknown action (or data it does not take), so an older integration.
        return HaError(
            f"Home Assistant rejected {action} (HTTP 400); update the PowerStats integration "
            "to a version that has this action"
        )
    if reason:
        return HaError(f"{action} failed in Home Assistant (HTTP {status}): {reason}")
    if status == 500:
        # HA 2025.4 answers an action that refused (ServiceValidationError, e.g. publish during
        # maintenance) or failed with a bare 500: HA knows why, its answer does not say.
        return HaError(
            f"Home Assistant refused {action} without giving a reason (HTTP 500); read it in "
            "Home Assistant's log (Settings > System > Logs) or on the PowerStats device page "
            "(Settings > Devices & services > PowerStats)"
        )
    return HaError(f"Home Assistant answered HTTP {status} to {action}")


def _result(body: bytes, action: str) -> Any:
    """The action's own answer (HA's `service_response`) from a 200 to `?return_response`."""
    try:
        answer = json.loads(body)
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
