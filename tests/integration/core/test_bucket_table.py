"""A level of history kept as columns (bucket_table.py): a mapping of buckets by start."""

from __future__ import annotations

import gc
import math
import random
from dataclasses import replace
from zoneinfo import ZoneInfo

import pytest

from custom_components.powerstats.core.accounting import Bucket
from custom_components.powerstats.core.bucket_table import BucketTable
from custom_components.powerstats.core.rollup import History, bucket_to_list

AMS = ZoneInfo("Europe/Amsterdam")
DAY = 86400


def bucket(start: int, kwh: float = 1.5, **changes: object) -> Bucket:
    base = Bucket(start, DAY, kwh, 86000.0, 10.0, 900.5, 0.375, 0.0)
    return replace(base, **changes)  # type: ignore[arg-type]


def stamps(table: BucketTable) -> list[int]:
    """The stamps of every bucket of `table`, in start order."""
    return table.span(0, 2**62)[2]


def test_a_stored_bucket_reads_back_equal_including_its_missing_values() -> None:
    table = BucketTable()
    full = bucket(0, backfill=43000.0)
    empty = bucket(DAY, kwh=0.0, covered=0.0, min_w=None, max_w=None, cost=None)
    table[0], table[DAY] = full, empty
    assert table[0] == full
    assert table[DAY] == empty
    assert table.get(2 * DAY) is None
    assert 2 * DAY not in table
    with pytest.raises(KeyError):
        table[2 * DAY]


def test_buckets_are_kept_in_start_order_whatever_order_they_arrive() -> None:
    starts = [i * DAY for i in range(50)]
    random.Random(7).shuffle(starts)
    table = BucketTable(bucket(s) for s in starts)
    assert list(table) == sorted(starts)
    assert [b.start for b in table.buckets()] == sorted(starts)
    assert len(table) == 50


def test_replacing_a_bucket_gives_it_a_new_stamp_and_leaves_the_others_theirs() -> None:
    table = BucketTable(bucket(i * DAY) for i in range(3))
    before = stamps(table)
    table[DAY] = bucket(DAY, kwh=2.0)
    after = stamps(table)
    assert after[0] == before[0]
    assert after[2] == before[2]
    assert after[1] != before[1]
    assert table[DAY].kwh == 2.0


def test_no_two_tables_hand_out_the_same_stamp() -> None:
    first, second = BucketTable([bucket(0)]), BucketTable([bucket(0)])
    assert stamps(first) != stamps(second)


def test_dropping_before_a_start_keeps_that_start_and_everything_after_it() -> None:
    table = BucketTable(bucket(i * DAY) for i in range(5))
    assert table.drop_before(2 * DAY)
    assert list(table) == [2 * DAY, 3 * DAY, 4 * DAY]
    assert table[2 * DAY] == bucket(2 * DAY)
    assert not table.drop_before(2 * DAY)


def test_deleting_a_bucket_removes_only_that_one() -> None:
    table = BucketTable(bucket(i * DAY) for i in range(3))
    del table[DAY]
    assert table.buckets() == [bucket(0), bucket(2 * DAY)]


def test_a_copy_changes_independently_of_its_original() -> None:
    table = BucketTable([bucket(0)])
    copy = table.copy()
    copy[DAY] = bucket(DAY)
    del copy[0]
    assert list(table) == [0]
    assert list(copy) == [DAY]


def test_a_span_names_the_positions_starts_and_stamps_of_a_range() -> None:
    table = BucketTable(bucket(i * DAY) for i in range(5))
    first, starts, stamps_in_span = table.span(DAY, 3 * DAY)
    assert first == 1
    assert starts == [DAY, 2 * DAY]
    assert stamps_in_span == stamps(table)[1:3]


def test_a_column_reads_one_field_with_nan_where_a_value_is_missing() -> None:
    table = BucketTable([bucket(0, cost=None), bucket(DAY, cost=0.5)])
    assert table.column("kwh", 0, 2) == [1.5, 1.5]
    cost = table.column("cost", 0, 2)
    assert math.isnan(cost[0])
    assert cost[1] == 0.5
    assert table.column("kwh", 1, 1) == []


def test_a_bucket_stored_under_another_start_is_refused() -> None:
    with pytest.raises(ValueError, match="starting at 0 stored at 86400"):
        BucketTable()[DAY] = bucket(0)


def test_a_year_of_history_adds_no_objects_for_the_garbage_collector_to_walk() -> None:
    rows = [bucket_to_list(bucket(i * DAY, kwh=i / 7)) for i in range(400)]
    gc.collect()
    tracked = len(gc.get_objects())
    history = History.from_json(AMS, {"ten_minutes": [], "hours": [], "days": rows})
    gc.collect()
    assert len(history.days) == 400
    # The history, its three tables and their arrays: not one object per bucket.
    assert len(gc.get_objects()) - tracked < 20


def test_a_table_built_in_one_go_equals_one_built_bucket_by_bucket() -> None:
    buckets = [bucket(i * DAY, kwh=i / 3, cost=None if i % 2 else 0.25) for i in range(20)]
    shuffled = buckets[::-1]
    one_go = BucketTable.of([*shuffled, bucket(5 * DAY, kwh=9.0)])
    by_bucket = BucketTable(shuffled)
    by_bucket[5 * DAY] = bucket(5 * DAY, kwh=9.0)
    assert one_go.buckets() == by_bucket.buckets()
    assert one_go[5 * DAY].kwh == 9.0
