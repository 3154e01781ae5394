"""The actions: powerstats.export (rows, CSV) and powerstats.rebuild_views."""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path

import pytest
import voluptuous as vol
from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import Context, HomeAssistant, ServiceResponse
from homeassistant.exceptions import (
    HomeAssistantError,
    ServiceValidationError,
    Unauthorized,
    UnknownUser,
)
from pytest_homeassistant_custom_component.common import (  # type: ignore[import-untyped]
    MockUser,
)

from custom_components.powerstats.const import DOMAIN, REFRESH_SECONDS
from custom_components.powerstats.core.timegrid import iso_local
from custom_components.powerstats.core.views import (
    MANIFEST,
    FileEntry,
    ManifestMeter,
    level_path,
    refresh_period,
    render_level,
    render_manifest,
    sha256_hex,
)
from custom_components.powerstats.meter import PowerStatsMeter
from custom_components.powerstats.runtime import loaded_entry

from .conftest import SOURCE, Clock, at, make_entry, meter_device, meter_of, read_file

W = {"unit_of_measurement": "W"}


@pytest.fixture
async def two_hours(ha: HomeAssistant, freezer: FrozenDateTimeFactory, move_to: Clock) -> None:
    """A meter that measured 600 W from 00:00 to 02:00."""
    start = at(2026, 11, 26, 0, 0)
    freezer.move_to(start)
    ha.states.async_set(SOURCE, "600", W)
    entry = make_entry()
    entry.add_to_hass(ha)
    assert await ha.config_entries.async_setup(entry.entry_id)
    await move_to(start + timedelta(hours=1))
    await move_to(start + timedelta(hours=2))


async def export_the_day(ha: HomeAssistant, level: str, **options: object) -> ServiceResponse:
    """powerstats.export of the House meter's 2026-11-26 at `level`, with `options`."""
    return await ha.services.async_call(
        DOMAIN,
        "export",
        {
            "meter": meter_device(ha),
            "level": level,
            "start": "2026-11-26",
            "end": "2026-11-26",
            **options,
        },
        blocking=True,
        return_response=True,
    )


@pytest.mark.usefixtures("two_hours")
async def test_export_returns_every_hour_of_the_range(ha: HomeAssistant) -> None:
    response = await export_the_day(ha, "weekly")
    assert response is not None
    assert response["bucket"] == "hour"
    assert response["columns"] == ["start", "kwh", "mean_w", "min_w", "max_w", "coverage"]
    rows = response["rows"]
    assert isinstance(rows, list)
    assert len(rows) == 24
    assert rows[0] == [int(at(2026, 11, 26, 0, 0).timestamp()), 0.6, 600, 600, 600, 1]
    third = rows[2]
    assert isinstance(third, list)
    assert third[1:] == [None, None, None, None, 0]


@pytest.mark.usefixtures("two_hours")
async def test_export_can_write_the_rows_as_csv(ha: HomeAssistant) -> None:
    response = await export_the_day(ha, "daily", csv=True)
    assert response is not None
    path = Path(str(response["csv_path"]))
    assert path == Path(
        ha.config.path("powerstats_exports/house-daily-2026-11-26-2026-11-26.rows.csv")
    )
    text = (await read_file(ha, str(path))).decode()
    lines = text.splitlines()
    assert lines[0] == "start,kwh,mean_w,min_w,max_w,coverage"
    assert lines[1] == f"{int(at(2026, 11, 26, 0, 0).timestamp())},0.1,600,600,600,1"
    assert len(lines) == 1 + 144


@pytest.mark.usefixtures("two_hours")
async def test_export_with_csv_rows_and_a_csv_export_file_writes_two_files(
    ha: HomeAssistant,
) -> None:
    response = await export_the_day(ha, "weekly", csv=True, format="csv")
    assert response is not None
    rows, export = Path(str(response["csv_path"])), Path(str(response["path"]))
    assert rows != export
    assert (await read_file(ha, str(rows))).startswith(b"start,kwh,")
    assert (await read_file(ha, str(export))).startswith(b"# format: powerstats-export/1")


@pytest.mark.usefixtures("two_hours")
async def test_an_export_folder_that_cannot_be_written_gives_a_translated_error(
    ha: HomeAssistant,
) -> None:
    # A file where the folder should be: every write below it fails with an OSError.
    await ha.async_add_executor_job(Path(ha.config.path("powerstats_exports")).write_text, "")
    with pytest.raises(HomeAssistantError) as err:
        await export_the_day(ha, "daily", format="json")
    assert err.value.translation_key == "file_error"
    assert "powerstats_exports" in str(err.value)


