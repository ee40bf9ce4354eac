"""Table changelogs Faust has paused are paused in aiokafka too, so they never stall fetching.

Faust pauses a worker's table changelog partitions once they are recovered, in its own
bookkeeping only (``Consumer.pause_partitions``): aiokafka goes on fetching them. The worker
writes its closed mailboxes and statistics to those partitions, so the first record written to
each is fetched, and Faust never takes it. aiokafka sends no fetch to a broker while a partition
it leads holds records the application has not taken, for up to ``prefetch_backoff`` (100 ms):
every request and score partition of that broker waits. Seen in the worker (the fetcher
instrumented by hand): with only changelog records pending, no fetch for 100 ms, once per
changelog partition after each assignment, and again at the first statistics of a partition.

:func:`install` makes Faust's pause and resume of changelog partitions pause and resume them in
the aiokafka consumer as well, so a paused changelog is not fetched at all; a recovery resumes it
(and seeks it, which drops anything fetched before) exactly as before. Stream partitions are left
to Faust. Only with the consumer on the worker's loop (``worker.inline_consumer``), where this
runs on the loop that owns the aiokafka consumer.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

from aiokafka.structs import TopicPartition
from faust.transport.consumer import Consumer

from streamapp.app import settings
from streamapp.worker.patching import patch_once

log = logging.getLogger(__name__)
_MARK = "_rendezvous_changelog_pause"


def changelog_partitions(
    tps: Iterable[Any], changelogs: set[str], assigned: set[TopicPartition]
) -> list[TopicPartition]:
    """The partitions among ``tps`` of the table changelog topics, as aiokafka has them
    assigned (those it does not are left alone: aiokafka refuses to pause them)."""
    chosen = (TopicPartition(tp.topic, tp.partition) for tp in tps if tp.topic in changelogs)
    return [tp for tp in chosen if tp in assigned]


def mirror(consumer: Any, tps: Iterable[Any], *, pause: bool) -> None:
    """Pause (or resume) in Faust's aiokafka consumer the changelog partitions among ``tps``."""
    kafka = getattr(getattr(consumer, "_thread", None), "_consumer", None)
    if kafka is None:  # not started yet, or stopped: the next assignment starts afresh
        return
    chosen = changelog_partitions(tps, consumer.app.tables.changelog_topics, kafka.assignment())
    if chosen:
        (kafka.pause if pause else kafka.resume)(*chosen)
        log.debug("%s changelog partitions %s", "paused" if pause else "resumed", chosen)


def install() -> None:
    """Make Faust's consumer pause and resume changelog partitions in aiokafka too (once per
    process)."""

    def mirrored(pause: bool) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        def replacement_for(original: Callable[..., Any]) -> Callable[..., Any]:
            def pause_or_resume(self: Consumer, tps: Iterable[Any]) -> None:
                tps = list(tps)  # read twice: by Faust, then here
                original(self, tps)
                mirror(self, tps, pause=pause)

            return pause_or_resume

        return replacement_for

    patch_once(Consumer, "pause_partitions", _MARK, mirrored(pause=True))
    patch_once(Consumer, "resume_partitions", _MARK, mirrored(pause=False))


# One of the worker's modules (``app.WORKER_MODULES``): imported before the consumer exists.
if not settings.consumer_thread:
    install()
