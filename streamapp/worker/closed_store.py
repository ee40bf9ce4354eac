"""The table of closed mailboxes: written in bulk (``worker.bulk``), read by key, expired.

Keys are ``<partition>:<request id>``, so the same id in two partitions never collides.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Iterable
from typing import Any

import orjson

from streamapp.app import app, mailboxes
from streamapp.core.mailbox import Arrived, Mailbox
from streamapp.core.rendezvous import Stored
from streamapp.worker import bulk

log = logging.getLogger(__name__)


def table_key(partition: int, request_id: str) -> bytes:
    """The table key of a mailbox."""
    return f"{partition}:{request_id}".encode()


def mailbox_record(mailbox: Mailbox) -> dict[str, Any]:
    """What the table keeps of a mailbox: enough for retries, late scores and the inspector
    (where the request is in Kafka, not its payload). Open mailboxes have no answer yet."""
    decision = mailbox.decision
    return {
        "closed_ms": decision.answered_ms if decision else None,
        "request_id": mailbox.request_id,
        "partition": mailbox.partition,
        "offset": mailbox.offset,
        "opened_ms": mailbox.opened_ms,
        "deadline_ms": mailbox.deadline_ms,
        "return_topic": mailbox.return_topic,
        "payload_digest": mailbox.payload_digest,
        "scores": [_score_record(a) for a in mailbox.scores],
        "late_scores": [_score_record(a) for a in mailbox.late_scores],
        "duplicate_scores": mailbox.duplicate_scores,
        "answer": decision.wire.decode() if decision else None,
    }


def _score_record(arrived: Arrived) -> dict[str, Any]:
    return {
        "model": arrived.model,
        "model_version": arrived.model_version,
        "arrived_ms": arrived.arrived_ms,
        "read_at": arrived.read_at,
        "finished_at": arrived.finished_at,
        "result": arrived.result,
        "error": arrived.error,
    }


def closed_record(mailbox: Mailbox) -> bytes:
    """The table value of a closed mailbox."""
    assert mailbox.decision is not None
    return orjson.dumps(mailbox_record(mailbox))


def stored_value(partition: int, key: bytes) -> bytes | None:
    """A key's value in the table's store of ``partition`` (the key's own partition), or None.

    Every request is looked up here (is its id already answered?), nearly always in vain.
    ``mailboxes.get`` reads RocksDB twice for a key it finds (``in``, then the value) and
    raises and catches a ``KeyError`` for one it does not, through four layers of Faust's
    table: 3.1 µs for a miss and 8.0 µs for a hit here, against 0.7 and 1.7 µs for one
    direct read. The RocksDB store is read once, directly, in the partition that holds the
    key; other stores (``memory://``) through the table.
    """
    partition_db = getattr(mailboxes.data, "_db_for_partition", None)
    value = mailboxes.get(key) if partition_db is None else partition_db(partition).get(key)
    return None if value is None else bytes(value)


def stored_from(record: bytes) -> Stored:
    """The parts of a closed record the rendezvous needs for a retry or a late score."""
    data = orjson.loads(record)
    return Stored(
        data["return_topic"], data["payload_digest"], data["opened_ms"], data["answer"].encode()
    )


class ClosedStore:
    """Writes closed mailboxes (and their expiry) to the ``mailboxes`` table in bulk."""

    def __init__(self, retention_ms: int) -> None:
        self.retention_ms = retention_ms
        #: Per partition, (closed ms, key) in the order they were written, for expiry.
        self._expiry: dict[int, deque[tuple[int, bytes]]] = {}

    @property
    def topic(self) -> str:
        """The table's changelog topic."""
        return str(mailboxes.changelog_topic.get_topic_name())

    async def write(self, partition: int, records: bulk.Records) -> None:
        """Persist records (None: delete) of one partition; returns once the broker has them."""
        await bulk.write(mailboxes, partition, records)

    async def hand_over(self, partition: int, closed: Iterable[Mailbox]) -> bulk.Written:
        """Give closed mailboxes of one partition to the producer; ``landed()`` on the result
        waits until the broker has them, then ``persisted`` schedules their expiry."""
        records: bulk.Records = [
            (table_key(partition, mailbox.request_id), closed_record(mailbox)) for mailbox in closed
        ]
        return await bulk.hand_over(mailboxes, partition, records)

    def persisted(self, closed: Iterable[Mailbox]) -> None:
        """These closed mailboxes are in the table: delete them once the retention has passed."""
        for mailbox in closed:
            assert mailbox.decision is not None
            self.expire_later(
                mailbox.partition,
                mailbox.decision.answered_ms,
                table_key(mailbox.partition, mailbox.request_id),
            )

    def expire_later(self, partition: int, closed_ms: int, key: bytes) -> None:
        """Remember to delete this key once the retention has passed."""
        self._expiry.setdefault(partition, deque()).append((closed_ms, key))

    def lookup(self, partition: int, request_id: str) -> Stored | None:
        """A closed mailbox still in the table, or None."""
        record = stored_value(partition, table_key(partition, request_id))
        return None if record is None else stored_from(record)

    def record(self, partition: int, request_id: str) -> dict[str, Any] | None:
        """The whole closed record (for the inspector), or None."""
        record = stored_value(partition, table_key(partition, request_id))
        return None if record is None else dict(orjson.loads(record))

    def find(self, request_id: str) -> dict[str, Any] | None:
        """The closed record of a request id in any partition this worker holds."""
        for partition in self.partitions():
            found = self.record(partition, request_id)
            if found is not None:
                return found
        return None

    def partitions(self) -> list[int]:
        """The partitions of the table this worker holds as active."""
        topic = self.topic
        return sorted(tp.partition for tp in app.assignor.assigned_actives() if tp.topic == topic)

    async def expire(self, now_ms: int, *, limit: int = 2000) -> int:
        """Delete up to ``limit`` records whose retention has passed; return how many."""
        horizon = now_ms - self.retention_ms
        deleted = 0
        owned = set(self.partitions())
        for partition, queue in list(self._expiry.items()):
            if partition not in owned:
                continue
            doomed: bulk.Records = []
            while queue and queue[0][0] <= horizon and deleted + len(doomed) < limit:
                doomed.append((queue.popleft()[1], None))
            if doomed:
                await self.write(partition, doomed)
                deleted += len(doomed)
        return deleted

    def forget_partitions(self, partitions: set[int]) -> None:
        """These partitions moved away: their expiry is the new owner's."""
        for partition in partitions:
            self._expiry.pop(partition, None)

    async def rebuild_expiry(self, partitions: set[int]) -> int:
        """After a recovery: learn when each stored record of these partitions expires (one
        pass over the store, yielding to the loop as it goes)."""
        found: dict[int, list[tuple[int, bytes]]] = {p: [] for p in partitions}
        for count, (key, value) in enumerate(mailboxes.data.items()):
            partition = int(key.split(b":", 1)[0]) if isinstance(key, bytes) else -1
            if partition in found and value is not None:
                found[partition].append((int(orjson.loads(value)["closed_ms"]), key))
            if count % 2000 == 1999:
                await asyncio.sleep(0)
        for partition, queue in found.items():
            self._expiry[partition] = deque(sorted(queue))
        return sum(len(q) for q in found.values())
