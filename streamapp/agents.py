"""The rendezvous agent: one stream of requests, scores and ticks, co-partitioned by request.

Thin by design: decode, read the mailbox, call the pure transition, write back, send.
"""

from __future__ import annotations

import logging
import time

import faust
from faust.types import EventT

from streamapp.admission import Limits, deadline_at, refusal, return_address
from streamapp.app import app, deadletters, mailbox_events, mailboxes, settings, ticks
from streamapp.clock import DeadlineClock, now_ms
from streamapp.codec import DecodeError, decode, encode
from streamapp.mailbox import Step, Timing, on_request, on_score, on_tick, reject
from streamapp.records import DeadLetter, Request, Score, Tick
from streamapp.registry import registry_from_settings
from streamapp.topics import TopicDirectory

log = logging.getLogger(__name__)

limits = Limits.from_settings(settings)
registry = registry_from_settings(settings)
topic_directory = TopicDirectory(settings)
ROLE_BY_TOPIC = {settings.topic(role): role for role in ("requests", "scores", "ticks")}


async def send_tick(request_id: str, partition: int, due_ms: int) -> None:
    """Ask the agent owning ``partition`` to look at a mailbox again."""
    await ticks.send(
        key=request_id.encode(),
        value=encode(Tick(request_id=request_id, due_ms=due_ms)),
        partition=partition,
    )


clock = DeadlineClock(send_tick)
_return_topics: dict[str, faust.TopicT] = {}


def return_topic(name: str) -> faust.TopicT:
    """The (cached) Faust topic handle for a return address."""
    if name not in _return_topics:
        _return_topics[name] = app.topic(name, key_serializer="raw", value_serializer="raw")
    return _return_topics[name]


def timing(now: int) -> Timing:
    """Time facts for one transition."""
    return Timing(now_ms=now, retention_ms=int(settings.mailbox_retention_s * 1000))


async def dead_letter(event: EventT, reason: str) -> None:
    """Send an undecodable message to the dead-letter topic with its origin and the reason."""
    message = event.message
    raw_value = message.value if isinstance(message.value, bytes) else b""
    letter = DeadLetter(
        reason=reason,
        topic=message.topic,
        partition=message.partition,
        offset=message.offset,
        key=message.key.decode("utf-8", "replace") if isinstance(message.key, bytes) else None,
        value=raw_value[:65536].decode("utf-8", "replace"),
        failed_at=time.time(),
    )
    log.warning(
        "dead letter from %s[%s]@%s: %s", message.topic, message.partition, message.offset, reason
    )
    await deadletters.send(key=message.key, value=encode(letter))


async def apply(key: str, before: object, step: Step) -> None:
    """Store the new mailbox, send its answer, schedule its next wake-up."""
    if step.mailbox is None:
        if before is not None:
            del mailboxes[key]
        clock.cancel(key)
        return
    if step.mailbox is not before:
        mailboxes[key] = step.mailbox
    if step.answer is not None:
        topic = step.mailbox.return_topic or limits.default_return_topic
        await return_topic(topic).send(key=key.encode(), value=encode(step.answer))
    if step.wake_at is not None:
        clock.schedule(key, step.mailbox.partition, step.wake_at)


async def handle_request(event: EventT, origin: str, now: int) -> None:
    """Open a mailbox for a request, or reject it with a reason."""
    message = event.message
    try:
        request = decode(Request, message.value)
    except DecodeError as error:
        await dead_letter(event, f"invalid request: {error}")
        address = return_address(message.value, limits.default_return_topic)
        if address:
            await reject_request(
                *address, message.partition, f"invalid request: {error}", now, origin
            )
        return
    reason = refusal(request, len(message.value), limits)
    topic = request.return_topic or limits.default_return_topic
    if reason is None and not await topic_directory.exists(topic):
        reason, topic = f"return_topic {topic!r} does not exist", limits.default_return_topic
    if reason is not None:
        await reject_request(request.request_id, topic, message.partition, reason, now, origin)
        return
    current = mailboxes.get(request.request_id)
    sent_ms = int(message.timestamp * 1000) if message.timestamp else now
    step = on_request(
        current,
        request,
        partition=message.partition,
        return_topic=topic,
        deadline_at=deadline_at(request, sent_ms=sent_ms, now_ms=now, limits=limits),
        registry=registry,
        timing=timing(now),
        origin=origin,
    )
    await apply(request.request_id, current, step)


async def reject_request(
    request_id: str, topic: str, partition: int, reason: str, now: int, origin: str
) -> None:
    """Answer ``rejected`` at once on the given return topic (or the default one)."""
    if not await topic_directory.exists(topic):
        topic = limits.default_return_topic
    current = mailboxes.get(request_id)
    step = reject(
        current,
        request_id,
        partition=partition,
        return_topic=topic,
        reason=reason,
        registry=registry,
        timing=timing(now),
        origin=origin,
    )
    await apply(request_id, current, step)


async def handle_score(event: EventT, origin: str, now: int) -> None:
    """File a model's score in its request's mailbox."""
    try:
        score = decode(Score, event.message.value)
    except DecodeError as error:
        await dead_letter(event, f"invalid score: {error}")
        return
    current = mailboxes.get(score.request_id)
    step = on_score(
        current,
        score,
        partition=event.message.partition,
        registry=registry,
        timing=timing(now),
        origin=origin,
    )
    await apply(score.request_id, current, step)


async def handle_tick(event: EventT, origin: str, now: int) -> None:
    """Let the policy look at a mailbox again because its time has come."""
    try:
        tick = decode(Tick, event.message.value)
    except DecodeError as error:
        await dead_letter(event, f"invalid tick: {error}")
        return
    current = mailboxes.get(tick.request_id)
    step = on_tick(current, registry=registry, timing=timing(now), origin=origin)
    await apply(tick.request_id, current, step)


HANDLERS = {"requests": handle_request, "scores": handle_score, "ticks": handle_tick}


@app.agent(mailbox_events, name="rendezvous")
async def rendezvous(stream: faust.StreamT) -> None:
    """Collect requests and scores into mailboxes and answer each request once."""
    async for event in stream.events():
        message = event.message
        origin = f"{message.topic}:{message.partition}:{message.offset}"
        handler = HANDLERS[ROLE_BY_TOPIC[message.topic]]
        try:
            await handler(event, origin, now_ms())
        except Exception as error:  # a bug must not stop the stream: keep the message
            log.exception("failed to handle %s", origin)
            await dead_letter(event, f"internal error: {type(error).__name__}: {error}")
