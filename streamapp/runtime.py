"""Per-process objects of a worker: limits, registry, the deadline clock and the outbox."""

from __future__ import annotations

import json
from typing import Any

import faust

from streamapp import stats
from streamapp.admission import Limits
from streamapp.app import REGISTRY_KEY, mailboxes, raw_topic, registry_table, settings
from streamapp.clock import DeadlineClock, now_ms
from streamapp.codec import encode
from streamapp.mailbox import Timing, is_open, on_tick
from streamapp.offsets import GapWatch
from streamapp.policy import Registry
from streamapp.records import Answer, Tick
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


#: Request ids of the open mailboxes on this worker (for "pending mailboxes").
open_requests: set[str] = set()
#: Offsets of the requests topic as this worker's agent saw them (warns on skipped ones).
request_offsets = GapWatch()


async def observe(observation: dict[str, Any]) -> None:
    """Hand an observation to the statistics agent (unless statistics are switched off)."""
    if not settings.stats_enabled:
        return
    await emit(
        settings.topic("observations"),
        str(observation["at"]),
        json.dumps(observation, separators=(",", ":")).encode(),
    )


#: Answers the clock has sent whose Tick the owning agent has not recorded yet.
_decided: dict[str, tuple[int, Answer]] = {}


def pending_decision(request_id: str) -> Answer | None:
    """The answer the clock already sent for this request, if the agent has not recorded it."""
    found = _decided.get(request_id)
    return found[1] if found else None


def forget_decision(request_id: str) -> None:
    """The agent has recorded the clock's answer in the table."""
    _decided.pop(request_id, None)


def keep_partitions(partitions: set[int]) -> None:
    """This worker now owns these partitions: forget clock state of any other."""
    clock.keep_partitions(partitions)
    for request_id, (partition, _) in list(_decided.items()):
        if partition not in partitions:
            del _decided[request_id]


async def fire(request_id: str, partition: int, due_ms: int) -> None:
    """A mailbox's time has come: decide here and send the answer at once.

    Deciding in the clock (a table read and the pure transition) keeps the deadline to the
    millisecond; a round trip through Kafka first measured 20-30 ms late at 200 requests/s.
    The table is still written only by the agent, which records the answer from the Tick.
    """
    mailbox = mailboxes.get(request_id)
    if mailbox is None or request_id in _decided:
        return
    ticks_topic = settings.topic("ticks")
    if not is_open(mailbox):
        tick = Tick(request_id=request_id, due_ms=due_ms)
        await emit(ticks_topic, request_id, encode(tick), partition=partition)
        return
    step = on_tick(
        mailbox, registry=current_registry(), timing=timing(now_ms()), origin=f"clock:{due_ms}"
    )
    if step.answer is None:
        if step.wake_at is not None:
            clock.schedule(request_id, partition, step.wake_at)
        return
    _decided[request_id] = (partition, step.answer)
    open_requests.discard(request_id)
    await emit(mailbox.return_topic or limits.default_return_topic, request_id, encode(step.answer))
    assert step.mailbox is not None
    await observe(stats.decision(step.mailbox, current_registry()))
    tick = Tick(request_id=request_id, due_ms=due_ms, answer=step.answer)
    await emit(ticks_topic, request_id, encode(tick), partition=partition)


clock = DeadlineClock(fire)


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


def canary_name() -> str | None:
    """The registered canary (the model labelled ``role: canary``), if any."""
    return next((m.name for m in current_doc().models if m.labels.get("role") == "canary"), None)
