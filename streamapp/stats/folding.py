"""Statistics folded where each mailbox closes: no Kafka record per decision.

Each answered mailbox and each late score is folded into the bucket of its partition and minute
(in memory); the touched buckets are written back to the ``stats-buckets`` table once a second,
in bulk. A partition's buckets move with it on a rebalance, like its mailboxes.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from typing import Any

import orjson

from streamapp.app import app, settings, stats_table
from streamapp.core.mailbox import Mailbox
from streamapp.stats import metrics
from streamapp.stats.buckets import BUCKET_MS, Accumulator, bucket_of
from streamapp.stats.observations import decision, late_score
from streamapp.stats.recent import KEPT, summary
from streamapp.worker import bulk, engine
from streamapp.worker.clock import now_ms
from streamapp.worker.registry_cache import canary_name, current_registry

log = logging.getLogger(__name__)
WRITE_EVERY_S = 1.0
#: Minutes kept in memory after they end (late scores may still come for them).
KEEP_MINUTES = 2

_open: dict[tuple[int, int], Accumulator] = {}
_dirty: set[tuple[int, int]] = set()
#: The latest answers of this worker, newest last (for ``GET /v1/requests``).
_recent: deque[dict[str, Any]] = deque(maxlen=KEPT)


def bucket_key(partition: int, minute: int) -> bytes:
    """The table key of a partition's bucket for a minute."""
    return f"{partition}:{minute}".encode()


def _accumulator(partition: int, minute: int) -> Accumulator:
    key = (partition, minute)
    if key not in _open:
        stored = stats_table.get(bucket_key(partition, minute))
        _open[key] = Accumulator(orjson.loads(stored) if stored else None, minute)
    return _open[key]


def answered(mailbox: Mailbox) -> None:
    """Fold the observation of an answered mailbox (and remember it among the latest)."""
    _recent.append(summary(mailbox))
    if not settings.stats_enabled:
        return
    observation = decision(mailbox, current_registry())
    minute = bucket_of(observation["at"])
    _accumulator(mailbox.partition, minute).add(observation, canary_name())
    _dirty.add((mailbox.partition, minute))


def late(partition: int, model: str, eval_ms: float, rtt_ms: int) -> None:
    """Fold a score that came after its answer."""
    if not settings.stats_enabled:
        return
    at = now_ms()
    minute = bucket_of(at)
    observation = late_score(model, at_ms=at, eval_ms=eval_ms, rtt_ms=rtt_ms)
    _accumulator(partition, minute).add(observation, canary_name())
    _dirty.add((partition, minute))


def recent_answers() -> list[dict[str, Any]]:
    """Summaries of this worker's latest answers, oldest first."""
    return list(_recent)


def unwritten_buckets() -> dict[tuple[int, int], dict[str, object]]:
    """(partition, minute) buckets folded in memory but not written back yet."""
    return {key: _open[key].dump() for key in sorted(_dirty) if key in _open}


@app.timer(WRITE_EVERY_S)  # type: ignore[untyped-decorator]  # Faust's decorator is untyped
async def write_back() -> None:
    """Write the touched buckets back (one batch per partition); forget old minutes."""
    started = time.perf_counter()
    touched = sorted(_dirty)
    _dirty.clear()
    by_partition: dict[int, bulk.Records] = {}
    for partition, minute in touched:
        if (partition, minute) in _open:
            value = orjson.dumps(_open[(partition, minute)].dump())
            by_partition.setdefault(partition, []).append((bucket_key(partition, minute), value))
    try:
        for partition, records in by_partition.items():
            await bulk.write(stats_table, partition, records)
    except Exception as error:  # statistics retry next second; answers never wait for them
        log.warning("writing statistics back failed: %r", error)
        _dirty.update(touched)
        return
    horizon = bucket_of(now_ms()) - KEEP_MINUTES * BUCKET_MS
    for key in [k for k in _open if k[1] < horizon and k not in _dirty]:
        del _open[key]
    await _expire(now_ms())
    log.debug("statistics written back in %.1f ms", (time.perf_counter() - started) * 1000)


_expired_at = [0]


async def _expire(now: int) -> None:
    """Delete buckets older than the retention period (checked once a minute)."""
    if now - _expired_at[0] < BUCKET_MS:
        return
    _expired_at[0] = now
    horizon = now - int(settings.stats_retention_s * 1000)
    doomed: dict[int, bulk.Records] = {}
    for key in list(stats_table.keys()):
        partition, _, minute = key.partition(b":")
        if minute and int(minute) < horizon:
            doomed.setdefault(int(partition), []).append((key, None))
    for partition, records in doomed.items():
        await bulk.write(stats_table, partition, records)


# Faust types a signal receiver as taking `signal=` by keyword; it is passed in **kwargs here.
@app.on_partitions_revoked.connect  # type: ignore[arg-type]
async def partitions_revoked(sender: object, revoked: set[object], **kwargs: object) -> None:
    """Buckets of partitions going to another worker are theirs from now on."""
    forget_partitions({tp.partition for tp in revoked})  # type: ignore[attr-defined]


def forget_partitions(partitions: set[int]) -> None:
    """Partitions moved to another worker: their buckets are the new owner's now."""
    for key in [k for k in _open if k[0] in partitions]:
        _open.pop(key, None)
        _dirty.discard(key)


engine.outbox.answered.append(answered)
engine.late_listeners.append(late)
engine.outbox.answered.append(metrics.answered)
engine.late_listeners.append(metrics.late)
