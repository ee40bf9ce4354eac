"""A Faust fix: stream partitions resume only after flow control has cleared the agents' queues.

At the end of a recovery (every worker start and rebalance), faust-streaming resumes the
stream partitions, *then* seeks them to the committed offsets, *then* resumes flow control,
which empties the agents' queues. Records fetched in between can reach a queue and be thrown
away unprocessed, and Faust's offset-gap rule then commits past them, so they are never read
again (faust-streaming issues #596 and #606, open). For the rendezvous such a record is a
request that is never answered: CI once saw exactly that, one request of 300 lost after a
worker restart.

:func:`install` keeps the stream partitions paused until the seek is done and flow control has
resumed, then resumes them: they are fetched from the committed offsets into empty queues.
Nothing else in Faust's recovery changes.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from faust.tables.recovery import Recovery

from streamapp.worker.patching import patch_once

log = logging.getLogger(__name__)

_MARK = "_rendezvous_holds_streams"


@contextlib.contextmanager
def streams_held_until_flow_resumes(consumer: Any) -> Iterator[set[Any]]:
    """Within this block, partitions resumed on ``consumer`` wait until it resumes its flow.

    Partitions still held when the block ends without a flow resume (a new rebalance began)
    stay paused: the next recovery resumes them.
    """
    held: set[Any] = set()
    resume_partitions: Callable[[Iterable[Any]], None] = consumer.resume_partitions
    resume_flow: Callable[[], None] = consumer.resume_flow

    def hold(partitions: Iterable[Any]) -> None:
        held.update(partitions)

    def resume_flow_then_partitions() -> None:
        resume_flow()
        if held:
            resume_partitions(set(held))
            held.clear()

    consumer.resume_partitions = hold
    consumer.resume_flow = resume_flow_then_partitions
    try:
        yield held
    finally:
        vars(consumer).pop("resume_partitions", None)
        vars(consumer).pop("resume_flow", None)
        if held:
            log.info("recovery ended without resuming flow; %d partitions wait", len(held))


def install() -> None:
    """Wrap Faust's ``Recovery.on_recovery_completed`` (once per process)."""

    def holding_streams(original: Callable[..., Any]) -> Callable[..., Any]:
        async def on_recovery_completed(self: Recovery, generation_id: int = 0) -> None:
            with streams_held_until_flow_resumes(self.app.consumer):
                await original(self, generation_id)

        on_recovery_completed.__doc__ = original.__doc__
        return on_recovery_completed

    patch_once(Recovery, "on_recovery_completed", _MARK, holding_streams)


# This module is one of the worker's modules (``app.WORKER_MODULES``), imported with the agents
# before the worker starts, so every worker runs with the fix.
install()
