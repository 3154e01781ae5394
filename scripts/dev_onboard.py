"""Wait for the demo's Home Assistant to answer, finish onboarding, and print how to log in."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

USER, PASSWORD = "demo", "powerstats-demo"
CLIENT_ID = "http://127.0.0.1/"


def request(
    url: str, data: dict[str, Any] | None = None, form: bool = False, token: str | None = None
) -> Any:
    """POST (when data is given) or GET, returning the parsed JSON answer."""
    body, headers = None, {}
    if data is not None and form:
        body = urllib.parse.urlencode(data).encode()
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    elif data is not None:
        body = json.dumps(data).encode()
        headers["Content-Type"] = "application/json"
    if token:
        headers["Authorization"] = f"Bearer {token}"
    req = urllib.request.Request(url, data=body, headers=headers)  # noqa: S310 - loopback only
    with urllib.request.urlopen(req, timeout=30) as response:  # noqa: S310
        text = response.read().decode()
    return json.loads(text) if text else None


def wait_until_up(url: str, pid: int, deadline: float) -> None:
    """Poll until HA answers HTTP, failing early if its process died."""
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            sys.exit("Home Assistant exited during start-up; see its log above")
        try:
            with urllib.request.urlopen(url + "/manifest.json", timeout=5):  # noqa: S310
                return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(2)  # waiting for another process to start, not for time to pass
    sys.exit(f"Home Assistant did not answer on {url} in time")


def onboard(url: str) -> None:
    """Create the demo user and complete every onboarding step."""
    steps = {step["step"]: step["done"] for step in request(url + "/api/onboarding")}
    if all(steps.values()):
        return
    if not steps.get("user"):
        answer = request(
            url + "/api/onboarding/users",
            {
                "client_id": CLIENT_ID,
                "name": "Demo",
                "username": USER,
                "password": PASSWORD,
                "language": "en",
            },
        )
        tokens = request(
            url + "/auth/token",
            {
                "grant_type": "authorization_code",
                "code": answer["auth_code"],
                "client_id": CLIENT_ID,
            },
            form=True,
        )
    else:
        sys.exit("onboarding is half done and the demo user exists; delete .dev/ and start again")
    token = tokens["access_token"]
    for step, body in (
        ("core_config", {}),
        ("analytics", {}),
        ("integration", {"client_id": CLIENT_ID, "redirect_uri": CLIENT_ID}),
    ):
        if not steps.get(step):
            request(f"{url}/api/onboarding/{step}", body, token=token)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", required=True)
    parser.add_argument("--pid", type=int, required=True)
    parser.add_argument("--timeout", type=float, default=600)
    args = parser.parse_args()
    wait_until_up(args.url, args.pid, time.monotonic() + args.timeout)
    onboard(args.url)
    print(f"\nHome Assistant is running: {args.url}/")
    print(f"  log in as {USER} / {PASSWORD}")
    print("  add PowerStats: Settings → Devices & services → Add integration → PowerStats,")
    print("  and pick sensor.simulated_household_power")
    print("Ctrl-C stops it.\n", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
