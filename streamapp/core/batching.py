"""When a Kafka consumer should fetch at once, and when in batches: a choice by read rate.

A fetch that returns as soon as one message is there (``fetch_min_bytes=1``) gives the lowest
latency and costs nothing while idle, but under load every message costs a fetch request and a
reply: a socket write, a broker request and a decode. Measured on a 2-core machine at 300
requests/s, letting the model processes' fetches wait 10 ms and the worker's 3 ms cut the CPU
of all processes together from 6.4 to about 4.8 ms per request. The same waits while idle cost
4 to 5 % of a core per model process (a fetch every 10 ms instead of every 100 ms), which a
deployment of dozens of models must not pay. So a consumer batches only while it reads fast.

A model whose every call costs a lot whatever the batch size (a 300-tree forest: about 12 ms a
call) also batches when scoring at once would keep it in model calls a large share of the time,
and then waits in proportion to what a call costs whatever its size, so its calls take a
bounded share of a core. Only that part is spared by waiting: a call whose time grows with its
batch (a linear model under overload) costs the same however the requests are grouped, so it
gets no longer wait. ``fixed_call_cost`` estimates it from recent small calls.

A fetch at once that lists every partition the application reads from may wait much longer
(``whole_fetch_wait_ms``): the broker answers it as soon as any of them has a message, so the
wait only bounds how often an idle consumer asks. The short wait is what matters when a fetch
leaves out a partition the application reads (its records are still being handed to the
stream): while it is in flight nothing new is fetched for it. Partitions it does not read (a
Faust worker's table changelogs, paused once recovered) do not count. Measured on a 2-core
machine, the worker idle with a 10 ms wait used about 10 % of a core (a fetch and its reply a
hundred times a second) and the broker about as much again.

Pure: the read rate and recent model calls come in, the fetch shape to use goes out.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

#: A batching fetch asks for more than one fetch can bring, so the broker holds it for its
#: whole wait (or until a partition's fetch size is full).
BATCH_MIN_BYTES = 1 << 20
#: Back to fetching at once when the rate falls below this share of the threshold, so a rate
#: that hovers around the threshold does not switch the shape every second.
HYSTERESIS = 0.5


@dataclass(frozen=True)
class FetchShape:
    """How long the broker may hold a fetch, and for how many bytes."""

    max_wait_ms: int
    min_bytes: int


@dataclass(frozen=True)
class AdaptiveFetch:
    """At once below ``batch_above_per_s`` messages read per second, in batches of
    ``batch_wait_ms`` at or above it. A threshold of 0 batches always."""

    at_once: FetchShape
    batch_wait_ms: int
    batch_above_per_s: float
    #: Batch as well when scoring at once would keep the process in model calls this share of
    #: the time or more (read rate times the fixed cost of a call). None: by read rate only
    #: (the worker).
    busy_above: float | None = None
    #: While batching, a fetch waits at least this many times the fixed cost of a call (so
    #: that cost takes at most about 1 / (1 + this) of the time)...
    waits_per_call: float = 0.0
    #: ...but never longer than this.
    max_wait_ms: int = 0
    #: A fetch at once that lists every partition the application reads waits this long (0:
    #: the shape's wait; see ``whole_fetch_wait_ms``).
    whole_wait_ms: int = 0

    @property
    def batched(self) -> FetchShape:
        """The shape while batching (for calls that cost next to nothing)."""
        return FetchShape(max_wait_ms=self.batch_wait_ms, min_bytes=BATCH_MIN_BYTES)

    def starts_batched(self) -> bool:
        """Whether a consumer starts batching (only when the threshold is 0)."""
        return self.batch_above_per_s <= 0

    def should_batch(self, batching: bool, rate_per_s: float, call_s: float = 0.0) -> bool:
        """Whether to batch next, given whether it batches now, the rate it reads at and
        what a model call costs whatever its size."""
        if self.batch_above_per_s <= 0:
            return True
        share = HYSTERESIS if batching else 1.0
        if rate_per_s >= self.batch_above_per_s * share:
            return True
        busy = rate_per_s * call_s
        return self.busy_above is not None and busy >= self.busy_above * share

    def shape(self, batching: bool, call_s: float = 0.0) -> FetchShape:
        """The fetch shape for that choice, with model calls that cost ``call_s`` each
        whatever their size (``fixed_call_cost``)."""
        if not batching:
            return self.at_once
        for_calls = min(self.max_wait_ms, round(self.waits_per_call * call_s * 1000))
        if for_calls <= self.batch_wait_ms:
            return self.batched
        return FetchShape(max_wait_ms=for_calls, min_bytes=BATCH_MIN_BYTES)


def whole_fetch_wait_ms(
    shape_wait_ms: int,
    min_bytes: int,
    *,
    listed: Collection[tuple[str, int]],
    read: Collection[tuple[str, int]],
    whole_wait_ms: int,
) -> int:
    """How long the broker may hold a fetch that lists the partitions ``listed`` (topic,
    partition) while the application reads from ``read``: ``whole_wait_ms`` when it lists every
    one of them and returns at the first byte (nothing the application waits for can arrive
    without being returned at once), else the shape's wait. A batching fetch keeps its wait:
    that is how long it gathers."""
    if whole_wait_ms <= shape_wait_ms or min_bytes > 1 or not read or not listed:
        return shape_wait_ms
    return whole_wait_ms if set(read) <= set(listed) else shape_wait_ms


#: Calls of at most this many requests show what a call costs whatever its size.
SMALL_CALL = 4


def fixed_call_cost(calls: Sequence[tuple[int, float]]) -> float | None:
    """What a model call costs whatever its size, from recent calls (requests, seconds): the
    fastest call of at most ``SMALL_CALL`` requests. The fastest, because calls slowed by others
    on the machine say nothing of the model; small ones, because the time of a large one grows
    with its size (a linear model under overload), and waiting spares none of that. None when
    no recent call was small (the estimate from before holds)."""
    small = [seconds for requests, seconds in calls if requests <= SMALL_CALL]
    return min(small) if small else None
