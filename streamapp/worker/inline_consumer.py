"""Faust's stream consumer on the worker's own event loop instead of in a thread of its own.

faust-streaming runs its aiokafka consumer in a dedicated thread with a second event loop, and
hands every call to it across threads: each fetch is queued to that loop with
``call_soon_threadsafe`` and its records come back the same way, so every fetch wakes both
loops through their self-pipes and hands the GIL over twice. At 500 requests/s that was about
370 self-pipe writes a second, 2,600 futex calls and 2,600 context switches, for no parallelism
(the GIL lets one thread run Python at a time). aiokafka is built for one loop: its fetcher,
coordinator and heartbeat are tasks, as in any aiokafka application.

:func:`install` makes Faust build :class:`InlineConsumerThread`: the same service, started as a
task on the worker's loop, whose calls "to the thread" are plain awaits. Faust's rebalance
callbacks already pass through a method queue on the worker's loop, which works unchanged.
``RENDEZVOUS_CONSUMER_THREAD=true`` keeps Faust's thread.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from faust.transport.drivers.aiokafka import AIOKafkaConsumerThread, Consumer
from mode.utils.futures import maybe_async

from streamapp.app import settings
from streamapp.worker.patching import patch_once

_MARK = "_rendezvous_inline_consumer"


class InlineConsumerThread(AIOKafkaConsumerThread):
    """Faust's consumer "thread", run as a task on the loop that owns the worker."""

    def __init__(self, consumer: Any, **kwargs: Any) -> None:
        loop = kwargs.get("loop") or asyncio.get_event_loop()
        kwargs.setdefault("thread_loop", loop)
        super().__init__(consumer, **kwargs)
        #: The task that serves the consumer, as the thread's body did (held: the loop keeps
        #: only a weak reference to its tasks).
        self._serving: asyncio.Future[None] | None = None

    async def start(self) -> None:
        """Start the consumer as the thread would, then return once it runs."""
        assert not self._thread_started.is_set()
        self._thread_started.set()
        self._thread_running = self.parent_loop.create_future()
        self._serving = asyncio.ensure_future(self._serve())
        try:
            await self._thread_running
        finally:
            self._thread_running = None

    async def call_thread(self, fun: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run what Faust would have queued to its consumer thread, here and now."""
        return await maybe_async(fun(*args, **kwargs))

    async def cast_thread(self, fun: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        """Start what Faust would have cast to its consumer thread, without waiting for it."""
        self.add_future(maybe_async(fun(*args, **kwargs)))

    async def _gather_remaining_tasks(self) -> None:
        # The thread's version cancels every task left on its own loop: here, that loop is the
        # worker's. aiokafka's consumer stops its own tasks in ``on_thread_stop``.
        return None


def install() -> None:
    """Make Faust's aiokafka consumer build :class:`InlineConsumerThread` (once per process)."""

    def inline(_original: Callable[..., Any]) -> Callable[..., Any]:
        def new_consumer_thread(self: Consumer) -> AIOKafkaConsumerThread:
            return InlineConsumerThread(self, loop=self.loop, beacon=self.beacon)

        return new_consumer_thread

    patch_once(Consumer, "_new_consumer_thread", _MARK, inline)


# One of the worker's modules (``app.WORKER_MODULES``): imported before the consumer exists.
if not settings.consumer_thread:
    install()
