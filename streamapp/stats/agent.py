"""The statistics agent: folds observations into per-minute buckets in the ``stats`` table.

Sketches are kept live in memory for the minutes being written and assigned back to the table
at most once a second (inside the stream, as Faust requires), so a busy minute is not
re-serialised per event; the stats view merges in what is not written back yet.
"""

from __future__ import annotations

import json
import logging
import time

import faust

from streamapp.app import app, observations, settings, stats_table
from streamapp.stats.buckets import BUCKET_MS, Accumulator, bucket_of
from streamapp.worker.clock import now_ms
from streamapp.worker.registry_cache import canary_name

log = logging.getLogger(__name__)
WRITE_EVERY_S = 1.0
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


_dirty: set[int] = set()
_written_at = [0.0]


@app.agent(observations, name="collect_stats")
async def collect_stats(stream: faust.StreamT[bytes]) -> None:
    """Fold each observation; assign touched minutes back to the table at most once a second."""
    async for event in stream.events():
        try:
            observation = json.loads(event.message.value)
            minute = bucket_of(int(observation["at"]))
            _accumulator(minute).add(observation, canary_name())
            _dirty.add(minute)
        except (ValueError, KeyError, TypeError) as error:
            log.warning("skipped a malformed observation: %s", error)
        if time.monotonic() - _written_at[0] >= WRITE_EVERY_S:
            _written_at[0] = time.monotonic()
            for touched in sorted(_dirty):
                if touched in _open:
                    stats_table[str(touched)] = _open[touched].dump()
            _dirty.clear()
            _expire(now_ms())


def unwritten_buckets() -> dict[int, dict[str, object]]:
    """Minutes folded in memory but not yet written back (the view merges them in)."""
    return {minute: _open[minute].dump() for minute in sorted(_dirty) if minute in _open}
