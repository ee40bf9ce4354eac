"""The asyncio client over Kafka: one producer, one consumer of the client's own reply topic.

Answers never go to a deployment's own topics (``<prefix>-*``, ``<app id>-*``), so the reply
topic is named outside them: ``client-replies-<host>-<random>`` unless one is given. A topic
the client names itself is created on start and deleted on close.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import socket
import time
import uuid
from collections.abc import Mapping
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from streamapp.client.answer import Answer, ScoreTimeout, rejection
from streamapp.client.correlation import Correlator

log = logging.getLogger(__name__)
#: Answers are read live: the reply topic keeps them an hour.
REPLY_RETENTION_MS = 3_600_000
#: How long the broker may hold the reply consumer's fetch when the reply topic has more than one
#: partition: a fetch may then leave out a partition whose answers are still being handed over,
#: and nothing more is fetched for it until that fetch returns.
SHORT_FETCH_WAIT_MS = 20
#: With one reply partition every fetch lists it, and the broker answers as soon as an answer
#: arrives: the wait only sets how often an idle client asks (twice a second, not fifty times).
IDLE_FETCH_WAIT_MS = 500


def reply_fetch_wait_ms(reply_partitions: int, idle_fetch_wait_ms: int) -> int:
    """How long the broker may hold the reply consumer's fetch (see ``IDLE_FETCH_WAIT_MS``)."""
    if reply_partitions == 1:
        return max(idle_fetch_wait_ms, SHORT_FETCH_WAIT_MS)
    return SHORT_FETCH_WAIT_MS


def default_reply_topic() -> str:
    """``client-replies-<host>-<random>``: outside every deployment's own topic prefixes."""
    host = re.sub(r"[^A-Za-z0-9._-]+", "-", socket.gethostname())[:60].strip("-.") or "host"
    return f"client-replies-{host}-{uuid.uuid4().hex[:12]}"


def request_value(
    request_id: str, payload: Mapping[str, Any], reply_topic: str, deadline_ms: int | None
) -> bytes:
    """The Request message (README, Wire contracts)."""
    if not isinstance(payload, Mapping):
        raise TypeError(f"payload must be a JSON object (a mapping), not {type(payload).__name__}")
    body: dict[str, Any] = {
        "request_id": request_id,
        "return_topic": reply_topic,
        "payload": dict(payload),
        "sent_at": time.time(),
    }
    if deadline_ms is not None:
        body["deadline_ms"] = deadline_ms
    return orjson.dumps(body)


