"""A Faust setting it does not expose: how long the broker may hold a fetch, and for how much.

faust-streaming builds its consumer with ``fetch_max_wait_ms=1500`` and aiokafka's
``fetch_min_bytes=1``, and aiokafka has one fetch per broker in flight. Measured here: once the
worker falls slightly behind, the next fetch holds only partitions with nothing new, the broker
keeps it for the full 1.5 s, and answers stall for seconds while the worker idles. Fetching
returns instead after ``RENDEZVOUS_FETCH_MAX_WAIT_MS`` (or once ``RENDEZVOUS_FETCH_MIN_BYTES``
are there): a bounded wait when idle. While the worker reads more than
``RENDEZVOUS_WORKER_BATCH_ABOVE_PER_S`` messages per second, its fetches wait
``RENDEZVOUS_BATCH_FETCH_WAIT_MS`` for more (``core.batching``): fewer, larger fetches.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from faust.transport.drivers.aiokafka import AIOKafkaConsumerThread

from streamapp.app import app, settings
from streamapp.fetch_tuning import REVIEW_EVERY_S, FetchTuner, worker_fetch
from streamapp.worker.patching import patch_once

log = logging.getLogger(__name__)
_MARK = "_rendezvous_fetch_settings"
#: The stream consumer's fetch shape, kept to the rate the agents read at (they count).
fetching = FetchTuner(worker_fetch(settings), label="worker")


def install(tuner: FetchTuner) -> None:
    """Make Faust's stream consumer fetch as ``tuner`` says (once per process)."""

    def tuned(original: Callable[..., Any]) -> Callable[..., Any]:
        def create_worker_consumer(self: AIOKafkaConsumerThread, *args: Any, **kwargs: Any) -> Any:
            faust_consumer = self.consumer

            def reading() -> set[Any] | None:  # Faust's active partitions (None: not yet known)
                active: set[Any] | None = getattr(faust_consumer, "_active_partitions", None)
                return active

            return tuner.attach(original(self, *args, **kwargs), reading)

        return create_worker_consumer

    patch_once(AIOKafkaConsumerThread, "_create_worker_consumer", _MARK, tuned)


# One of the worker's modules (``app.WORKER_MODULES``): imported before the consumer exists.
install(fetching)


@app.timer(REVIEW_EVERY_S)  # type: ignore[untyped-decorator]  # Faust's decorator is untyped
async def review_fetching() -> None:
    """Choose the fetch shape again from the rate read since the last review."""
    fetching.review()
