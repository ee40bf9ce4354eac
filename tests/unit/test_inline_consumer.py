"""Faust's stream consumer on the worker's loop: calls meant for its thread run in place."""

from __future__ import annotations

import asyncio
import threading

import faust
import pytest
from faust.transport.drivers.aiokafka import Consumer

from streamapp.worker import inline_consumer
from streamapp.worker.inline_consumer import InlineConsumerThread


def new_consumer_thread() -> InlineConsumerThread:
    inline_consumer.install()
    app = faust.App("inline-consumer-test", broker="kafka://127.0.0.1:1")
    thread = app.consumer._thread  # built, not started: nothing connects
    assert isinstance(thread, InlineConsumerThread)
    return thread


def test_installed_twice_faust_is_patched_once_and_its_consumer_shares_the_callers_loop() -> None:
    inline_consumer.install()
    patched = Consumer._new_consumer_thread
    inline_consumer.install()
    assert Consumer._new_consumer_thread is patched
    thread = new_consumer_thread()
    assert thread.thread_loop is thread.parent_loop


def test_calls_for_the_consumer_thread_run_on_the_callers_thread_and_return_results() -> None:
    async def scenario() -> None:
        thread = new_consumer_thread()
        callers: list[threading.Thread] = []

        def plain(value: int) -> int:  # Faust hands aiokafka's plain methods too (subscribe)
            callers.append(threading.current_thread())
            return value + 1

        async def coroutine(value: int, *, times: int) -> int:
            callers.append(threading.current_thread())
            await asyncio.sleep(0)
            return value * times

        assert await thread.call_thread(plain, 1) == 2
        assert await thread.call_thread(coroutine, 3, times=4) == 12
        assert callers == [threading.current_thread()] * 2

    asyncio.run(scenario())


def test_errors_raised_for_the_consumer_thread_reach_the_caller() -> None:
    async def scenario() -> None:
        thread = new_consumer_thread()

        async def fails() -> None:
            raise LookupError("no such partition")

        with pytest.raises(LookupError, match="no such partition"):
            await thread.call_thread(fails)

    asyncio.run(scenario())
