"""The deadline clock: wakes mailboxes at their due time (a schedule step or the deadline).

It decides nothing itself: ``on_due`` is called in the loop at the due millisecond, for every
mailbox due, with no await in between, so one slow answer cannot hold up another deadline.

One timer of the event loop is set for the earliest due time, and set again when an earlier
one is scheduled or when it has rung: the clock may ring once per request, and a timer costs
neither a task nor a cancelled wait per ring.
"""

from __future__ import annotations

import asyncio
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
        #: The loop the clock runs in (None until ``run``), its timer and the time it is set for.
        self._loop: asyncio.AbstractEventLoop | None = None
        self._alarm: asyncio.TimerHandle | None = None
        self._alarm_ms: int | None = None
        self.failures = 0

    def __len__(self) -> int:
        return len(self._due)

    def schedule(self, key: tuple[int, str], due_ms: int) -> None:
        """Wake this mailbox at ``due_ms`` (replacing any earlier schedule for it)."""
        if self._due.get(key) == due_ms:
            return
        self._due[key] = due_ms
        heapq.heappush(self._heap, (due_ms, key))
        if self._alarm_ms is None or due_ms < self._alarm_ms:
            self._set_alarm(due_ms)

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

    def _set_alarm(self, due_ms: int) -> None:
        """Ring at ``due_ms`` instead of when the timer is set for now (once running)."""
        if self._loop is None:
            return  # ``run`` sets it when it starts
        if self._alarm is not None:
            self._alarm.cancel()
        self._alarm = self._loop.call_later(max(0.0, (due_ms - now_ms()) / 1000), self._ring)
        self._alarm_ms = due_ms

    def _ring(self) -> None:
        """Fire what is due, then set the timer for the earliest due time left."""
        self._alarm = self._alarm_ms = None
        try:
            self.fire_due(now_ms())
        finally:
            due = self._next_due()
            if due is not None:
                self._set_alarm(due)

    def _next_due(self) -> int | None:
        """The earliest due time still scheduled; entries of mailboxes cancelled or scheduled
        again are dropped from the top, so the timer never rings for them."""
        heap, scheduled = self._heap, self._due
        while heap and scheduled.get(heap[0][1]) != heap[0][0]:
            heapq.heappop(heap)
        return heap[0][0] if heap else None

    async def run(self) -> None:
        """Fire mailboxes as they fall due, until cancelled."""
        self._loop = asyncio.get_running_loop()
        try:
            self._ring()
            await self._loop.create_future()  # the timer rings from here on
        finally:
            if self._alarm is not None:
                self._alarm.cancel()
            self._loop, self._alarm, self._alarm_ms = None, None, None
