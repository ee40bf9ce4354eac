"""Per-process objects of a worker: limits, registry, the deadline clock and the outbox."""

from __future__ import annotations

import faust

from streamapp.admission import Limits
from streamapp.app import REGISTRY_KEY, raw_topic, registry_table, settings
from streamapp.clock import DeadlineClock
from streamapp.codec import encode
from streamapp.mailbox import Timing
from streamapp.policy import Registry
from streamapp.records import Tick
from streamapp.registry import RegistryDoc, registry_from_doc, seed_doc
from streamapp.topics import TopicDirectory

limits = Limits.from_settings(settings)
_seed = seed_doc(settings)
_cached: tuple[int, Registry] = (_seed.version, registry_from_doc(_seed))
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


def current_doc() -> RegistryDoc:
    """The registry document as this worker sees it now (the seed before any command)."""
    doc = registry_table.get(REGISTRY_KEY)
    return doc if doc is not None else _seed


def current_registry() -> Registry:
    """The policy's view of the registry, rebuilt only when the version changes."""
    global _cached
    doc = current_doc()
    if doc.version != _cached[0]:
        _cached = (doc.version, registry_from_doc(doc))
    return _cached[1]
