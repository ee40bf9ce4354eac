"""The worker's one way out to Kafka: a closed mailbox is persisted, then its answer is sent.

Persisting before sending is what keeps every copy of an answer identical: after a crash, a
mailbox whose answer may have left is found closed in the table and its stored bytes are sent
again, never a decision made anew.

Each partition of the table has at most one write in flight, as the producer allows anyway (one
request per partition at a time). Mailboxes closed while it is in flight wait for it, and go to
the producer as it lands, in the same turn of the loop as the landed mailboxes' answers, so both
leave in one produce request. Partitions do not wait for each other, so one slow write never
holds up another partition. A send to a topic whose metadata is not known yet runs on its own,
so it cannot hold up other answers either.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

import orjson

from streamapp.app import settings
from streamapp.core.mailbox import Mailbox
from streamapp.core.rendezvous import Closed
from streamapp.worker import bulk
from streamapp.worker.closed_store import ClosedStore
from streamapp.worker.producer import producer, producer_for

log = logging.getLogger(__name__)
RETRY_PERSIST_S = 0.5


def _log_failure(topic: str) -> Callable[[asyncio.Future[Any]], None]:
    def check(delivery: asyncio.Future[Any]) -> None:
        if not delivery.cancelled() and delivery.exception() is not None:
            log.error("a message to %s was not delivered: %r", topic, delivery.exception())

    return check


class Outbox:
    """Persists closed mailboxes and sends their answers, in that order."""

    def __init__(self, store: ClosedStore) -> None:
        self._store = store
        #: Per partition, the closed mailboxes not yet handed to the producer.
        self._waiting: dict[int, list[Closed]] = {}
        #: The partitions with a write in flight (their task hands over what waits next).
        self._writing: set[int] = set()
        self._scheduled = False
        self._flushes: set[asyncio.Task[None]] = set()
        self._sends: set[asyncio.Task[None]] = set()
        #: Called with every mailbox whose answer has been sent (the statistics).
        self.answered: list[Callable[[Mailbox], None]] = []
        self.persist_failures = 0

    def closing(self, closed: Closed) -> None:
        """Persist this mailbox and send its answer, with the others closed in this turn."""
        self._waiting.setdefault(closed.mailbox.partition, []).append(closed)
        self._schedule_flush()

    def _schedule_flush(self) -> None:
        if not self._scheduled:
            self._scheduled = True
            asyncio.get_running_loop().call_soon(self._flush_now)

    def _flush_now(self) -> None:
        self._scheduled = False
        for partition in list(self._waiting):
            if partition not in self._writing:
                self._writing.add(partition)
                task = asyncio.create_task(self._flush(partition))
                self._flushes.add(task)
                task.add_done_callback(self._flushes.discard)

    async def _flush(self, partition: int) -> None:
        """Write this partition's closed mailboxes and send their answers, until none wait."""
        try:
            batch = self._waiting.pop(partition)
            written = await self._hand_over(partition, batch)
            while True:
                await self._land(partition, batch, written)
                following = self._waiting.pop(partition, None)
                # The next write goes to the producer before these answers, in this same turn:
                # the producer sends both in one request.
                written = await self._hand_over(partition, following) if following else None
                await self._send_answers(batch)
                if following is None:
                    return
                batch = following
        finally:
            self._writing.discard(partition)
            if self._waiting.get(partition):
                self._schedule_flush()

    async def _hand_over(self, partition: int, batch: list[Closed]) -> bulk.Written | None:
        """Give a batch to the producer; None if it refused (``_land`` then tries again)."""
        try:
            return await self._store.hand_over(partition, [closed.mailbox for closed in batch])
        except Exception as error:
            self._persist_failed(batch, error)
            return None

    async def _land(
        self, partition: int, batch: list[Closed], written: bulk.Written | None
    ) -> None:
        """Wait until the broker has the batch, handing it over again while it fails."""
        mailboxes = [closed.mailbox for closed in batch]
        while True:
            if written is not None:
                try:
                    await written.landed()
                    self._store.persisted(mailboxes)
                    return
                except Exception as error:
                    self._persist_failed(batch, error)
            await asyncio.sleep(RETRY_PERSIST_S)  # the broker is away: nothing leaves meanwhile
            written = await self._hand_over(partition, batch)

    def _persist_failed(self, batch: list[Closed], error: Exception) -> None:
        self.persist_failures += 1
        log.error("cannot persist %d closed mailboxes (retrying): %r", len(batch), error)

    async def _send_answers(self, batch: list[Closed]) -> None:
        for closed in batch:
            topic = closed.mailbox.return_topic
            if producer()._metadata.partitions_for_topic(topic) is None:
                # Metadata first (up to the producer's timeout): on its own, so no other
                # answer waits for it; its events are released once it is on its way.
                self._spawn(self._deliver(closed))
            else:
                await self._deliver(closed)
        for closed in batch:
            for listener in self.answered:
                listener(closed.mailbox)

    async def _deliver(self, closed: Closed) -> None:
        """Hand the answer to the producer, then release its events: Faust flushes the
        producer before it commits their offsets, so an acknowledged request is answered."""
        mailbox = closed.mailbox
        assert mailbox.decision is not None
        await self._send(mailbox.return_topic, mailbox.request_id, mailbox.decision.wire, None)
        for hold in closed.holds:
            hold.release()

    def _spawn(self, work: Any) -> None:
        task = asyncio.create_task(work)
        self._sends.add(task)
        task.add_done_callback(self._sends.discard)

    def send(self, topic: str, key: str, value: bytes, *, partition: int | None = None) -> None:
        """Put one message on its way (refusals, stored answers, dead letters) without waiting."""
        self._spawn(self._send(topic, key, value, partition))

    async def _send(self, topic: str, key: str, value: bytes, partition: int | None) -> None:
        try:
            delivery = await producer_for(topic).send(
                topic, value, key=key.encode(), partition=partition
            )
        except Exception as error:
            log.error("cannot send to %s: %r", topic, error)
            return
        delivery.add_done_callback(_log_failure(topic))

    async def emit(self, topic: str, key: str, value: bytes) -> None:
        """Send one message and wait until the broker has it (control commands, the proxy)."""
        delivery = await producer_for(topic).send(topic, value, key=key.encode())
        await delivery

    def dead_letter(self, message: Any, reason: str) -> None:
        """Send a message that cannot be used to the dead-letter topic, with its origin."""
        raw = message.value if isinstance(message.value, bytes) else b""
        key = message.key.decode("utf-8", "replace") if isinstance(message.key, bytes) else None
        letter = {
            "reason": reason,
            "topic": message.topic,
            "partition": message.partition,
            "offset": message.offset,
            "key": key,
            "value": raw[:65536].decode("utf-8", "replace"),
            "failed_at": time.time(),
        }
        log.warning(
            "dead letter from %s[%s]@%s: %s",
            message.topic,
            message.partition,
            message.offset,
            reason,
        )
        self.send(settings.topic("deadletter"), key or "", orjson.dumps(letter))

    async def settle(self) -> None:
        """Wait for every flush and send in flight (before partitions move to another worker)."""
        self._flush_now()
        pending = [*self._flushes, *self._sends]
        if pending:
            await asyncio.wait(pending, timeout=10)
