"""`powerstats.restore` in a real HA core: a published folder read back from each kind of source.

The sources are real: a folder in HA's config folder, the fake GitHub's Pages site and a
loopback web server laid out like the board's mirror. What was published is rendered by the
real views from a history tracked the way live tracking tracks it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Iterable
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import Context, HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError, Unauthorized

from custom_components.powerstats.const import DOMAIN
from custom_components.powerstats.core.views import Level, MeterInfo
from custom_components.powerstats.meter import PowerStatsMeter
from tests.fake_github import FakeGitHub
from tests.integration.published_folder import Folder, publish, tracked, write_folder

from .conftest import (
    AMSTERDAM,
    SOURCE,
    Clock,
    at,
    make_entry,
    meter_device,
    meter_of,
    snapshots_fail,
)

NOW = at(2026, 11, 26, 12, 0)
# The old Home Assistant published its last files an hour before the new one started.
PUBLISHED_AT = int((NOW - timedelta(hours=1)).timestamp())
INFO = MeterInfo("house", "House", SOURCE, "power", "Europe/Amsterdam", "EUR", True)
W = {"unit_of_measurement": "W"}
# What GitHub Pages holds unless the owner publishes more.
PAGES: tuple[Level, ...] = ("monthly", "yearly")


OLD = tracked((NOW - timedelta(days=40)).timestamp(), PUBLISHED_AT, AMSTERDAM, price=0.31)


def published(levels: Iterable[Level] = ("daily", "weekly", "monthly", "yearly")) -> Folder:
    return publish(OLD, PUBLISHED_AT, INFO, levels)


@pytest.fixture
async def house(ha: HomeAssistant, freezer: FrozenDateTimeFactory, move_to: Clock) -> Any:
    """A fresh Home Assistant that tracked the house for 20 minutes after the loss."""
    freezer.move_to(NOW)
    ha.states.async_set(SOURCE, "640", W)
    entry = make_entry(options={"backfill": False, "price_mode": "fixed", "price": 0.31})
    entry.add_to_hass(ha)
    assert await ha.config_entries.async_setup(entry.entry_id)
    await ha.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    await move_to(NOW + timedelta(minutes=20))
    return meter_of(entry)


async def restore(hass: HomeAssistant, **data: Any) -> dict[str, Any]:
    response = await hass.services.async_call(
        DOMAIN, "restore", data, blocking=True, return_response=True
    )
    assert response is not None
    return dict(response)


async def local_rows(hass: HomeAssistant, level: str) -> dict[int, list[Any]]:
    """Rows with data of the file this Home Assistant now writes for `level`."""
    await hass.async_block_till_done()
    path = Path(hass.config.path("powerstats", "house", f"{level}.json"))
    data = await hass.async_add_executor_job(path.read_bytes)
    return {row[0]: row for row in json.loads(data)["rows"] if row[5] > 0}


async def local_starts(hass: HomeAssistant, level: str) -> list[int]:
    path = Path(hass.config.path("powerstats", "house", f"{level}.json"))
    data = await hass.async_add_executor_job(path.read_bytes)
    return [row[0] for row in json.loads(data)["rows"]]


def published_rows(folder: Folder, level: str) -> dict[int, list[Any]]:
    rows = json.loads(folder.files[f"house/{level}.json"])["rows"]
    return {row[0]: row for row in rows if row[5] > 0}


def same_rows(again: dict[int, list[Any]], rows: dict[int, list[Any]]) -> bool:
    """Equal cell for cell, the mean power within the rounding of energy and coverage."""
    if again.keys() != rows.keys():
        return False
    for start, row in rows.items():
        if again[start][:2] + again[start][3:] != row[:2] + row[3:]:
            return False
        slack = (0.00005 * 3.6e6 + abs(row[2]) * 0.3) / ((row[5] - 0.0005) * 600) + 0.1
        if abs(again[start][2] - row[2]) > slack:
            return False
    return True


async def folder_state(hass: HomeAssistant, meter: PowerStatsMeter) -> tuple[Any, ...]:
    """Everything a restore could change: the history, the store on disk and the files."""
    await hass.async_block_till_done()

    def read() -> dict[str, bytes]:
        root = Path(hass.config.config_dir)
        return {
            str(p.relative_to(root)): p.read_bytes()
            for folder in ("powerstats", ".storage")
            for p in sorted((root / folder).rglob("*"))
            if p.is_file()
        }

    return (meter.history.to_json(), await hass.async_add_executor_job(read))


# -- the sources ------------------------------------------------------------------------------


@pytest.fixture
async def pages(socket_enabled: None) -> AsyncIterator[tuple[FakeGitHub, str]]:
    """The fake GitHub with the published folder committed; its Pages address."""
    async with FakeGitHub(token="ghp_restore_test", repository="alice/energy") as fake:
        fake.repo.commit_files(published(PAGES).files, "Energy history", PUBLISHED_AT)
        yield fake, f"{fake.root_url}/_pages/alice/energy/"


class Board:
    """A loopback web server laid out like the board's mirror: the folder at the root."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.requests: list[str] = []
        self.url = ""
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        async def serve(request: web.Request) -> web.StreamResponse:
            self.requests.append(request.path)
            target = self.root / request.path.lstrip("/")
            if not target.is_file():
                return web.Response(status=404)
            return web.Response(body=target.read_bytes(), content_type="application/json")

        app = web.Application()
        app.router.add_get("/{tail:.*}", serve)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}/"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


