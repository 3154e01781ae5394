"""The structure checks: each rule passes on the repository and names what breaks it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from scripts.check_structure import check, main

REPO = Path(__file__).resolve().parents[2]
INTEGRATION = Path("custom_components") / "powerstats"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A copy of what the checks read: the integration's metadata, its brand images, hacs.json."""
    target = tmp_path / INTEGRATION
    target.mkdir(parents=True)
    for name in ("manifest.json", "services.yaml", "icons.json", "strings.json"):
        shutil.copyfile(REPO / INTEGRATION / name, target / name)
    shutil.copytree(REPO / INTEGRATION / "translations", target / "translations")
    shutil.copytree(REPO / INTEGRATION / "brand", target / "brand")
    shutil.copyfile(REPO / "hacs.json", tmp_path / "hacs.json")
    return tmp_path


def edit_json(path: Path, change: object) -> None:
    data = json.loads(path.read_text())
    change(data)  # type: ignore[operator]
    path.write_text(json.dumps(data, indent=2))


def test_the_repository_passes_every_structure_check() -> None:
    assert check(REPO) == []
    assert main([str(REPO)]) == 0


def test_a_manifest_with_keys_out_of_order_is_named_with_the_order_wanted(repo: Path) -> None:
    manifest = repo / INTEGRATION / "manifest.json"
    data = json.loads(manifest.read_text())
    reordered = {"name": data.pop("name"), "domain": data.pop("domain"), **data}
    manifest.write_text(json.dumps(reordered))
    (problem,) = check(repo)
    assert str(manifest) in problem
    assert "domain, name, after_dependencies, codeowners" in problem


def test_a_manifest_json_that_is_no_integration_manifest_is_refused(repo: Path) -> None:
    example = repo / "schemas" / "examples" / "manifest.json"
    example.parent.mkdir(parents=True)
    example.write_text(json.dumps({"format": "powerstats/1", "meters": []}))
    (problem,) = check(repo)
    assert str(example) in problem
    assert "rename it" in problem


def test_manifests_in_hidden_and_build_folders_are_not_content(repo: Path) -> None:
    for folder in (".venv/lib/x", "build/hacs", "node_modules/y"):
        (repo / folder).mkdir(parents=True)
        (repo / folder / "manifest.json").write_text("{}")
    assert check(repo) == []


def test_an_action_without_an_icon_is_named(repo: Path) -> None:
    edit_json(repo / INTEGRATION / "icons.json", lambda d: d["services"].pop("backfill"))
    assert check(repo) == [
        "icons.json: action 'backfill' has no icon; add services.backfill.service"
    ]


def test_an_action_field_without_a_translation_is_named(repo: Path) -> None:
    def drop(data: dict) -> None:  # type: ignore[type-arg]
        del data["services"]["export"]["fields"]["level"]["description"]

    edit_json(repo / INTEGRATION / "strings.json", drop)
    edit_json(repo / INTEGRATION / "translations" / "en.json", drop)
    assert check(repo) == ["strings.json: field 'level' of action 'export' has no description"]


def test_english_translations_that_differ_from_strings_json_are_named(repo: Path) -> None:
    edit_json(
        repo / INTEGRATION / "translations" / "en.json",
        lambda d: d["common"].update(panel_title="Something else"),
    )
    (problem,) = check(repo)
    assert problem.startswith("translations/en.json differs from strings.json")


def test_a_missing_brand_image_is_named(repo: Path) -> None:
    (repo / INTEGRATION / "brand" / "dark_icon@2x.png").unlink()
    assert check(repo) == [
        "brand/dark_icon@2x.png: missing; scripts/brand draws it from www/icon.svg"
    ]


def test_a_brand_icon_of_the_wrong_size_is_named(repo: Path) -> None:
    brand = repo / INTEGRATION / "brand"
    shutil.copyfile(brand / "icon@2x.png", brand / "icon.png")
    assert check(repo) == ["brand/icon.png: 512x512, must be 256x256"]


def test_a_brand_image_that_is_no_png_is_named(repo: Path) -> None:
    (repo / INTEGRATION / "brand" / "logo.png").write_bytes(b"<svg/>")
    assert check(repo) == ["brand/logo.png: not a PNG"]


def test_hacs_json_without_the_release_zip_is_refused(repo: Path) -> None:
    edit_json(repo / "hacs.json", lambda d: d.pop("filename"))
    (problem,) = check(repo)
    assert problem.startswith(
        'hacs.json: must say "zip_release": true and "filename": "powerstats.zip"'
    )


def test_a_key_hacs_does_not_know_is_named(repo: Path) -> None:
    edit_json(repo / "hacs.json", lambda d: d.update(domains=["sensor"]))
    assert check(repo) == ["hacs.json: unknown key 'domains'"]


def test_the_checker_exits_non_zero_and_prints_each_problem(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (repo / "hacs.json").write_text("{not json")
    assert main([str(repo)]) == 1
    out = capsys.readouterr().out
    assert "hacs.json: not valid JSON" in out
    assert out.rstrip().endswith("structure: 1 problem(s)")


def test_a_string_hassfest_takes_for_html_is_named(repo: Path) -> None:
    def tag(data: dict) -> None:  # type: ignore[type-arg]
        data["common"]["panel_title"] = "Files in <meter>/daily.json"

    edit_json(repo / INTEGRATION / "strings.json", tag)
    edit_json(repo / INTEGRATION / "translations" / "en.json", tag)
    (problem,) = check(repo)
    assert problem.startswith("strings.json: common.panel_title holds '<meter>'")
