"""The deadline clock: wakes mailboxes at their due time (a schedule step or the deadline).

It decides nothing itself: ``on_due`` is called in the loop at the due millisecond, for every
mailbox due, with no await in between, so one slow answer cannot hold up another deadline.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import logging
import time
from collections.abc import Callable, Hashable, Iterable

log = logging.getLogger(__name__)

#: Called with (key, due ms) when a mailbox falls due; must not block.
OnDue = Callable[[tuple[int, str], int], None]


def now_ms() -> int:
    """Wall-clock time in epoch milliseconds."""
    return time.time_ns() // 1_000_000


class DeadlineClock:
    """A heap of (due, key); the latest schedule per key wins. Keys are (partition, id)."""

    def __init__(self, on_due: OnDue) -> None:
        self._on_due = on_due
        self._heap: list[tuple[int, tuple[int, str]]] = []
        self._due: dict[tuple[int, str], int] = {}
        self._changed = asyncio.Event()
        self.failures = 0

    def __len__(self) -> int:
        return len(self._due)

    def schedule(self, key: tuple[int, str], due_ms: int) -> None:
        """Wake this mailbox at ``due_ms`` (replacing any earlier schedule for it)."""
        if self._due.get(key) == due_ms:
            return
        self._due[key] = due_ms
        heapq.heappush(self._heap, (due_ms, key))
        if self._heap[0][0] == due_ms:
            self._changed.set()

    def cancel(self, key: tuple[int, str]) -> None:
        """Stop waking this mailbox."""
        self._due.pop(key, None)

    def drop_partitions(self, partitions: Iterable[Hashable]) -> None:
        """Forget the mailboxes of partitions this worker no longer owns."""
        gone = set(partitions)
        for key in [k for k in self._due if k[0] in gone]:
            del self._due[key]

    def _pop_due(self, at_ms: int) -> list[tuple[tuple[int, str], int]]:
        fired = []
        while self._heap and self._heap[0][0] <= at_ms:
            due, key = heapq.heappop(self._heap)
            if self._due.get(key) == due:
                del self._due[key]
                fired.append((key, due))
        return fired

    def fire_due(self, at_ms: int) -> int:
        """Call ``on_due`` for every mailbox due by ``at_ms``; a failing call is logged and
        counted, never stops the others. Returns how many fired."""
        fired = self._pop_due(at_ms)
        for key, due in fired:
            try:
                self._on_due(key, due)
            except Exception:
                self.failures += 1
                log.exception("deadline of %s at %d failed", key, due)
        return len(fired)

    async def run(self) -> None:
        """Fire mailboxes as they fall due, forever."""
        while True:
            self.fire_due(now_ms())
            self._changed.clear()
            delay = (self._heap[0][0] - now_ms()) / 1000 if self._heap else 3600.0
            if delay > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), timeout=delay)
