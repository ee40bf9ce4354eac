"""The rendezvous agents: requests and scores, co-partitioned by request id.

Thin by design: decode, check, hand the event to the rendezvous (``worker.engine``), which
decides in memory and queues what must be persisted and sent. Events are acknowledged by hand
(``noack``) once what they brought is settled, so an open mailbox is safe in Kafka itself.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import faust
from faust.types import EventT

from streamapp.app import app, requests, scores
from streamapp.core.admission import (
    deadline_at,
    refusal,
    return_address,
    return_topic_refusal,
)
from streamapp.core.codec import DecodeError, parse
from streamapp.core.mailbox import payload_digest, rejection
from streamapp.core.records import Request
from streamapp.core.rendezvous import Opening, is_in_use
from streamapp.core.scores import decode_scores
from streamapp.kafka_admin import TopicLookupError
from streamapp.stats import metrics
from streamapp.worker import engine
from streamapp.worker.clock import now_ms
from streamapp.worker.fetch_patch import fetching
from streamapp.worker.in_process import run_all
from streamapp.worker.registry_cache import current_registry
from streamapp.worker.state import (
    acks,
    in_process_models,
    limits,
    rendezvous,
    request_offsets,
    request_positions,
    store,
    topic_directory,
)

log = logging.getLogger(__name__)
#: The agents yield to the loop at least this often, so the deadline clock fires on time while
#: Faust hands them a large batch without ever suspending.
YIELD_EVERY_S = 0.001
MAX_NESTING = "payload: nested deeper than 254 levels (JSON encoders cannot write it back)"


async def return_topic_problem(topic: str) -> str | None:
    """Why answers cannot go to ``topic``, or None if they can."""
    try:
        if topic_directory.known(topic) or await topic_directory.exists(topic):
            return None
    except TopicLookupError as error:
        return f"cannot check that return_topic {topic!r} exists: {error}"
    return f"return_topic {topic!r} does not exist"


async def refuse(message: Any, request_id: str, topic: str, reason: str) -> None:
    """Answer ``rejected`` on ``topic`` (or the default answers topic if it cannot take it),
    unless that is the return topic of the mailbox the id belongs to: one topic never gets two
    answers for one request id, so there the refusal is only a dead letter."""
    if return_topic_refusal(topic, limits) is not None:
        topic = limits.default_return_topic  # never answer into the deployment's own topics
    elif topic != limits.default_return_topic and await return_topic_problem(topic) is not None:
        topic = limits.default_return_topic
    holder = rendezvous.mailbox((message.partition, request_id))
    held_topic = holder.return_topic if holder else None
    if held_topic is None:
        stored = store.lookup(message.partition, request_id)
        held_topic = stored.return_topic if stored else None
    if held_topic == topic and not is_reply_topic(topic):
        in_use = reason if is_in_use(reason) else f"{reason} (request id {request_id!r} is in use)"
        engine.outbox.dead_letter(message, in_use)
        return
    wire = rejection(request_id, reason, policy_version=current_registry().version, now_ms=now_ms())
    engine.outbox.send(topic, request_id, wire)


def is_reply_topic(topic: str) -> bool:
    """A reply topic of the REST proxy: private to it, it matches answers to HTTP calls by id."""
    return limits.reply_prefix is not None and topic.startswith(limits.reply_prefix)


async def refuse_at_readable_address(message: Any, reason: str) -> None:
    """Answer ``rejected`` when a request id and return address can still be read from it."""
    address = return_address(message.value, limits.default_return_topic)
    if address:
        await refuse(message, *address, reason)


async def handle_request(event: EventT[bytes]) -> None:
    """Open a mailbox for a request, or refuse it with a reason."""
    message = event.message
    stamped = int(message.timestamp * 1000) if message.timestamp else now_ms()
    request_positions.read(message.partition, message.offset, stamped)
    skipped = request_offsets.see(message.partition, message.offset)
    if skipped is not None:
        log.warning(
            "requests partition %d: offsets %d..%d never reached this worker (skipped by the "
            "consumer, or transaction markers)",
            message.partition,
            *skipped,
        )
    try:
        request = parse(Request, message.value)
        digest = payload_digest(request.payload)
    except (DecodeError, TypeError) as error:
        metrics.request_read("invalid")
        problem = str(error) if isinstance(error, DecodeError) else MAX_NESTING
        invalid = f"invalid request: {problem}"
        engine.release_alone(event)
        engine.outbox.dead_letter(message, invalid)
        await refuse_at_readable_address(message, invalid)
        return
    topic: str = request.return_topic or limits.default_return_topic
    reason = refusal(request, len(message.value or b""), limits)
    if reason is None:
        reason = await return_topic_problem(topic)
    if reason is not None:
        metrics.request_read("refused")
        engine.release_alone(event)
        await refuse(message, request.request_id, topic, reason)
        return
    now = now_ms()
    entered = int(message.timestamp * 1000) if message.timestamp else now
    entered = min(entered, now)
    opening = Opening(
        request_id=request.request_id,
        partition=message.partition,
        offset=message.offset,
        entered_ms=entered,
        deadline_ms=deadline_at(request, sent_ms=entered, now_ms=now, limits=limits),
        return_topic=topic,
        payload_digest=digest,
        retry_anywhere=is_reply_topic(topic),
    )
    in_process = run_all(in_process_models, request.payload, entered)
    refused = engine.open_mailbox(opening, event, in_process, now)
    metrics.request_read("valid" if refused is None else "refused")
    if refused is not None:
        await refuse(message, request.request_id, topic, refused)


async def handle_scores(event: EventT[bytes]) -> None:
    """File each score of a message (a single Score or a ScoreBatch) in its mailbox."""
    try:
        scored = decode_scores(event.message.value)
    except DecodeError as error:
        engine.release_alone(event)
        engine.outbox.dead_letter(event.message, f"invalid score: {error}")
        return
    engine.file_scores(event, scored, now_ms())


async def guarded(handler: Any, event: EventT[bytes], *, is_request: bool) -> None:
    """Run one handler; a bug sends the message to the dead-letter topic instead of crashing
    the agent, and a request is still answered ``rejected`` with the reason."""
    try:
        await handler(event)
    except Exception as error:
        message = event.message
        log.exception(
            "failed to handle %s[%s]@%s", message.topic, message.partition, message.offset
        )
        reason = f"internal error: {type(error).__name__}: {error}"
        engine.outbox.dead_letter(message, reason)
        acks.settle_event(event)
        if is_request:
            try:
                await refuse_at_readable_address(message, reason)
            except Exception:
                log.exception("could not answer %s after failing to handle it", message.offset)


async def consume(stream: faust.StreamT[bytes], handler: Any, *, is_request: bool) -> None:
    """Hand every event of a stream to ``handler``, yielding to the loop now and then."""
    yielded = time.perf_counter()
    # StreamT does not declare noack(); the Stream it is at run time has it.
    async for event in stream.noack().events():  # type: ignore[attr-defined]
        fetching.read()
        await guarded(handler, event, is_request=is_request)
        if time.perf_counter() - yielded >= YIELD_EVERY_S:
            await asyncio.sleep(0)
            yielded = time.perf_counter()


@app.agent(requests, name="collect_requests")
async def collect_requests(stream: faust.StreamT[bytes]) -> None:
    """Open a mailbox per request (or refuse it) and answer at once if the policy can."""
    await consume(stream, handle_request, is_request=True)


@app.agent(scores, name="collect_scores")
async def collect_scores(stream: faust.StreamT[bytes]) -> None:
    """File each model's score in its request's mailbox; answer when the policy says so."""
    await consume(stream, handle_scores, is_request=False)
