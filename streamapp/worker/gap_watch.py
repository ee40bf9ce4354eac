"""Noticing offsets a consumer never delivered: the data path must not lose a request silently."""

from __future__ import annotations


class GapWatch:
    """The last offset seen per partition of one topic; reports jumps over unseen offsets.

    Redelivery (an offset at or below the last one) is normal after a restart and is not a gap.
    A jump can be harmless (transaction markers of a transactional producer) or a message the
    consumer skipped; either way it is worth a warning with the exact range.
    """

    def __init__(self) -> None:
        self._last: dict[int, int] = {}

    def see(self, partition: int, offset: int) -> tuple[int, int] | None:
        """Record ``offset``; return the (first, last) offsets jumped over, if any."""
        last = self._last.get(partition)
        self._last[partition] = offset
        if last is not None and offset > last + 1:
            return last + 1, offset - 1
        return None

    def reset(self, committed: dict[int, int] | None = None) -> None:
        """Start again (after a rebalance), from the group's committed offsets if known.

        With a committed offset C for a partition, the first record must be C: a higher first
        offset is reported as a gap too (a record dropped right after a restart).
        """
        self._last = {partition: offset - 1 for partition, offset in (committed or {}).items()}