class AsyncKafkaClient:
    """``await client.score(payload)`` over Kafka; many calls at once share one consumer.

    A call waits ``deadline_ms`` plus ``reply_margin_s`` for its answer, then sends the same
    request again (same request id, payload and reply topic: the rendezvous answers a retry
    with the stored answer), ``retries`` times, then raises :class:`ScoreTimeout`.

    ``idle_fetch_wait_ms`` is how long the broker may hold a fetch of a one-partition reply
    topic; it answers as soon as an answer arrives, so this only sets how often an idle client
    asks.
    """

    def __init__(
        self,
        bootstrap_servers: str = "127.0.0.1:9092",
        *,
        requests_topic: str = "rendezvous-requests",
        reply_topic: str | None = None,
        reply_partitions: int = 1,
        retries: int = 1,
        reply_margin_s: float = 3.0,
        default_deadline_ms: int = 200,
        attempt_timeout_s: float | None = None,
        idle_fetch_wait_ms: int = IDLE_FETCH_WAIT_MS,
    ) -> None:
        self.bootstrap_servers = bootstrap_servers
        self.requests_topic = requests_topic
        self.reply_topic = reply_topic or default_reply_topic()
        self._owns_topic = reply_topic is None
        self.reply_partitions = reply_partitions
        self.retries = retries
        self.reply_margin_s = reply_margin_s
        self.default_deadline_ms = default_deadline_ms
        self.attempt_timeout_s = attempt_timeout_s
        self.idle_fetch_wait_ms = idle_fetch_wait_ms
        self.resent = 0
        self.correlator = Correlator()
        self._producer: AIOKafkaProducer | None = None
        self._consumer: AIOKafkaConsumer | None = None
        self._listener: asyncio.Task[None] | None = None

    async def __aenter__(self) -> AsyncKafkaClient:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def start(self) -> None:
        """Create the reply topic if missing, start reading it from its end, start the producer."""
        await self._ensure_reply_topic()  # learns how many partitions an existing topic has
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap_servers,
            enable_auto_commit=False,
            fetch_max_wait_ms=reply_fetch_wait_ms(self.reply_partitions, self.idle_fetch_wait_ms),
        )
        await consumer.start()
        self._consumer = consumer
        partitions = [TopicPartition(self.reply_topic, p) for p in range(self.reply_partitions)]
        consumer.assign(partitions)
        await consumer.seek_to_end(*partitions)
        for tp in partitions:  # fix the positions now: no answer sent after start is missed
            await consumer.position(tp)
        self._producer = AIOKafkaProducer(bootstrap_servers=self.bootstrap_servers, linger_ms=0)
        await self._producer.start()
        self._listener = asyncio.create_task(self._listen(consumer), name="rendezvous-replies")

    async def close(self) -> None:
        """Stop reading and sending; delete the reply topic if this client named it."""
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
        if self._consumer is not None:
            await self._consumer.stop()
        if self._producer is not None:
            await self._producer.stop()
        if self._owns_topic:
            await self._delete_reply_topic()

    async def score(
        self,
        payload: Mapping[str, Any],
        *,
        deadline_ms: int | None = None,
        request_id: str | None = None,
    ) -> Answer:
        """The official answer to one request: ``ok`` and ``no_result`` are returned,
        ``rejected`` raises RequestRejected, no answer raises ScoreTimeout."""
        if self._producer is None or self._listener is None:
            raise RuntimeError("start the client first (async with AsyncKafkaClient(...))")
        request_id = request_id or uuid.uuid4().hex
        value = request_value(request_id, payload, self.reply_topic, deadline_ms)
        waiting = self.correlator.expect(request_id)
        budget_ms = deadline_ms if deadline_ms is not None else self.default_deadline_ms
        attempt_s = self.attempt_timeout_s or budget_ms / 1000 + self.reply_margin_s
        started = time.monotonic()
        try:
            for attempt in range(1 + self.retries):
                if attempt:
                    self.resent += 1
                await self._producer.send_and_wait(
                    self.requests_topic, value, key=request_id.encode()
                )
                done, _ = await asyncio.wait({waiting}, timeout=attempt_s)
                if done:
                    answer = waiting.result()
                    if answer.status == "rejected":
                        raise rejection(answer)
                    return answer
            raise ScoreTimeout(request_id, time.monotonic() - started, 1 + self.retries)
        finally:
            self.correlator.forget(request_id)

    async def _listen(self, consumer: AIOKafkaConsumer) -> None:
        try:
            while True:
                batch = await consumer.getmany(timeout_ms=500)
                for messages in batch.values():
                    for message in messages:
                        self.correlator.deliver(message.value)
        except asyncio.CancelledError:
            raise
        except Exception as error:
            log.error("the reply consumer of %s stopped: %r", self.reply_topic, error)
            self.correlator.fail_all(error)
            raise

    def _admin(self) -> AIOKafkaAdminClient:
        return AIOKafkaAdminClient(bootstrap_servers=self.bootstrap_servers)

    async def _ensure_reply_topic(self) -> None:
        admin = self._admin()
        await admin.start()
        try:
            if self.reply_topic in set(await admin.list_topics()):
                described = await admin.describe_topics([self.reply_topic])
                self.reply_partitions = len(described[0]["partitions"]) or self.reply_partitions
                return
            topic = NewTopic(
                self.reply_topic,
                self.reply_partitions,
                1,
                topic_configs={"retention.ms": str(REPLY_RETENTION_MS)},
            )
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics([topic])
            await self._wait_visible(admin)
        finally:
            await admin.close()

    async def _wait_visible(self, admin: AIOKafkaAdminClient, timeout_s: float = 10.0) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            described = await admin.describe_topics([self.reply_topic])
            if described and not described[0]["error_code"] and described[0]["partitions"]:
                return
            await asyncio.sleep(0.05)

    async def _delete_reply_topic(self) -> None:
        admin = self._admin()
        try:
            await admin.start()
            await admin.delete_topics([self.reply_topic])
        except Exception as error:  # a leftover topic is harmless: it expires its answers
            log.warning("could not delete reply topic %s: %r", self.reply_topic, error)
        finally:
            await admin.close()
