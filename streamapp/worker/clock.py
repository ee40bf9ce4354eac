"""The deadline clock: wakes mailboxes at their due time by sending a Tick to their partition.

It holds no table state (only agents write tables); after a restart or rebalance it is
refilled from the recovered mailboxes, so overdue requests are answered at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import time
from collections.abc import Awaitable, Callable, Iterable

#: Called with (request id, partition, due ms) when a mailbox falls due.
OnDue = Callable[[str, int, int], Awaitable[None]]


def now_ms() -> int:
    """Wall-clock time in epoch milliseconds."""
    return time.time_ns() // 1_000_000


class DeadlineClock:
    """A heap of (due, request id, partition); the latest schedule per request wins."""

    def __init__(self, on_due: OnDue) -> None:
        self._on_due = on_due
        self._heap: list[tuple[int, str, int]] = []
        self._due: dict[str, int] = {}
        self._active: set[int] | None = None
        self._changed = asyncio.Event()

    def __len__(self) -> int:
        return len(self._due)

    def schedule(self, request_id: str, partition: int, due_ms: int) -> None:
        """Wake this request at ``due_ms`` (replacing any earlier schedule for it)."""
        if self._due.get(request_id) == due_ms:
            return
        self._due[request_id] = due_ms
        heapq.heappush(self._heap, (due_ms, request_id, partition))
        if self._heap[0][0] == due_ms:
            self._changed.set()

    def cancel(self, request_id: str) -> None:
        """Stop waking this request."""
        self._due.pop(request_id, None)

    def keep_partitions(self, partitions: Iterable[int]) -> None:
        """Only wake mailboxes of these partitions (the ones this worker owns now)."""
        self._active = set(partitions)

    def _pop_due(self, at_ms: int) -> list[tuple[str, int, int]]:
        fired = []
        while self._heap and self._heap[0][0] <= at_ms:
            due, request_id, partition = heapq.heappop(self._heap)
            if self._due.get(request_id) != due:
                continue
            del self._due[request_id]
            if self._active is None or partition in self._active:
                fired.append((request_id, partition, due))
        return fired

    async def run(self) -> None:
        """Send ticks as they fall due, forever."""
        while True:
            for request_id, partition, due in self._pop_due(now_ms()):
                await self._on_due(request_id, partition, due)
            self._changed.clear()
            delay = (self._heap[0][0] - now_ms()) / 1000 if self._heap else 3600.0
            if delay > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), timeout=delay)
