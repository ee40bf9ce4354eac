"""Read positions: how far a partition is read, in offsets and in event time."""

from __future__ import annotations

from streamapp.worker.positions import ReadPositions

T0 = 1_800_000_000_000


def test_a_partition_read_to_its_end_counts_as_read_up_to_now() -> None:
    ends = {0: 10}
    positions = ReadPositions(ends.get)
    positions.start(0, 5)
    positions.read(0, 9, T0 + 100)
    assert positions.read_up_to_ms(0, T0 + 500) == T0 + 500
    assert positions.lag(0) == 0 and positions.behind_ms(T0 + 500) == 0


def test_a_partition_behind_counts_as_read_up_to_the_last_stamp_it_read() -> None:
    ends = {0: 50}
    positions = ReadPositions(ends.get)
    positions.start(0, 5)
    positions.read(0, 9, T0 + 100)
    assert positions.read_up_to_ms(0, T0 + 500) == T0 + 100
    assert positions.lag(0) == 40
    assert positions.behind_ms(T0 + 500) == 400


def test_a_partition_never_fetched_is_not_known_to_be_read() -> None:
    positions = ReadPositions(lambda partition: None)
    positions.start(0, 5)
    assert positions.read_up_to_ms(0, T0) == 0
    assert positions.lag(0) is None and positions.lags() == {}


def test_an_empty_partition_from_its_committed_offset_is_read_to_its_end() -> None:
    ends = {0: 7}
    positions = ReadPositions(ends.get)
    positions.start(0, 7)
    assert positions.read_up_to_ms(0, T0) == T0


def test_forgotten_partitions_are_no_longer_reported() -> None:
    ends = {0: 7, 1: 9}
    positions = ReadPositions(ends.get)
    positions.start(0, 7)
    positions.start(1, 2)
    positions.forget({1})
    assert positions.lags() == {0: 0}
