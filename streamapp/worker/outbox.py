"""The worker's one way out to Kafka: answers, ticks, dead letters and observations."""

from __future__ import annotations

import json
from typing import Any

import faust

from streamapp.app import raw_topic, settings

_outgoing: dict[str, faust.TopicT] = {}


async def emit(topic: str, key: str, value: bytes, *, partition: int | None = None) -> None:
    """Send one record (answers, ticks, dead letters)."""
    if topic not in _outgoing:
        _outgoing[topic] = raw_topic(topic)
    await _outgoing[topic].send(key=key.encode(), value=value, partition=partition)


async def observe(observation: dict[str, Any]) -> None:
    """Hand an observation to the statistics agent (unless statistics are switched off)."""
    if not settings.stats_enabled:
        return
    await emit(
        settings.topic("observations"),
        str(observation["at"]),
        json.dumps(observation, separators=(",", ":")).encode(),
    )
