"""``GET /v1/stats`` reads the buckets of the window asked for, never more than the retention,
and newer buckets folded in memory win over what is stored."""

from __future__ import annotations

import orjson
import pytest

from streamapp.app import settings
from streamapp.stats.buckets import BUCKET_MS, bucket_of
from streamapp.stats.folding import bucket_key
from streamapp.stats.report import local_buckets
from streamapp.web import stats_views

NOW = 1_800_000_000_000
RETENTION_MINUTES = int(settings.stats_retention_s * 1000) // BUCKET_MS


class CountingTable:
    """Stands in for the statistics table's ``get``, counting the lookups."""

    def __init__(self, stored: dict[bytes, bytes]) -> None:
        self.stored = stored
        self.gets = 0

    def get(self, key: bytes) -> bytes | None:
        self.gets += 1
        return self.stored.get(key)


def minute_ago(minutes: int) -> int:
    return bucket_of(NOW - minutes * BUCKET_MS)


def bucket(minute: int, requests: int) -> bytes:
    return orjson.dumps({"minute": minute, "requests": requests})


@pytest.fixture()
def table(monkeypatch: pytest.MonkeyPatch) -> CountingTable:
    stored = {
        bucket_key(0, minute_ago(5)): bucket(minute_ago(5), 5),
        bucket_key(1, minute_ago(0)): bucket(minute_ago(0), 7),
        bucket_key(0, minute_ago(30)): bucket(minute_ago(30), 30),
        bucket_key(0, minute_ago(2 * RETENTION_MINUTES)): bucket(0, 99),
    }
    counting = CountingTable(stored)
    monkeypatch.setattr(stats_views, "stats_table", counting)
    return counting


async def test_a_window_reads_its_own_minutes_only(table: CountingTable) -> None:
    found = await stats_views.stored_buckets(NOW - 10 * BUCKET_MS, NOW, now=NOW)
    assert set(found) == {(0, minute_ago(5)), (1, minute_ago(0))}
    assert table.gets == settings.partitions * 11, "one lookup per partition and minute"


async def test_a_window_from_the_epoch_reads_no_further_back_than_the_retention(
    table: CountingTable,
) -> None:
    found = await stats_views.stored_buckets(0, NOW, now=NOW)
    assert (0, minute_ago(2 * RETENTION_MINUTES)) not in found
    assert (0, minute_ago(30)) in found
    assert table.gets <= settings.partitions * (RETENTION_MINUTES + 1)


def test_buckets_folded_in_memory_win_over_stored_ones_and_carry_their_partition() -> None:
    stored = {(0, minute_ago(1)): bucket(minute_ago(1), 1)}
    unwritten = {
        (0, minute_ago(1)): {"minute": minute_ago(1), "requests": 2},
        (3, minute_ago(90)): {"minute": minute_ago(90), "requests": 9},  # outside the window
    }
    buckets = local_buckets(stored, unwritten, NOW - 10 * BUCKET_MS, NOW)
    assert buckets == [{"minute": minute_ago(1), "requests": 2, "partition": 0}]
