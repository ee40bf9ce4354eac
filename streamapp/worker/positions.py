"""How far each partition of a topic has been read, in offsets and in event time.

A mailbox past its deadline is decided on the scores that reached Kafka by then. Those are all
in hand once this worker has read its scores partition past the deadline (a score stamped
later was read), or has read all of it (nothing more is there: the time read up to is now).
The same positions of the requests topic tell how far behind the worker is (its lag).
"""

from __future__ import annotations

from collections.abc import Callable


class ReadPositions:
    """Read position (offset and latest timestamp) per partition of one topic on this worker."""

    def __init__(self, highwater: Callable[[int], int | None]) -> None:
        self._highwater = highwater
        self._offset: dict[int, int] = {}
        self._time_ms: dict[int, int] = {}

    def start(self, partition: int, next_offset: int | None) -> None:
        """This worker now reads the partition from ``next_offset`` (its committed offset)."""
        self._offset[partition] = (next_offset or 0) - 1
        self._time_ms.pop(partition, None)

    def read(self, partition: int, offset: int, timestamp_ms: int) -> None:
        """A score message of this partition has been handled."""
        self._offset[partition] = offset
        if timestamp_ms > self._time_ms.get(partition, 0):
            self._time_ms[partition] = timestamp_ms

    def read_up_to_ms(self, partition: int, now_ms: int) -> int:
        """The event time up to which every score of the partition is in hand."""
        end = self._highwater(partition)
        if end is not None and self._offset.get(partition, -1) + 1 >= end:
            return now_ms
        return self._time_ms.get(partition, 0)

    def lag(self, partition: int) -> int | None:
        """Messages not read yet (None until the broker has said how many there are)."""
        end = self._highwater(partition)
        return None if end is None else max(0, end - self._offset.get(partition, -1) - 1)

    def lags(self) -> dict[int, int]:
        """Messages not read yet, per partition this worker reads (where the broker said)."""
        found = {p: self.lag(p) for p in sorted(self._offset)}
        return {p: n for p, n in found.items() if n is not None}

    def behind_ms(self, now_ms: int) -> int:
        """How far behind the newest message this worker reads: 0 when nothing is waiting,
        else the age of the last message read on the partition furthest behind."""
        behind = 0
        for partition, waiting in self.lags().items():
            if waiting:
                behind = max(behind, now_ms - self._time_ms.get(partition, now_ms))
        return behind

    def forget(self, partitions: set[int]) -> None:
        """These partitions moved to another worker."""
        for partition in partitions:
            self._offset.pop(partition, None)
            self._time_ms.pop(partition, None)
