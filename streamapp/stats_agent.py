"""The statistics agent: folds observations into per-minute buckets in the ``stats`` table.

Sketches are kept live in memory for the minutes being written and assigned back to the table
after each batch (at most a second apart), so a busy minute is not re-serialised per event.
"""

from __future__ import annotations

import json
import logging

import faust

from streamapp.app import app, observations, settings, stats_table
from streamapp.clock import now_ms
from streamapp.runtime import canary_name
from streamapp.stats import BUCKET_MS, Accumulator, bucket_of

log = logging.getLogger(__name__)
BATCH = 500
BATCH_WITHIN_S = 1.0
_open: dict[int, Accumulator] = {}


def _accumulator(minute: int) -> Accumulator:
    if minute not in _open:
        _open[minute] = Accumulator(stats_table.get(str(minute)), minute)
    return _open[minute]


_expired_at = [0]


def _expire(now: int) -> None:
    """Forget minutes older than the retention period (table, checked once a minute) and than
    two minutes (memory)."""
    if now - _expired_at[0] >= BUCKET_MS:
        _expired_at[0] = now
        horizon = now - int(settings.stats_retention_s * 1000)
        for key in [k for k in stats_table if int(k) < horizon]:
            del stats_table[key]
    for minute in [m for m in _open if m < bucket_of(now) - 2 * BUCKET_MS]:
        del _open[minute]


@app.agent(observations, name="collect_stats")
async def collect_stats(stream: faust.StreamT) -> None:
    """Fold each batch of observations, then assign the touched minutes back to the table."""
    async for batch in stream.take(BATCH, within=BATCH_WITHIN_S):
        touched: set[int] = set()
        canary = canary_name()
        for raw in batch:
            try:
                observation = json.loads(raw)
                minute = bucket_of(int(observation["at"]))
                _accumulator(minute).add(observation, canary)
                touched.add(minute)
            except (ValueError, KeyError, TypeError) as error:
                log.warning("skipped a malformed observation: %s", error)
        for minute in touched:
            stats_table[str(minute)] = _open[minute].dump()
        _expire(now_ms())
