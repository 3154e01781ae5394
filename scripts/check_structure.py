"""Structure checks: what hassfest and HACS's validation reject, checked locally before a push.

The GitHub workflows run Home Assistant's hassfest and HACS's own validation; neither can run
here, so this checks the same rules on the working tree, with a message that says what to do:

- every manifest.json in the repository is an integration manifest with its keys ordered
  domain, name, then alphabetically (hassfest validates each one it finds);
- every action in services.yaml has an icon in icons.json and a name and description, for
  itself and each of its fields, in strings.json;
- strings.json holds no text hassfest refuses (HTML, spaces at either end), and
  translations/en.json says exactly what strings.json says;
- the brand images HA 2026.3+ and HACS show are present, as PNGs of the sizes HA asks for;
- hacs.json holds only keys HACS knows, and names the release zip scripts/package builds.

Usage: python scripts/check_structure.py [REPOSITORY]   (exit 1 and one line per problem)
"""

from __future__ import annotations

import json
import re
import struct
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

DOMAIN = "powerstats"
# scripts/package writes the HACS release zip under this name.
RELEASE_ZIP = "powerstats.zip"
HACS_KEYS = {
    "name",
    "content_in_root",
    "zip_release",
    "filename",
    "hide_default_branch",
    "country",
    "homeassistant",
    "persistent_directory",
    "render_readme",
    "hacs",
}
# Square icons, exact; logos, by their shortest side (HA's brand image rules).
ICONS = {"icon.png": 256, "icon@2x.png": 512, "dark_icon.png": 256, "dark_icon@2x.png": 512}
LOGOS = {
    "logo.png": (128, 256),
    "logo@2x.png": (256, 512),
    "dark_logo.png": (128, 256),
    "dark_logo@2x.png": (256, 512),
}
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# Folders that are not part of the repository's content (tools, caches, build output).
NOT_CONTENT = {"build", "dist", "node_modules", "__pycache__"}


def load_json(path: Path, problems: list[str]) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        problems.append(f"{path}: missing")
    except ValueError as err:
        problems.append(f"{path}: not valid JSON ({err})")
    return None


def content_files(root: Path, name: str) -> Iterator[Path]:
    """Every file called `name` under `root`, outside hidden, tool and build folders."""
    for path in sorted(root.rglob(name)):
        parts = path.relative_to(root).parts[:-1]
        if not any(part.startswith(".") or part in NOT_CONTENT for part in parts):
            yield path


def check_manifests(root: Path) -> list[str]:
    problems: list[str] = []
    for path in content_files(root, "manifest.json"):
        manifest = load_json(path, problems)
        if not isinstance(manifest, dict) or "domain" not in manifest or "name" not in manifest:
            problems.append(
                f"{path}: hassfest validates every manifest.json as an integration manifest, and "
                "this is none; rename it (e.g. example-manifest.json)"
            )
            continue
        keys = list(manifest)
        wanted = ["domain", "name", *sorted(k for k in keys if k not in ("domain", "name"))]
        if keys != wanted:
            problems.append(
                f"{path}: keys must be ordered domain, name, then alphabetically: "
                + ", ".join(wanted)
            )
    return problems


