"""The journal's appends, shared by every meter, in a real HA core."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from unittest.mock import patch

import pytest
from homeassistant.core import HomeAssistant

from custom_components.powerstats import store
from custom_components.powerstats.store import journal_appends

from .folder_syncs import FolderSyncs, folder_syncs

__all__ = ["folder_syncs"]  # a fixture used by name below


async def test_lines_appended_together_are_written_by_one_job_each_to_its_own_journal(
    ha: HomeAssistant, tmp_path: Path
) -> None:
    jobs: list[list[tuple[Path, bytes]]] = []
    append_each = store._append_each

    def counted(lines: list[tuple[Path, bytes]]) -> list[Exception | None]:
        jobs.append(lines)
        return append_each(lines)

    journals = [tmp_path / ".storage" / f"meter_{i}.journal" for i in range(5)]
    with patch.object(store, "_append_each", counted):
        await asyncio.gather(
            *(journal_appends(ha).async_append(path, b'{"line":1}\n') for path in journals)
        )
        await journal_appends(ha).async_append(journals[0], b'{"line":2}\n')
    assert [len(lines) for lines in jobs] == [5, 1]
    contents = [await ha.async_add_executor_job(path.read_bytes) for path in journals]
    assert contents == [b'{"line":1}\n{"line":2}\n'] + [b'{"line":1}\n'] * 4


async def test_a_journal_that_cannot_be_written_fails_its_own_append_only(
    ha: HomeAssistant, tmp_path: Path
) -> None:
    blocked = tmp_path / "a_file"
    await ha.async_add_executor_job(blocked.write_text, "not a folder")
    good = tmp_path / ".storage" / "good.journal"
    results = await asyncio.gather(
        journal_appends(ha).async_append(blocked / "bad.journal", b"{}\n"),
        journal_appends(ha).async_append(good, b"{}\n"),
        return_exceptions=True,
    )
    assert isinstance(results[0], NotADirectoryError)
    assert results[1] is None
    assert await ha.async_add_executor_job(good.read_bytes) == b"{}\n"


async def test_an_append_after_a_failed_one_is_written(ha: HomeAssistant, tmp_path: Path) -> None:
    blocked = tmp_path / "a_file"
    await ha.async_add_executor_job(blocked.write_text, "not a folder")
    with pytest.raises(NotADirectoryError):
        await journal_appends(ha).async_append(blocked / "bad.journal", b"{}\n")
    good = tmp_path / "good.journal"
    await journal_appends(ha).async_append(good, b"{}\n")
    assert await ha.async_add_executor_job(good.read_bytes) == b"{}\n"


async def test_a_journal_just_begun_is_listed_in_its_synced_folder_and_later_lines_sync_it_not(
    ha: HomeAssistant, tmp_path: Path, folder_syncs: FolderSyncs
) -> None:
    journal = tmp_path / ".storage" / "house.journal"
    await journal_appends(ha).async_append(journal, b'{"line":1}\n')
    await journal_appends(ha).async_append(journal, b'{"line":2}\n')
    synced = await ha.async_add_executor_job(folder_syncs.of, journal.parent)
    assert synced == [{"house.journal": b'{"line":1}\n'}]


async def test_a_fault_of_the_writing_job_fails_its_appends_and_the_next_is_written(
    ha: HomeAssistant, tmp_path: Path
) -> None:
    def broken(lines: list[tuple[Path, bytes]]) -> list[Exception | None]:
        raise RuntimeError("the job broke")

    journal = tmp_path / "house.journal"
    with (
        patch.object(store, "_append_each", broken),
        pytest.raises(RuntimeError, match="the job broke"),
    ):
        await journal_appends(ha).async_append(journal, b'{"line":1}\n')
    await journal_appends(ha).async_append(journal, b'{"line":2}\n')
    assert await ha.async_add_executor_job(journal.read_bytes) == b'{"line":2}\n'


class HeldJob:
    """`_append_each` held in its executor job until released, so a test acts while lines are
    being written; `started` is set once the job holds them."""

    def __init__(self) -> None:
        self.started = threading.Event()
        self.release = threading.Event()
        self._append_each = store._append_each

    def __call__(self, lines: list[tuple[Path, bytes]]) -> list[Exception | None]:
        self.started.set()
        self.release.wait(30)
        return self._append_each(lines)


async def test_a_meter_that_stops_waiting_leaves_the_others_their_appends(
    ha: HomeAssistant, tmp_path: Path
) -> None:
    gone, kept = tmp_path / "gone.journal", tmp_path / "kept.journal"
    held = HeldJob()
    with patch.object(store, "_append_each", held):
        try:
            stopped = ha.async_create_task(journal_appends(ha).async_append(gone, b"{}\n"))
            waiting = ha.async_create_task(journal_appends(ha).async_append(kept, b"{}\n"))
            assert await ha.async_add_executor_job(held.started.wait, 30)  # both in the job
            stopped.cancel()
        finally:
            held.release.set()
        await waiting
    assert stopped.cancelled()
    assert await ha.async_add_executor_job(kept.read_bytes) == b"{}\n"
    # The line of the meter that stopped waiting was in the job all the same.
    assert await ha.async_add_executor_job(gone.read_bytes) == b"{}\n"


async def test_appends_whose_writing_is_cancelled_are_cancelled_not_left_waiting(
    ha: HomeAssistant, tmp_path: Path
) -> None:
    held = HeldJob()
    with patch.object(store, "_append_each", held):
        try:
            append = ha.async_create_task(
                journal_appends(ha).async_append(tmp_path / "house.journal", b"{}\n")
            )
            assert await ha.async_add_executor_job(held.started.wait, 30)  # being written
            later = ha.async_create_task(  # waits for the next job
                journal_appends(ha).async_append(tmp_path / "solar.journal", b"{}\n")
            )
            (writer,) = [
                task
                for task in asyncio.all_tasks()
                if getattr(task.get_coro(), "__qualname__", "") == "JournalAppends._async_write"
            ]
            writer.cancel()
            for cancelled in (append, later):
                with pytest.raises(asyncio.CancelledError):
                    await cancelled
        finally:
            held.release.set()
