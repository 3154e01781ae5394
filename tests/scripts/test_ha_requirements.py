"""The requirements scripts/setup installs ahead for the server Home Assistant: those of what it
sets up, followed through dependencies and after-dependencies as Home Assistant follows them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from scripts.ha_requirements import requirements


def manifest(components: Path, domain: str, **fields: Any) -> None:
    folder = components / domain
    folder.mkdir()
    (folder / "manifest.json").write_text(json.dumps({"domain": domain, **fields}))


def test_the_requirements_of_dependencies_and_after_dependencies_are_wanted(
    tmp_path: Path,
) -> None:
    # Analytics imports hassio, an after-dependency: without its client it does not set up.
    manifest(tmp_path, "analytics", dependencies=["api"], after_dependencies=["hassio"])
    manifest(tmp_path, "api", requirements=["a==1"])
    manifest(tmp_path, "hassio", requirements=["aiohasupervisor==0.8.1"], dependencies=["http"])
    manifest(tmp_path, "http", requirements=["b==2"])
    manifest(tmp_path, "unrelated", requirements=["c==3"])
    assert requirements({"analytics"}, tmp_path) == ["a==1", "aiohasupervisor==0.8.1", "b==2"]


def test_an_integration_named_without_a_manifest_adds_nothing(tmp_path: Path) -> None:
    manifest(tmp_path, "frontend", requirements=["f==1"], after_dependencies=["gone"])
    assert requirements({"frontend", "also_gone"}, tmp_path) == ["f==1"]
