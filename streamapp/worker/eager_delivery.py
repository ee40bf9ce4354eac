"""Faust's consumer hands each fetched message to its stream without four tasks per message.

Faust's fetch loop delivers every message with ``wait_first(callback(message),
suspend_flow.wait())``: the delivery races the consumer's flow being suspended (a rebalance),
so a delivery stuck on a full stream buffer cannot hold up a rebalance. ``wait_first`` wraps
each argument in a task, adds two more for the service's stop and crash events, waits for the
first to finish and cancels the other three, so each message costs four tasks, three
cancellations and several turns of the event loop. Yet a delivery only puts the message in its
stream's buffer and almost always finishes without waiting for anything.

:func:`install` gives Faust's consumer a ``wait_first`` that first runs the delivery in place,
as a task's first step would. If it finishes, that is the result, with no task and no turn of
the loop. If it has to wait (a full buffer, a lock held during a subscription change), the
started delivery goes on in a task that Faust's own ``wait_first`` races against the flow
being suspended, exactly as before. ``RENDEZVOUS_EAGER_DELIVERY=false`` keeps Faust's way.
"""

from __future__ import annotations

import types
from collections.abc import Callable, Coroutine, Generator
from typing import Any

from faust.transport.consumer import Consumer
from mode.services import WaitResults

from streamapp.app import settings
from streamapp.worker.patching import patch_once

_MARK = "_rendezvous_eager_delivery"


@types.coroutine
def carry_on(started: Coroutine[Any, Any, Any], waiting_on: Any) -> Generator[Any, None, Any]:
    """Go on running a coroutine that was stepped by hand and is now waiting on ``waiting_on``
    (what it yielded): the task running this one waits on it in its place, and passes any
    cancellation into it."""
    while True:
        try:
            yield waiting_on
        except GeneratorExit:
            started.close()
            raise
        except BaseException as error:  # cancellation (or anything thrown in) goes on into it
            try:
                waiting_on = started.throw(error)
            except StopIteration as finished:
                return finished.value
            continue
        try:
            waiting_on = started.send(None)
        except StopIteration as finished:
            return finished.value


async def _resumed(started: Coroutine[Any, Any, Any], waiting_on: Any) -> Any:
    """The rest of a delivery that had to wait, as a coroutine Faust's ``wait_first`` takes."""
    return await carry_on(started, waiting_on)


def install() -> None:
    """Make Faust's consumers run a delivery in place before racing it (once per process)."""

    def eager(original: Callable[..., Any]) -> Callable[..., Any]:
        async def wait_first(self: Any, *coros: Any, timeout: Any = None) -> WaitResults:
            first = coros[0] if coros else None
            stopping = self._stopped.is_set() or self._crashed.is_set()
            if not isinstance(first, types.CoroutineType) or timeout is not None or stopping:
                raced: WaitResults = await original(self, *coros, timeout=timeout)
                return raced
            try:
                waiting_on = first.send(None)
            except StopIteration as finished:
                _close(coros[1:])
                return WaitResults([first], [finished.value], False)
            except BaseException:
                _close(coros[1:])
                raise
            resumed: WaitResults = await original(
                self, _resumed(first, waiting_on), *coros[1:], timeout=timeout
            )
            return resumed

        return wait_first

    patch_once(Consumer, "wait_first", _MARK, eager)


def _close(others: tuple[Any, ...]) -> None:
    """Close the coroutines that were raced against the delivery and never started."""
    for other in others:
        if isinstance(other, types.CoroutineType):
            other.close()


# One of the worker's modules (``app.WORKER_MODULES``): imported before the consumer runs.
if settings.eager_delivery:
    install()