def check_actions(integration: Path) -> list[str]:
    problems: list[str] = []
    services_path = integration / "services.yaml"
    try:
        services = yaml.safe_load(services_path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        return [f"{services_path}: missing"]
    icons = load_json(integration / "icons.json", problems) or {}
    strings = load_json(integration / "strings.json", problems) or {}
    icon_for = icons.get("services", {})
    text_for = strings.get("services", {})
    for action, spec in services.items():
        if not isinstance(icon_for.get(action), dict) or not icon_for[action].get("service"):
            problems.append(
                f"icons.json: action {action!r} has no icon; add services.{action}.service"
            )
        text = text_for.get(action, {})
        for key in ("name", "description"):
            if not text.get(key):
                problems.append(f"strings.json: action {action!r} has no {key}")
        for field in (spec or {}).get("fields", {}) or {}:
            field_text = text.get("fields", {}).get(field, {})
            for key in ("name", "description"):
                if not field_text.get(key):
                    problems.append(
                        f"strings.json: field {field!r} of action {action!r} has no {key}"
                    )
    for action in sorted(set(icon_for) - set(services)):
        problems.append(f"icons.json: icon for {action!r}, which services.yaml does not define")
    for action in sorted(set(text_for) - set(services)):
        problems.append(f"strings.json: text for {action!r}, which services.yaml does not define")
    return problems


# hassfest's rules for a translated string: no HTML (a `<word...>` reads as a tag, placeholders
# included) and no spaces at either end.
HTML = re.compile(r"<[a-z].*?>", re.IGNORECASE)


def strings_of(value: Any, where: str) -> Iterator[tuple[str, str]]:
    """Every string leaf of a strings.json tree, with its dotted key."""
    if isinstance(value, dict):
        for key, inner in value.items():
            yield from strings_of(inner, f"{where}.{key}" if where else key)
    elif isinstance(value, str):
        yield where, value


def check_strings(integration: Path) -> list[str]:
    problems: list[str] = []
    strings = load_json(integration / "strings.json", problems)
    for key, text in strings_of(strings, ""):
        tag = HTML.search(text)
        if tag:
            problems.append(
                f"strings.json: {key} holds {tag[0]!r}, which hassfest takes for HTML; "
                "write it without angle brackets"
            )
        if text != text.strip():
            problems.append(f"strings.json: {key} starts or ends with a space")
    return problems


def check_translations(integration: Path) -> list[str]:
    problems: list[str] = []
    strings = load_json(integration / "strings.json", problems)
    english = load_json(integration / "translations" / "en.json", problems)
    if strings is not None and english is not None and strings != english:
        problems.append(
            "translations/en.json differs from strings.json; copy strings.json over it "
            "(strings.json is the source)"
        )
    return problems


def png_size(path: Path) -> tuple[int, int] | None:
    """Width and height from a PNG's header, or None when the file is no PNG."""
    with path.open("rb") as image:
        head = image.read(24)
    if len(head) < 24 or not head.startswith(PNG_SIGNATURE) or head[12:16] != b"IHDR":
        return None
    width, height = struct.unpack(">II", head[16:24])
    return width, height


def check_brand(integration: Path) -> list[str]:
    problems: list[str] = []
    brand = integration / "brand"
    for name in [*ICONS, *LOGOS]:
        path = brand / name
        if not path.is_file():
            problems.append(f"brand/{name}: missing; scripts/brand draws it from www/icon.svg")
            continue
        size = png_size(path)
        if size is None:
            problems.append(f"brand/{name}: not a PNG")
        elif name in ICONS and size != (ICONS[name], ICONS[name]):
            side = ICONS[name]
            problems.append(f"brand/{name}: {size[0]}x{size[1]}, must be {side}x{side}")
        elif name in LOGOS and not LOGOS[name][0] <= min(size) <= LOGOS[name][1]:
            low, high = LOGOS[name]
            problems.append(
                f"brand/{name}: {size[0]}x{size[1]}, its shortest side must be {low} to {high}"
            )
    return problems


def check_hacs(root: Path) -> list[str]:
    problems: list[str] = []
    hacs = load_json(root / "hacs.json", problems)
    if not isinstance(hacs, dict):
        return problems
    for key in sorted(set(hacs) - HACS_KEYS):
        problems.append(f"hacs.json: unknown key {key!r}")
    if not hacs.get("name"):
        problems.append("hacs.json: no name")
    if hacs.get("zip_release") is not True or hacs.get("filename") != RELEASE_ZIP:
        problems.append(
            f'hacs.json: must say "zip_release": true and "filename": "{RELEASE_ZIP}", the zip '
            "scripts/package builds and the release workflow attaches"
        )
    if hacs.get("content_in_root"):
        problems.append("hacs.json: content_in_root must be false (custom_components/ holds it)")
    return problems


def check(root: Path) -> list[str]:
    """Every problem found in the repository at `root`, one line each."""
    integration = root / "custom_components" / DOMAIN
    return [
        *check_manifests(root),
        *check_actions(integration),
        *check_strings(integration),
        *check_translations(integration),
        *check_brand(integration),
        *check_hacs(root),
    ]


def main(argv: list[str]) -> int:
    root = Path(argv[0]).resolve() if argv else Path(__file__).resolve().parent.parent
    problems = check(root)
    for problem in problems:
        print(problem)
    if problems:
        print(f"structure: {len(problems)} problem(s)")
        return 1
    print("structure: manifests, actions, translations, brand images and hacs.json in order")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
