"""Print the Python requirements of every integration a Home Assistant install sets up.

Run with the Home Assistant whose requirements are wanted (scripts/setup runs it inside the
newest-HA chroot). Home Assistant sets up its default integrations (bootstrap's lists, and
every entity platform such as assist_satellite, which depends on assist_pipeline) whatever the
configuration says, plus the configured ones and PowerStats' own dependencies; it installs
their requirements at start-up. Some have no wheel for a new Python and must be compiled, so
they are installed ahead, once, by scripts/setup, and Home Assistant finds them present.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from homeassistant import bootstrap

# What the demo's and the end-to-end tests' configuration.yaml sets up besides the defaults
# (tests/e2e/homeassistant_process.py), and what PowerStats' manifest depends on.
CONFIGURED = {"http", "frontend", "logger", "recorder", "sensor", "api", "panel_custom"}


def default_integrations() -> set[str]:
    """The integrations bootstrap sets up whatever the configuration says."""
    return set(bootstrap.CORE_INTEGRATIONS) | set(bootstrap.DEFAULT_INTEGRATIONS)


def requirements(start: set[str], components: Path) -> list[str]:
    """The requirements of `start` and everything they depend on, sorted and unique.

    After-dependencies count: Home Assistant installs theirs too, and some integrations import
    them (analytics imports hassio, whose client it then needs even where there is no
    Supervisor)."""
    seen: set[str] = set()
    wanted: set[str] = set()
    todo = list(start)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        manifest_path = components / name / "manifest.json"
        if not manifest_path.exists():
            continue
        manifest = json.loads(manifest_path.read_text())
        wanted.update(manifest.get("requirements", []))
        todo.extend(manifest.get("dependencies", []))
        todo.extend(manifest.get("after_dependencies", []))
    return sorted(wanted)


def main() -> int:
    components = Path(bootstrap.__file__).parent / "components"
    for requirement in requirements(default_integrations() | CONFIGURED, components):
        print(requirement)
    return 0


if __name__ == "__main__":
    sys.exit(main())
