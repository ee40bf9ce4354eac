"""The deadline clock, run for real against a recording callback (bounded waits only)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from streamapp.worker.clock import DeadlineClock, now_ms


@dataclass
class Fired:
    """One wake-up as the clock made it, with the wall-clock time it was made."""

    key: tuple[int, str]
    due_ms: int
    fired_ms: int


@dataclass
class Recorder:
    """A callback that records wake-ups and signals once ``expected`` have come."""

    expected: int = 1
    fired: list[Fired] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    fail_for: set[tuple[int, str]] = field(default_factory=set)

    def on_due(self, key: tuple[int, str], due_ms: int) -> None:
        self.fired.append(Fired(key, due_ms, now_ms()))
        if len(self.fired) >= self.expected:
            self.arrived.set()
        if key in self.fail_for:
            raise RuntimeError(f"decision for {key} failed")

    async def wait(self, count: int) -> list[Fired]:
        """Wait (at most 2 s) until ``count`` wake-ups in all have come; return them."""
        self.expected = count
        if len(self.fired) < count:
            self.arrived.clear()
            await asyncio.wait_for(self.arrived.wait(), timeout=2)
        return list(self.fired)


@contextlib.asynccontextmanager
async def running(clock: DeadlineClock) -> AsyncIterator[None]:
    task = asyncio.create_task(clock.run())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_wake_ups_come_in_due_order_and_never_before_they_are_due() -> None:
    recorder = Recorder()
    clock = DeadlineClock(recorder.on_due)
    base = now_ms()
    clock.schedule((0, "c"), base + 30)
    clock.schedule((1, "a"), base + 5)
    clock.schedule((2, "b"), base + 15)
    async with running(clock):
        fired = await recorder.wait(3)
    assert [(f.key, f.due_ms) for f in fired] == [
        ((1, "a"), base + 5),
        ((2, "b"), base + 15),
        ((0, "c"), base + 30),
    ]
    assert all(f.fired_ms >= f.due_ms for f in fired)
    assert len(clock) == 0


async def test_rescheduling_a_mailbox_replaces_its_earlier_due_time() -> None:
    recorder = Recorder()
    clock = DeadlineClock(recorder.on_due)
    base = now_ms()
    clock.schedule((0, "r1"), base + 5)
    clock.schedule((0, "r1"), base + 20)
    clock.schedule((0, "later"), base + 30)
    async with running(clock):
        fired = await recorder.wait(2)
    assert [(f.key, f.due_ms) for f in fired] == [((0, "r1"), base + 20), ((0, "later"), base + 30)]


async def test_the_same_id_in_two_partitions_is_woken_twice() -> None:
    recorder = Recorder()
    clock = DeadlineClock(recorder.on_due)
    base = now_ms()
    clock.schedule((0, "same"), base + 5)
    clock.schedule((3, "same"), base + 5)
    async with running(clock):
        fired = await recorder.wait(2)
    assert sorted(f.key for f in fired) == [(0, "same"), (3, "same")]


async def test_cancelled_and_dropped_mailboxes_are_not_woken() -> None:
    recorder = Recorder()
    clock = DeadlineClock(recorder.on_due)
    base = now_ms()
    clock.schedule((0, "gone"), base + 5)
    clock.schedule((1, "moved"), base + 5)
    clock.schedule((2, "kept"), base + 10)
    clock.cancel((0, "gone"))
    clock.drop_partitions({1})
    async with running(clock):
        fired = await recorder.wait(1)
    assert [f.key for f in fired] == [(2, "kept")]


async def test_an_earlier_schedule_wakes_a_clock_waiting_for_a_later_one() -> None:
    recorder = Recorder()
    clock = DeadlineClock(recorder.on_due)
    base = now_ms()
    clock.schedule((0, "far"), base + 60_000)
    async with running(clock):
        await asyncio.sleep(0)  # let the clock start waiting for the far one
        clock.schedule((0, "near"), now_ms() + 10)
        fired = await recorder.wait(1)
    assert [f.key for f in fired] == [(0, "near")]


async def test_a_failing_decision_is_counted_and_the_other_deadlines_still_fire() -> None:
    recorder = Recorder(fail_for={(0, "broken")})
    clock = DeadlineClock(recorder.on_due)
    base = now_ms()
    clock.schedule((0, "broken"), base + 5)
    clock.schedule((0, "fine"), base + 5)
    clock.schedule((0, "after"), base + 15)
    async with running(clock):
        fired = await recorder.wait(3)
    assert {f.key for f in fired} == {(0, "broken"), (0, "fine"), (0, "after")}
    assert clock.failures == 1


def test_overdue_mailboxes_fire_at_once_in_due_order() -> None:
    recorder = Recorder()
    clock = DeadlineClock(recorder.on_due)
    base = now_ms()
    clock.schedule((0, "b"), base - 5)
    clock.schedule((0, "a"), base - 10)
    assert clock.fire_due(base) == 2
    assert [f.key for f in recorder.fired] == [(0, "a"), (0, "b")]


async def test_a_wake_up_scheduled_by_a_decision_as_it_fires_comes_too() -> None:
    clock: DeadlineClock

    def step_then_deadline(key: tuple[int, str], due_ms: int) -> None:
        recorder.on_due(key, due_ms)
        if len(recorder.fired) == 1:  # the policy's next step: wake the same mailbox later
            clock.schedule(key, due_ms + 10)

    recorder = Recorder()
    clock = DeadlineClock(step_then_deadline)
    base = now_ms()
    clock.schedule((0, "mailbox"), base + 5)
    clock.schedule((0, "far"), base + 60_000)
    async with running(clock):
        fired = await recorder.wait(2)
    assert [(f.key, f.due_ms) for f in fired] == [
        ((0, "mailbox"), base + 5),
        ((0, "mailbox"), base + 15),
    ]
    assert fired[1].fired_ms >= base + 15
