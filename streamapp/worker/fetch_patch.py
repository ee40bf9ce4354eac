"""A Faust setting it does not expose: how long the broker may hold a fetch, and for how much.

faust-streaming builds its consumer with ``fetch_max_wait_ms=1500`` and aiokafka's
``fetch_min_bytes=1``, and aiokafka has one fetch per broker in flight. Measured here: once the
worker falls slightly behind, the next fetch holds only partitions with nothing new, the broker
keeps it for the full 1.5 s, and answers stall for seconds while the worker idles. Fetching
returns instead after ``RENDEZVOUS_FETCH_MAX_WAIT_MS`` (or once ``RENDEZVOUS_FETCH_MIN_BYTES``
are there): more records per fetch under load, a bounded wait when idle.
"""

from __future__ import annotations

import logging
from typing import Any

from faust.transport.drivers.aiokafka import AIOKafkaConsumerThread

from streamapp.app import settings

log = logging.getLogger(__name__)
_MARK = "_rendezvous_fetch_settings"


def tune(consumer: Any, *, max_wait_ms: int, min_bytes: int) -> Any:
    """Set the fetch wait and size of an aiokafka consumer that has not started yet."""
    consumer._fetch_max_wait_ms = max_wait_ms
    consumer._fetch_min_bytes = min_bytes
    return consumer


def install(*, max_wait_ms: int, min_bytes: int) -> None:
    """Make Faust's stream consumer fetch with these settings (once per process)."""
    original = AIOKafkaConsumerThread._create_worker_consumer
    if getattr(original, _MARK, False):
        return

    def create_worker_consumer(self: AIOKafkaConsumerThread, *args: Any, **kwargs: Any) -> Any:
        consumer = original(self, *args, **kwargs)
        return tune(consumer, max_wait_ms=max_wait_ms, min_bytes=min_bytes)

    setattr(create_worker_consumer, _MARK, True)
    AIOKafkaConsumerThread._create_worker_consumer = create_worker_consumer  # type: ignore[method-assign]


# One of the worker's modules (``app.WORKER_MODULES``): imported before the consumer exists.
install(max_wait_ms=settings.fetch_max_wait_ms, min_bytes=settings.fetch_min_bytes)
