"""Holding Kafka events unacknowledged until everything they brought is settled.

A request is acknowledged once its answer has been handed to the producer, and a message of
scores once every mailbox it filed into has been answered. Until then Faust does not commit
its offset, so after a crash it is read again: open mailboxes live in Kafka, not in a table.

Acknowledgements reach Faust in offset order per partition. Faust commits the end of the first
run of acknowledged offsets and treats a single missing offset at its head as a gap to skip
(faust-streaming #606): acknowledging out of order could commit past an open mailbox's request.
"""

from __future__ import annotations

from collections import deque
from typing import Any


class _Entry:
    __slots__ = ("done", "event")

    def __init__(self, event: Any) -> None:
        self.event = event
        self.done = False


class InOrderAcks:
    """Acknowledges each partition's events in the order they were read."""

    def __init__(self) -> None:
        self._queues: dict[Any, deque[_Entry]] = {}

    def read(self, event: Any) -> _Entry:
        """Note an event as it is read; settle it with :meth:`settle`."""
        entry = _Entry(event)
        self._queues.setdefault(event.message.tp, deque()).append(entry)
        return entry

    def settle(self, entry: _Entry) -> None:
        """The event is done: acknowledge it and every done event after it, up to the first
        one still in flight."""
        entry.done = True
        queue = self._queues.get(entry.event.message.tp)
        while queue and queue[0].done:
            queue.popleft().event.ack()

    def settle_event(self, event: Any) -> None:
        """Settle an event whatever became of it (after a failure): its entry if it has one,
        else a new one."""
        for entry in self._queues.get(event.message.tp, ()):
            if entry.event is event:
                self.settle(entry)
                return
        self.settle(self.read(event))

    def in_flight(self) -> int:
        """Events read and not acknowledged yet."""
        return sum(len(q) for q in self._queues.values())

    def forget(self, tps: set[Any]) -> None:
        """Partitions taken away: their events are read again by the new owner."""
        for tp in tps:
            self._queues.pop(tp, None)


class Hold:
    """One event, released ``count`` times before it is acknowledged (in order)."""

    __slots__ = ("_acks", "_entry", "remaining")

    def __init__(self, acks: InOrderAcks, event: Any, count: int = 1) -> None:
        self._acks = acks
        self._entry = acks.read(event)
        self.remaining = count

    def release(self) -> None:
        """One of the things this event brought is settled; after the last, acknowledge."""
        self.remaining -= 1
        if self.remaining == 0:
            self._acks.settle(self._entry)