@pytest.mark.usefixtures("two_hours")
@pytest.mark.parametrize(
    ("data", "key"),
    [
        (
            {"meter": "garage", "level": "daily", "start": "2026-11-26", "end": "2026-11-26"},
            "unknown_meter",
        ),
        (
            {"meter": "house", "level": "daily", "start": "2026-11-27", "end": "2026-11-26"},
            "invalid_range",
        ),
        (
            {"meter": "house", "level": "yearly", "start": "2000-01-01", "end": "2026-11-26"},
            "invalid_range",
        ),
    ],
)
async def test_bad_export_arguments_raise_a_translated_validation_error(
    ha: HomeAssistant, data: dict[str, str], key: str
) -> None:
    if data["meter"] == "house":
        data = {**data, "meter": meter_device(ha)}
    with pytest.raises(ServiceValidationError) as err:
        await ha.services.async_call(DOMAIN, "export", data, blocking=True, return_response=True)
    assert err.value.translation_domain == DOMAIN
    assert err.value.translation_key == key


async def test_export_before_powerstats_is_set_up_raises_a_translated_validation_error(
    ha: HomeAssistant,
) -> None:
    from homeassistant.setup import async_setup_component

    assert await async_setup_component(ha, DOMAIN, {})
    with pytest.raises(ServiceValidationError) as err:
        await ha.services.async_call(
            DOMAIN,
            "export",
            {"meter": "0123", "level": "daily", "start": "2026-11-26", "end": "2026-11-26"},
            blocking=True,
            return_response=True,
        )
    assert err.value.translation_key == "not_set_up"


def rendered_from_the_history(meter: PowerStatsMeter, as_of: int) -> dict[str, bytes]:
    """manifest.json and the meter's level files as the views render them from its history
    with data up to `as_of`, every file updated then (as a rebuild marks them)."""
    tz, info = meter.tz, meter.info
    files = {
        level_path(info.id, level): render_level(
            info, level, meter.history, refresh_period(level, as_of, tz)
        )
        for level in meter.config.levels
    }
    generated = iso_local(as_of, tz)
    entries = tuple(
        FileEntry(level, path, sha256_hex(data), len(data), generated)
        for level, (path, data) in zip(meter.config.levels, files.items(), strict=True)
    )
    manifest = render_manifest(
        [ManifestMeter(info, entries)], generated, refresh_seconds=REFRESH_SECONDS
    )
    return {MANIFEST: manifest, **files}


@pytest.mark.usefixtures("two_hours")
async def test_rebuild_views_rewrites_every_file_from_the_store(ha: HomeAssistant) -> None:
    entry = loaded_entry(ha)
    assert entry is not None
    expected = rendered_from_the_history(meter_of(entry), int(at(2026, 11, 26, 2, 0).timestamp()))
    assert len(expected) == 5  # the manifest and the meter's four level files
    root = Path(ha.config.path("powerstats"))
    # Every file on disk replaced behind the writer's back by other bytes of the same size.
    for path in expected:
        size = len(await read_file(ha, f"powerstats/{path}"))
        await ha.async_add_executor_job((root / path).write_bytes, b"x" * size)

    await ha.services.async_call(DOMAIN, "rebuild_views", {}, blocking=True)

    for path, data in expected.items():
        assert await read_file(ha, f"powerstats/{path}") == data, path


@pytest.mark.usefixtures("two_hours")
async def test_an_action_that_touches_files_refuses_a_user_who_is_not_an_admin(
    ha: HomeAssistant, hass_read_only_user: MockUser, hass_admin_user: MockUser
) -> None:
    with pytest.raises(Unauthorized):
        await ha.services.async_call(
            DOMAIN, "rebuild_views", {}, blocking=True, context=Context(hass_read_only_user.id)
        )
    await ha.services.async_call(
        DOMAIN, "rebuild_views", {}, blocking=True, context=Context(hass_admin_user.id)
    )


@pytest.mark.usefixtures("two_hours")
async def test_an_action_called_by_an_unknown_user_is_refused(ha: HomeAssistant) -> None:
    with pytest.raises(UnknownUser):
        await ha.services.async_call(
            DOMAIN, "rebuild_views", {}, blocking=True, context=Context("no-such-user")
        )


@pytest.mark.usefixtures("two_hours")
async def test_csv_rows_that_cannot_be_written_give_a_translated_error(ha: HomeAssistant) -> None:
    # A file where the folder should be: writing the rows below it fails with an OSError.
    await ha.async_add_executor_job(Path(ha.config.path("powerstats_exports")).write_text, "")
    with pytest.raises(HomeAssistantError) as err:
        await export_the_day(ha, "daily", csv=True)
    assert err.value.translation_key == "file_error"
    assert "powerstats_exports" in str(err.value)


