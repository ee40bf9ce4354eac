"""Switch live aiokafka consumers between fetching at once and in batches, by their read rate.

The choice itself is ``core.batching``; this counts what is read and sets the consumers'
fetch wait and size. aiokafka reads both from its fetcher each time it builds a fetch request,
so a change applies from the next fetch on, without restarting the consumer. Used by the
model processes (their own consumer) and by the worker (Faust's stream consumer: two integer
attributes are set, which the GIL makes safe even when it runs in Faust's consumer thread).

Once a consumer's fetcher exists, the fetches it builds that list every partition the
application reads and return at the first byte get the longer idle wait
(``core.batching.whole_fetch_wait_ms``).
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable, Collection
from typing import Any

from streamapp.core.batching import (
    AdaptiveFetch,
    FetchShape,
    fixed_call_cost,
    whole_fetch_wait_ms,
)
from streamapp.settings import Settings

log = logging.getLogger(__name__)
#: How often the read rate is measured (and the fetch shape chosen again).
REVIEW_EVERY_S = 0.25
#: A model process batches when scoring at once would keep it in model calls a quarter of the
#: time (a 300-tree forest at 20 requests/s)...
MODEL_BUSY_ABOVE = 0.25
#: ...and then waits four times the fixed cost of its calls for more, so that cost takes about
#: a fifth of the time.
WAITS_PER_CALL = 4.0
#: The recent calls of each model the fixed cost of its calls is estimated from.
CALLS_KEPT = 64
_WHOLE_MARK = "_rendezvous_whole_fetch_wait"


def apply_shape(consumer: Any, shape: FetchShape) -> None:
    """Give an aiokafka consumer (started or not) this fetch wait and size."""
    consumer._fetch_max_wait_ms = shape.max_wait_ms
    consumer._fetch_min_bytes = shape.min_bytes
    fetcher = getattr(consumer, "_fetcher", None)
    if fetcher is not None:
        fetcher._fetch_max_wait_ms = shape.max_wait_ms
        fetcher._fetch_min_bytes = shape.min_bytes


#: Given the partitions a consumer is assigned, those the application reads from or soon will
#: (a Faust worker's table changelogs are assigned, and paused once recovered); None: all.
Reading = Callable[[Collection[tuple[str, int]]], Collection[tuple[str, int]] | None]


def hold_whole_fetches(fetcher: Any, whole_wait_ms: int, reading: Reading | None = None) -> None:
    """Let the fetches this aiokafka fetcher builds wait ``whole_wait_ms`` when they list every
    partition the application reads and return at the first byte (once per fetcher; 0: never)."""
    if whole_wait_ms <= 0 or getattr(fetcher, _WHOLE_MARK, False):
        return
    build = fetcher._get_actions_per_node

    def actions_per_node(assignment: Any) -> Any:
        actions = build(assignment)
        requests = actions[0]
        # the rule's cheap part first: a batching fetch (min bytes above 1) keeps its wait
        if requests and fetcher._fetch_min_bytes <= 1:
            listed = {
                (topic, partition[0])
                for _, request in requests
                for topic, partitions in request.topics
                for partition in partitions
            }
            read = reading(assignment.tps) if reading is not None else None
            wait = whole_fetch_wait_ms(
                fetcher._fetch_max_wait_ms,
                fetcher._fetch_min_bytes,
                listed=listed,
                read=assignment.tps if read is None else read,
                whole_wait_ms=whole_wait_ms,
            )
            for _, request in requests:
                request._max_wait_ms = wait
        return actions

    fetcher._get_actions_per_node = actions_per_node
    setattr(fetcher, _WHOLE_MARK, True)


class FetchTuner:
    """Counts the messages a process reads and keeps its consumers' fetch shape to the rate."""

    def __init__(
        self,
        policy: AdaptiveFetch,
        *,
        label: str,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.policy = policy
        self.label = label
        self.batching = policy.starts_batched()
        #: Messages per second over the last review.
        self.rate_per_s = 0.0
        #: Seconds the model calls of one fetch cost whatever its size, from recent small
        #: calls: the sum over the models a process hosts, which share its cores (0: none).
        self.call_s = 0.0
        self._clock = clock
        self._read = 0
        self._calls: dict[str, deque[tuple[int, float]]] = {}
        self._fixed: dict[str, float] = {}
        self._since = clock()
        #: Each consumer tuned, with the partitions the application reads from it.
        self._consumers: list[tuple[Any, Reading | None]] = []
        self._applied = self.shape

    @property
    def shape(self) -> FetchShape:
        """The fetch shape in use."""
        return self.policy.shape(self.batching, self.call_s)

    def attach(self, consumer: Any, reading: Reading | None = None) -> Any:
        """Tune this consumer too (from now on); returns it. ``reading``: the partitions the
        application reads from it, if not all it is assigned."""
        self._consumers.append((consumer, reading))
        apply_shape(consumer, self.shape)
        self._hold_whole_fetches()
        return consumer

    def _hold_whole_fetches(self) -> None:
        """Give the consumers started since the last look their longer idle wait."""
        for consumer, reading in self._consumers:
            fetcher = getattr(consumer, "_fetcher", None)
            if fetcher is not None:
                hold_whole_fetches(fetcher, self.policy.whole_wait_ms, reading)

    def read(self, count: int = 1) -> None:
        """Count messages read."""
        self._read += count

    def called(self, seconds: float, requests: int = 1, *, model: str = "") -> None:
        """Count a call of ``model``, how long it took and how many requests it scored."""
        calls = self._calls.get(model)
        if calls is None:
            calls = self._calls[model] = deque(maxlen=CALLS_KEPT)
        calls.append((requests, seconds))

    def review(self) -> None:
        """Measure the rate once ``REVIEW_EVERY_S`` has passed, and switch if it says so
        (cheap to call more often: it returns at once until then)."""
        now = self._clock()
        elapsed = now - self._since
        if elapsed < REVIEW_EVERY_S:
            return
        self._hold_whole_fetches()
        self.rate_per_s = self._read / elapsed
        for model, calls in self._calls.items():
            fixed = fixed_call_cost(calls)
            if fixed is not None:  # else the estimate from before holds
                self._fixed[model] = fixed
        self.call_s = sum(self._fixed.values())
        self._read, self._since = 0, now
        batching = self.policy.should_batch(self.batching, self.rate_per_s, self.call_s)
        switched = batching != self.batching
        self.batching = batching
        shape = self.shape
        if shape == self._applied:
            return
        self._applied = shape
        (log.info if switched else log.debug)(
            "%s: reading %.0f messages/s (model calls of %.1f ms), fetching %s (wait up to %d ms)",
            self.label,
            self.rate_per_s,
            self.call_s * 1000,
            "in batches" if batching else "at once",
            shape.max_wait_ms,
        )
        for consumer, _ in self._consumers:
            apply_shape(consumer, shape)


def worker_fetch(settings: Settings) -> AdaptiveFetch:
    """The worker's stream consumer: requests and scores."""
    return AdaptiveFetch(
        at_once=FetchShape(settings.fetch_max_wait_ms, settings.fetch_min_bytes),
        batch_wait_ms=settings.batch_fetch_wait_ms,
        batch_above_per_s=settings.worker_batch_above_per_s,
        whole_wait_ms=settings.idle_fetch_wait_ms,
    )


def model_fetch(settings: Settings) -> AdaptiveFetch:
    """A model process's consumer of the requests topic: it also batches when its model calls
    would keep it busy, and waits longer the longer they take (up to a quarter of the default
    deadline)."""
    return AdaptiveFetch(
        at_once=FetchShape(settings.model_fetch_max_wait_ms, settings.model_fetch_min_bytes),
        batch_wait_ms=settings.model_batch_fetch_wait_ms,
        batch_above_per_s=settings.batch_above_per_s,
        busy_above=MODEL_BUSY_ABOVE,
        waits_per_call=WAITS_PER_CALL,
        max_wait_ms=max(settings.model_batch_fetch_wait_ms, settings.default_deadline_ms // 4),
        whole_wait_ms=settings.idle_fetch_wait_ms,
    )
