"""Faust's consumer delivers a message in place, and races it as before when it has to wait."""

from __future__ import annotations

import asyncio
import gc
import inspect
import warnings
from typing import Any

import pytest
from faust.transport.consumer import Consumer as FaustConsumer
from mode import Service

from streamapp.worker import eager_delivery


class Consumer:
    """Faust's consumer's ``wait_first``, on a mode service of this loop: all it touches (a
    whole Faust app would build a loop for its consumer thread and leave it open)."""

    def __init__(self) -> None:
        self.service = Service(loop=asyncio.get_running_loop())
        self._stopped = self.service._stopped

    async def wait_first(self, *coros: Any, timeout: Any = None) -> Any:
        return await FaustConsumer.wait_first(self.service, *coros, timeout=timeout)


def new_consumer() -> Consumer:
    eager_delivery.install()
    return Consumer()


def test_installed_twice_faust_is_patched_once() -> None:
    eager_delivery.install()
    patched = FaustConsumer.wait_first
    eager_delivery.install()
    assert FaustConsumer.wait_first is patched


def test_a_delivery_that_need_not_wait_runs_in_place_and_the_race_is_never_started() -> None:
    async def scenario() -> None:
        consumer = new_consumer()
        delivered: list[str] = []
        turns: list[str] = []

        async def deliver(message: str) -> str:
            delivered.append(message)
            return f"put {message}"

        suspended = asyncio.Event()
        raced = suspended.wait()
        asyncio.get_running_loop().call_soon(turns.append, "the loop turned")
        tasks_before = len(asyncio.all_tasks())
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # "coroutine ... was never awaited" would fail
            result = await consumer.wait_first(deliver("m1"), raced)
            assert len(asyncio.all_tasks()) == tasks_before
            gc.collect()
        assert delivered == ["m1"]
        assert result.results == ["put m1"] and not result.stopped
        assert turns == []  # no task was started, so the loop did not turn
        assert inspect.getcoroutinestate(raced) == inspect.CORO_CLOSED

    asyncio.run(scenario())


def test_a_delivery_that_waits_goes_on_where_it_stopped_and_returns_its_result() -> None:
    async def scenario() -> None:
        consumer = new_consumer()
        room = asyncio.get_running_loop().create_future()
        steps: list[str] = []

        async def deliver() -> str:
            steps.append("started")
            value = await room  # a full buffer
            steps.append(f"resumed with {value}")
            await asyncio.sleep(0)
            return "put"

        asyncio.get_running_loop().call_later(0.01, room.set_result, "room")
        result = await consumer.wait_first(deliver(), asyncio.Event().wait())
        assert steps == ["started", "resumed with room"]
        assert result.results[0] == "put" and not result.stopped

    asyncio.run(scenario())


def test_a_delivery_still_waiting_when_the_flow_is_suspended_is_cancelled_as_faust_does() -> None:
    async def scenario() -> None:
        consumer = new_consumer()
        never = asyncio.get_running_loop().create_future()
        suspend_flow = asyncio.Event()
        ended: list[str] = []

        async def deliver() -> None:
            try:
                await never
            except asyncio.CancelledError:
                ended.append("cancelled")
                raise

        asyncio.get_running_loop().call_later(0.01, suspend_flow.set)
        result = await consumer.wait_first(deliver(), suspend_flow.wait())
        await asyncio.sleep(0)  # the cancelled delivery runs its handler
        assert result.results == [True]  # the flow's event won the race
        assert ended == ["cancelled"]

    asyncio.run(scenario())


@pytest.mark.parametrize("waits_first", [False, True])
def test_an_error_in_a_delivery_reaches_faust_whether_it_waited_or_not(waits_first: bool) -> None:
    async def scenario() -> None:
        consumer = new_consumer()

        async def deliver() -> None:
            if waits_first:
                await asyncio.sleep(0)
            raise LookupError("no stream for this partition")

        with pytest.raises(LookupError, match="no stream"):
            await consumer.wait_first(deliver(), asyncio.Event().wait())

    asyncio.run(scenario())


def test_other_waits_of_the_consumer_keep_fausts_own_behaviour() -> None:
    async def scenario() -> None:
        consumer = new_consumer()
        ready = asyncio.Event()
        asyncio.get_running_loop().call_soon(ready.set)
        result = await consumer.wait_first(ready)  # an event, not a delivery
        assert result.done == [ready]
        consumer._stopped.set()  # a stopping consumer reports that it stopped

        async def deliver() -> None:
            return None

        stopped = await consumer.wait_first(deliver(), asyncio.Event().wait())
        assert stopped.stopped

    asyncio.run(scenario())