@pytest.mark.usefixtures("two_hours")
async def test_rebuild_views_that_cannot_write_gives_a_translated_error(
    ha: HomeAssistant,
) -> None:
    folder = Path(ha.config.path("powerstats"))
    await ha.async_add_executor_job(shutil.rmtree, folder)
    await ha.async_add_executor_job(folder.write_text, "")
    with pytest.raises(HomeAssistantError) as err:
        await ha.services.async_call(DOMAIN, "rebuild_views", {}, blocking=True)
    assert err.value.translation_key == "file_error"
    await ha.async_add_executor_job(folder.unlink)


@pytest.mark.usefixtures("two_hours")
async def test_an_import_path_that_cannot_be_read_gives_a_translated_file_error(
    ha: HomeAssistant,
) -> None:
    # Below a file rather than a folder: opening it fails with an OSError other than "missing".
    await ha.async_add_executor_job(Path(ha.config.path("exports.txt")).write_text, "")
    with pytest.raises(HomeAssistantError) as err:
        await ha.services.async_call(
            DOMAIN,
            "import",
            {"meter": meter_device(ha), "path": "exports.txt/house.csv"},
            blocking=True,
        )
    assert err.value.translation_key == "file_error"
    assert "exports.txt/house.csv" in str(err.value)


@pytest.mark.usefixtures("two_hours")
@pytest.mark.parametrize(
    ("dates", "key"),
    [({"start": "2026-11-27", "end": "2026-11-26"}, "backfill_invalid_range"), ({}, "no_recorder")],
)
async def test_a_backfill_that_cannot_run_says_why(
    ha: HomeAssistant, dates: dict[str, str], key: str
) -> None:
    with pytest.raises(ServiceValidationError) as err:
        await ha.services.async_call(
            DOMAIN, "backfill", {"meter": meter_device(ha), **dates}, blocking=True
        )
    assert err.value.translation_key == key


@pytest.mark.usefixtures("two_hours")
async def test_publish_without_publishing_set_up_says_there_is_nothing_to_publish(
    ha: HomeAssistant,
) -> None:
    with pytest.raises(ServiceValidationError) as err:
        await ha.services.async_call(DOMAIN, "publish", {}, blocking=True)
    assert err.value.translation_key == "nothing_to_publish"


@pytest.mark.usefixtures("two_hours")
@pytest.mark.parametrize(
    ("action", "dates", "refusal"),
    [
        # Its end (the next midnight) does not exist: the call failed inside (OverflowError).
        ("export", {"level": "daily", "start": "9999-12-30", "end": "9999-12-31"}, "at most"),
        ("backfill", {"end": "9999-12-31"}, "at most 9999-12-30"),
        # Nothing was recorded before; a backfill from year 1 read the recorder 24,000 times.
        ("export", {"level": "daily", "start": "1969-12-31", "end": "1970-01-01"}, "at least"),
        ("backfill", {"start": "0001-01-02"}, "at least 1970-01-01"),
    ],
)
async def test_a_day_outside_what_can_be_recorded_is_refused_as_invalid_input(
    ha: HomeAssistant, action: str, dates: dict[str, str], refusal: str
) -> None:
    with pytest.raises(vol.Invalid, match=refusal):
        await ha.services.async_call(
            DOMAIN,
            action,
            {"meter": meter_device(ha), **dates},
            blocking=True,
            return_response=action == "export",
        )


@pytest.mark.usefixtures("two_hours")
@pytest.mark.parametrize("path", ["powerstats_exports/house\x00.json", "x" * 300 + ".json"])
async def test_an_import_path_no_file_can_have_says_there_is_no_such_file(
    ha: HomeAssistant, path: str
) -> None:
    # A NUL character, or a name longer than the file system allows: the caller's mistake.
    with pytest.raises(ServiceValidationError) as err:
        await ha.services.async_call(
            DOMAIN, "import", {"meter": meter_device(ha), "path": path}, blocking=True
        )
    assert err.value.translation_key == "import_file_not_found"


@pytest.mark.usefixtures("two_hours")
@pytest.mark.parametrize("action", ["publish", "rebuild_views"])
async def test_an_action_without_fields_refuses_a_field_it_would_ignore(
    ha: HomeAssistant, action: str
) -> None:
    with pytest.raises(vol.Invalid) as err:
        await ha.services.async_call(DOMAIN, action, {"meter": meter_device(ha)}, blocking=True)
    assert "meter" in str(err.value)  # the field it refuses is named