@pytest.fixture
async def board(socket_enabled: None, tmp_path: Path) -> AsyncIterator[Board]:
    root = tmp_path / "board-webroot"
    write_folder(published(), root)
    server = Board(root)
    await server.start()
    yield server
    await server.stop()


def in_config(hass: HomeAssistant, folder: Folder, name: str = "published") -> str:
    write_folder(folder, Path(hass.config.path(name)))
    return name


# -- restoring --------------------------------------------------------------------------------


async def test_a_pages_site_gives_back_monthly_and_yearly_row_for_row(
    ha: HomeAssistant, house: PowerStatsMeter, pages: tuple[FakeGitHub, str]
) -> None:
    _, url = pages
    response = await restore(ha, source=url)
    folder = published(PAGES)
    today = int(at(2026, 11, 26, 0, 0).timestamp())
    for level in PAGES:
        rows = published_rows(folder, level)
        rows.pop(today)  # today is tracked live here; the published part of it stays out
        again = await local_rows(ha, level)
        # The day files hold what closed by the hour (12:00): nothing of today's live part yet.
        assert today not in again
        assert same_rows(again, rows), level
        assert response["meters"]["house"][level]["rows"] == len(rows) + 1
    assert response["meters"]["house"]["monthly"]["added"] == 29
    assert response["not_restored"] == []


async def test_the_boards_mirror_gives_back_daily_and_weekly_too(
    ha: HomeAssistant, house: PowerStatsMeter, board: Board
) -> None:
    response = await restore(ha, source=board.url)
    folder = published()
    for level in ("daily", "weekly"):
        again = await local_rows(ha, level)
        # The files now end 80 minutes later than the folder: all of it from their first row.
        first = min(await local_starts(ha, level))
        rows = {s: row for s, row in published_rows(folder, level).items() if s >= first}
        assert same_rows({s: again[s] for s in rows if s in again}, rows), level
        assert response["meters"]["house"][level]["added"] > 0
    assert sorted(board.requests) == sorted(
        ["/manifest.json", *(f"/house/{level}.json" for level in LEVELS_ALL)]
    )


LEVELS_ALL = ("daily", "weekly", "monthly", "yearly")


async def test_a_password_or_token_in_the_address_is_never_shown(
    ha: HomeAssistant, house: PowerStatsMeter, board: Board
) -> None:
    secret_url = board.url.replace("http://", "http://alice:s3cret@") + "?token=s3cret"
    answer = await restore(ha, source=secret_url, dry_run=True)
    assert answer["source"] == board.url
    with pytest.raises(ServiceValidationError) as caught:
        await restore(ha, source=secret_url.replace("/?", "/gone/?"))
    assert "s3cret" not in str(caught.value.translation_placeholders)


