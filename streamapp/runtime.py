"""Per-process objects of a worker: limits, registry, the deadline clock and the outbox."""

from __future__ import annotations

import faust

from streamapp.admission import Limits
from streamapp.app import raw_topic, settings
from streamapp.clock import DeadlineClock
from streamapp.codec import encode
from streamapp.mailbox import Timing
from streamapp.records import Tick
from streamapp.registry import registry_from_settings
from streamapp.topics import TopicDirectory

limits = Limits.from_settings(settings)
registry = registry_from_settings(settings)
topic_directory = TopicDirectory(settings)
_outgoing: dict[str, faust.TopicT] = {}


async def emit(topic: str, key: str, value: bytes, *, partition: int | None = None) -> None:
    """The one way this worker writes to Kafka (answers, ticks, dead letters)."""
    if topic not in _outgoing:
        _outgoing[topic] = raw_topic(topic)
    await _outgoing[topic].send(key=key.encode(), value=value, partition=partition)


async def send_tick(request_id: str, partition: int, due_ms: int) -> None:
    """Ask the agent owning ``partition`` to look at a mailbox again."""
    tick = Tick(request_id=request_id, due_ms=due_ms)
    await emit(settings.topic("ticks"), request_id, encode(tick), partition=partition)


clock = DeadlineClock(send_tick)


def timing(now: int) -> Timing:
    """Time facts for one transition."""
    return Timing(now_ms=now, retention_ms=int(settings.mailbox_retention_s * 1000))
