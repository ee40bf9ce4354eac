"""Which consumer offsets a model process may commit: only those whose Scores are written."""

from __future__ import annotations

from collections import deque
from collections.abc import Hashable
from dataclasses import dataclass


@dataclass
class Batch:
    """Requests read together from one partition, up to ``last_offset``."""

    partition: Hashable
    last_offset: int
    written: bool = False


class CommitTracker:
    """Batches in the order they were read, per partition; a partition may be committed up to
    the end of its longest prefix of written batches (a crash then re-reads, never skips)."""

    def __init__(self) -> None:
        self._batches: dict[Hashable, deque[Batch]] = {}

    def read(self, partition: Hashable, last_offset: int) -> Batch:
        """Note a batch just read; call :meth:`written` once its Scores are in Kafka."""
        batch = Batch(partition, last_offset)
        self._batches.setdefault(partition, deque()).append(batch)
        return batch

    @staticmethod
    def written(batch: Batch) -> None:
        """The batch's Scores were acknowledged by the broker."""
        batch.written = True

    def committable(self) -> dict[Hashable, int]:
        """The next offset to commit per partition that moved on (and forget those batches)."""
        offsets = {}
        for partition, batches in self._batches.items():
            last = None
            while batches and batches[0].written:
                last = batches.popleft().last_offset
            if last is not None:
                offsets[partition] = last + 1
        return offsets

    def forget(self, partitions: set[Hashable]) -> None:
        """Partitions taken away by a rebalance: their batches no longer count."""
        for partition in partitions:
            self._batches.pop(partition, None)

    def pending(self) -> int:
        """Batches read but not yet written."""
        return sum(not b.written for batches in self._batches.values() for b in batches)