@pytest.mark.parametrize(
    "source",
    [
        "http://alice:s3cret@/published/",
        "http://alice:s3cret@board.local:99999/published/",
        "http://alice:s3cret@[bad/published/",
        "http://alice:4711/s3cret@board.local/published/",  # a password holding a '/'
    ],
)
async def test_an_address_that_cannot_be_read_is_refused_clearly_and_its_password_kept_out(
    ha: HomeAssistant, house: PowerStatsMeter, source: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    assert await refused(ha, house, source=source) == "restore_invalid_url"
    with pytest.raises(ServiceValidationError) as caught:
        await restore(ha, source=source)
    assert "is not an address PowerStats can restore from" in str(caught.value)
    for part in ("s3cret", "4711"):
        assert part not in str(caught.value)
        assert part not in str(caught.value.translation_placeholders)
        assert part not in caplog.text


async def test_a_folder_in_the_config_folder_restores_every_level(
    ha: HomeAssistant, house: PowerStatsMeter
) -> None:
    response = await restore(ha, source=in_config(ha, published()))
    added = {level: part["added"] for level, part in response["meters"]["house"].items()}
    assert set(added) == set(LEVELS_ALL)
    assert all(count > 0 for count in added.values())
    assert min(house.history.days) == min(OLD.days)


async def test_a_restore_that_could_not_be_saved_says_so_and_keeps_its_buckets_in_memory(
    ha: HomeAssistant, house: PowerStatsMeter
) -> None:
    source = in_config(ha, published())
    with snapshots_fail(), pytest.raises(HomeAssistantError) as caught:
        await restore(ha, source=source)
    assert caught.value.translation_key == "history_not_saved"
    assert caught.value.translation_placeholders == {"meter": "House"}
    assert min(house.history.days) == min(OLD.days)


async def test_restoring_twice_adds_nothing_the_second_time(
    ha: HomeAssistant, house: PowerStatsMeter
) -> None:
    source = in_config(ha, published())
    await restore(ha, source=source)
    before = await folder_state(ha, house)
    again = await restore(ha, source=source)
    assert all(part["added"] == 0 for part in again["meters"]["house"].values())
    assert await folder_state(ha, house) == before


async def test_buckets_tracked_live_here_are_never_replaced(
    ha: HomeAssistant, house: PowerStatsMeter, move_to: Clock
) -> None:
    # The old Home Assistant kept publishing while this one tracked: both cover 12:00-12:20.
    later = tracked(
        (NOW - timedelta(days=3)).timestamp(),
        (NOW + timedelta(minutes=20)).timestamp(),
        AMSTERDAM,
        price=0.31,
    )
    folder = publish(later, int((NOW + timedelta(minutes=20)).timestamp()), INFO)
    live = {s: house.history.ten_minutes[s] for s in house.history.ten_minutes}
    assert len(live) == 2
    await restore(ha, source=in_config(ha, folder))
    assert {s: house.history.ten_minutes[s] for s in live} == live
    assert all(b.mean_w == pytest.approx(640) for b in live.values())
    assert int((NOW - timedelta(minutes=10)).timestamp()) in house.history.ten_minutes


async def test_a_dry_run_reports_what_would_be_added_and_changes_nothing(
    ha: HomeAssistant, house: PowerStatsMeter
) -> None:
    source = in_config(ha, published())
    before = await folder_state(ha, house)
    dry = await restore(ha, source=source, dry_run=True)
    assert await folder_state(ha, house) == before
    real = await restore(ha, source=source)
    assert dry["meters"] == real["meters"]
    assert dry["dry_run"] is True


async def test_only_the_chosen_meters_are_restored(
    ha: HomeAssistant, house: PowerStatsMeter
) -> None:
    response = await restore(ha, source=in_config(ha, published()), meters=[meter_device(ha)])
    assert list(response["meters"]) == ["house"]


# -- refusing ---------------------------------------------------------------------------------


async def refused(hass: HomeAssistant, meter: PowerStatsMeter, **data: Any) -> str:
    """The translation key of the error a restore ended with; it changed nothing."""
    before = await folder_state(hass, meter)
    with pytest.raises(ServiceValidationError) as caught:
        await restore(hass, **data)
    assert await folder_state(hass, meter) == before
    assert caught.value.translation_key is not None
    return caught.value.translation_key


async def test_a_folder_with_one_bad_file_is_refused_whole(
    ha: HomeAssistant, house: PowerStatsMeter
) -> None:
    folder = published()
    folder.edit_level("house/weekly.json", lambda doc: doc["rows"][7].pop())
    assert await refused(ha, house, source=in_config(ha, folder)) == "restore_unreadable"


async def test_a_file_that_does_not_match_its_checksum_is_refused(
    ha: HomeAssistant, house: PowerStatsMeter
) -> None:
    folder = published()
    folder.files["house/yearly.json"] = folder.files["house/yearly.json"].replace(b"[", b"(", 1)
    assert await refused(ha, house, source=in_config(ha, folder)) == "restore_checksum"


async def test_a_source_that_is_not_there_is_named(
    ha: HomeAssistant, house: PowerStatsMeter, board: Board
) -> None:
    key = await refused(ha, house, source=board.url + "nothing-here/")
    assert key == "restore_fetch_failed"


async def test_a_file_longer_than_the_manifest_says_is_not_read_past_it(
    ha: HomeAssistant, house: PowerStatsMeter, board: Board
) -> None:
    daily = board.root / "house" / "daily.json"
    daily.write_bytes(daily.read_bytes() + b" " * 100_000)
    assert await refused(ha, house, source=board.url) == "restore_file_too_large"


async def test_a_folder_outside_the_config_folder_is_not_read(
    ha: HomeAssistant, house: PowerStatsMeter, tmp_path: Path
) -> None:
    outside = tmp_path.parent / "elsewhere"
    write_folder(published(), outside)
    assert await refused(ha, house, source=str(outside)) == "restore_path_not_allowed"


@pytest.mark.parametrize(
    "source",
    [
        "http://\x00/",
        "http://board.lo\ncal:8080/",  # split as board.local: not what was written
        "https://alice.github.io/energy/\t",
        "http://board.local:8080/\x85published/",
    ],
)
async def test_an_address_holding_a_control_character_is_refused_before_any_request(
    ha: HomeAssistant, house: PowerStatsMeter, source: str
) -> None:
    assert await refused(ha, house, source=source) == "restore_invalid_url"
    with pytest.raises(ServiceValidationError) as caught:
        await restore(ha, source=source)
    placeholders = caught.value.translation_placeholders or {}
    assert "control character" in placeholders["reason"]
    assert placeholders["source"] in ("http://…", "https://…")  # nothing of it garbles the text


async def test_a_folder_with_a_name_longer_than_the_file_system_allows_is_refused_clearly(
    ha: HomeAssistant, house: PowerStatsMeter
) -> None:
    source = "e" * 300  # in the config folder, which is there
    assert await refused(ha, house, source=source) == "restore_folder_unreadable"
    with pytest.raises(ServiceValidationError) as caught:
        await restore(ha, source=source)
    assert "255 bytes" in (caught.value.translation_placeholders or {})["error"]


async def test_a_folder_of_another_time_zone_is_refused(
    ha: HomeAssistant, house: PowerStatsMeter
) -> None:
    london = MeterInfo("house", "House", SOURCE, "power", "Europe/London", "EUR", True)
    folder = publish(OLD, PUBLISHED_AT, london, PAGES)
    assert await refused(ha, house, source=in_config(ha, folder)) == "restore_wrong_timezone"


async def test_a_folder_priced_in_another_currency_is_refused(
    ha: HomeAssistant, house: PowerStatsMeter
) -> None:
    dollars = replace(INFO, currency="USD")
    folder = publish(OLD, PUBLISHED_AT, dollars, PAGES)
    source = in_config(ha, folder)
    assert await refused(ha, house, source=source) == "restore_wrong_currency"
    with pytest.raises(ServiceValidationError) as caught:
        await restore(ha, source=source)
    assert "counts its cost in USD; this Home Assistant counts in EUR" in str(caught.value)


async def test_only_an_administrator_may_restore(
    ha: HomeAssistant, house: PowerStatsMeter, hass_read_only_user: Any
) -> None:
    with pytest.raises(Unauthorized):
        await ha.services.async_call(
            DOMAIN,
            "restore",
            {"source": in_config(ha, published())},
            blocking=True,
            return_response=True,
            context=Context(user_id=hass_read_only_user.id),
        )
