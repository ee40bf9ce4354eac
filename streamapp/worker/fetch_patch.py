"""A Faust setting it does not expose: how long the broker may hold a fetch, and for how much.

faust-streaming builds its consumer with ``fetch_max_wait_ms=1500`` and aiokafka's
``fetch_min_bytes=1``, and aiokafka has one fetch per broker in flight. Measured here: once the
worker falls slightly behind, the next fetch holds only partitions with nothing new, the broker
keeps it for the full 1.5 s, and answers stall for seconds while the worker idles. Fetching
returns instead after ``RENDEZVOUS_FETCH_MAX_WAIT_MS`` (or once ``RENDEZVOUS_FETCH_MIN_BYTES``
are there): a bounded wait when idle. While the worker reads more than
``RENDEZVOUS_WORKER_BATCH_ABOVE_PER_S`` messages per second, its fetches wait
``RENDEZVOUS_BATCH_FETCH_WAIT_MS`` for more (``core.batching``): fewer, larger fetches. A fetch
at once that lists every partition the worker reads waits up to ``RENDEZVOUS_IDLE_FETCH_WAIT_MS``
instead: the broker answers it at the first message anyway (``reading`` says which partitions
count: the table changelogs Faust pauses once recovered do not).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection
from functools import partial
from typing import Any

from faust.transport.drivers.aiokafka import AIOKafkaConsumerThread

from streamapp.app import app, settings
from streamapp.fetch_tuning import REVIEW_EVERY_S, FetchTuner, worker_fetch
from streamapp.worker.patching import patch_once

log = logging.getLogger(__name__)
_MARK = "_rendezvous_fetch_settings"
#: The stream consumer's fetch shape, kept to the rate the agents read at (they count).
fetching = FetchTuner(worker_fetch(settings), label="worker")


def reading(faust_consumer: Any, assigned: Collection[tuple[str, int]]) -> set[Any] | None:
    """The partitions the worker reads or soon will: all it is assigned but the table
    changelogs Faust has paused once recovered (those it reads while recovering count).
    None (all it is assigned) until Faust knows which are active, and while it rebalances or
    recovers: then any changelog may be resumed at any moment, and must not wait for a long
    fetch to return."""
    active: set[Any] | None = getattr(faust_consumer, "_active_partitions", None)
    faust_app = faust_consumer.app
    if active is None or faust_app.rebalancing or faust_app.in_recovery:
        return None
    changelogs = faust_app.tables.changelog_topics
    return {*active, *(tp for tp in assigned if tp[0] not in changelogs)}


def install(tuner: FetchTuner) -> None:
    """Make Faust's stream consumer fetch as ``tuner`` says (once per process)."""

    def tuned(original: Callable[..., Any]) -> Callable[..., Any]:
        def create_worker_consumer(self: AIOKafkaConsumerThread, *args: Any, **kwargs: Any) -> Any:
            return tuner.attach(original(self, *args, **kwargs), partial(reading, self.consumer))

        return create_worker_consumer

    patch_once(AIOKafkaConsumerThread, "_create_worker_consumer", _MARK, tuned)


# One of the worker's modules (``app.WORKER_MODULES``): imported before the consumer exists.
install(fetching)


@app.timer(REVIEW_EVERY_S)  # type: ignore[untyped-decorator]  # Faust's decorator is untyped
async def review_fetching() -> None:
    """Choose the fetch shape again from the rate read since the last review."""
    fetching.review()
