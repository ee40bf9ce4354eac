"""The deadline clock, run for real against a recording send function (bounded waits only)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from streamapp.worker.clock import DeadlineClock, now_ms


@dataclass
class Sent:
    """One tick as the clock sent it, with the wall-clock time it was sent."""

    request_id: str
    partition: int
    due_ms: int
    sent_ms: int


@dataclass
class Ticks:
    """A fake send function that records ticks and signals once ``expected`` have arrived."""

    expected: int = 1
    sent: list[Sent] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    async def send(self, request_id: str, partition: int, due_ms: int) -> None:
        self.sent.append(Sent(request_id, partition, due_ms, now_ms()))
        if len(self.sent) >= self.expected:
            self.arrived.set()

    async def wait(self, count: int) -> list[Sent]:
        """Wait (at most 2 s) until ``count`` ticks in all have been sent; return them."""
        self.expected = count
        if len(self.sent) < count:
            self.arrived.clear()
            await asyncio.wait_for(self.arrived.wait(), timeout=2)
        return list(self.sent)


@contextlib.asynccontextmanager
async def running(clock: DeadlineClock) -> AsyncIterator[None]:
    task = asyncio.create_task(clock.run())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_ticks_come_in_due_order_and_never_before_they_are_due() -> None:
    ticks = Ticks()
    clock = DeadlineClock(ticks.send)
    base = now_ms()
    clock.schedule("c", 0, base + 30)
    clock.schedule("a", 1, base + 5)
    clock.schedule("b", 2, base + 15)
    async with running(clock):
        sent = await ticks.wait(3)
    assert [(s.request_id, s.partition, s.due_ms) for s in sent] == [
        ("a", 1, base + 5),
        ("b", 2, base + 15),
        ("c", 0, base + 30),
    ]
    assert all(s.sent_ms >= s.due_ms for s in sent)
    assert len(clock) == 0


async def test_rescheduling_a_request_replaces_its_earlier_due_time() -> None:
    ticks = Ticks()
    clock = DeadlineClock(ticks.send)
    base = now_ms()
    clock.schedule("r1", 0, base + 5)
    clock.schedule("r1", 0, base + 20)
    clock.schedule("later", 0, base + 30)
    assert len(clock) == 2
    async with running(clock):
        sent = await ticks.wait(2)
    assert [(s.request_id, s.due_ms) for s in sent] == [("r1", base + 20), ("later", base + 30)]


async def test_cancelled_request_gets_no_tick() -> None:
    ticks = Ticks()
    clock = DeadlineClock(ticks.send)
    base = now_ms()
    clock.schedule("cancelled", 0, base + 5)
    clock.schedule("kept", 0, base + 20)
    clock.cancel("cancelled")
    async with running(clock):
        sent = await ticks.wait(1)
    assert [s.request_id for s in sent] == ["kept"]


async def test_only_kept_partitions_are_ticked() -> None:
    ticks = Ticks()
    clock = DeadlineClock(ticks.send)
    clock.keep_partitions([1, 3])
    base = now_ms()
    clock.schedule("elsewhere", 0, base + 5)
    clock.schedule("mine", 3, base + 20)
    async with running(clock):
        sent = await ticks.wait(1)
    assert [(s.request_id, s.partition) for s in sent] == [("mine", 3)]


async def test_an_earlier_schedule_wakes_a_clock_waiting_for_a_later_one() -> None:
    ticks = Ticks()
    clock = DeadlineClock(ticks.send)
    base = now_ms()
    clock.schedule("first", 0, base + 5)
    clock.schedule("far", 0, base + 60_000)
    async with running(clock):
        await ticks.wait(1)  # the clock now waits for "far", a minute away
        soon = now_ms() + 10
        clock.schedule("soon", 0, soon)
        sent = await ticks.wait(2)
    assert [(s.request_id, s.due_ms) for s in sent] == [("first", base + 5), ("soon", soon)]
    assert sent[1].sent_ms >= soon


async def test_overdue_requests_are_ticked_at_once_in_due_order() -> None:
    ticks = Ticks()
    clock = DeadlineClock(ticks.send)
    base = now_ms()
    clock.schedule("recent", 0, base - 10)
    clock.schedule("oldest", 0, base - 500)
    async with running(clock):
        sent = await ticks.wait(2)
    assert [s.request_id for s in sent] == ["oldest", "recent"]
