"""Writing many keys of a Faust table at once: one changelog batch per partition.

Faust writes a table key by key, each with its own changelog send (about 300 µs each here).
These tables take thousands of keys a second, so they are written the way Faust's own recovery
applies a changelog: the records go to the table's changelog partition as one Kafka batch, and
once the broker has them they are applied to the partition's store as the store's own
``apply_changelog_batch`` would, recording the persisted offset (a RocksDB store gets records
and offset in one write batch). Store and changelog hold the same records, so recovery,
standbys and rebalances work as for any Faust table.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import rocksdict
from faust.types import TP

from streamapp.worker.producer import producer_for

#: (key, value) pairs; a value of None deletes the key.
Records = list[tuple[bytes, bytes | None]]


@dataclass(frozen=True, slots=True)
class _Message:
    """A changelog record as ``apply_changelog_batch`` reads it."""

    topic: str
    partition: int
    offset: int
    key: bytes
    value: bytes | None

    @property
    def tp(self) -> TP:
        return TP(self.topic, self.partition)


@dataclass(frozen=True, slots=True)
class _Event:
    """What a store's ``apply_changelog_batch`` reads: RocksDB reads ``message``, the memory
    store (``RENDEZVOUS_TABLE_STORE=memory://``) the event's own ``key`` and ``value``."""

    message: _Message

    @property
    def key(self) -> bytes:
        return self.message.key

    @property
    def value(self) -> bytes | None:
        return self.message.value


def _same(value: Any) -> Any:
    return value


class Written:
    """Records of one partition handed to the producer; ``landed`` waits for the broker."""

    def __init__(self, table: Any, topic: str, partition: int) -> None:
        self._table = table
        self._topic = topic
        self._partition = partition
        self._parts: list[tuple[Any, Records]] = []

    def add(self, delivery: Any, records: Records) -> None:
        self._parts.append((delivery, records))

    async def landed(self) -> None:
        """Wait until the broker has every record, then apply them to the store."""
        landed = [((await delivery).offset, records) for delivery, records in self._parts]
        store = self._table.data
        if getattr(store, "use_rocksdict", False):
            _write_rocksdb(store, self._partition, landed)
            return
        written: list[_Event] = []
        topic, partition = self._topic, self._partition
        for first, records in landed:
            written.extend(
                _Event(_Message(topic, partition, first + i, key, value))
                for i, (key, value) in enumerate(records)
            )
        store.apply_changelog_batch(written, _same, _same)


def _write_rocksdb(store: Any, partition: int, parts: Iterable[tuple[int, Records]]) -> None:
    """Apply records to a RocksDB store as Faust's ``apply_changelog_batch`` does, with the
    persisted offset (the key and value Faust's ``set_persisted_offset`` writes) in the same
    write batch: one RocksDB write instead of two, and the records and the offset that recovery
    resumes from are stored together or not at all."""
    batch = rocksdict.WriteBatch(raw_mode=True)
    last = -1
    for first, records in parts:
        for key, value in records:
            if value is None:
                batch.delete(key)
            else:
                batch.put(key, value)
        if records:
            last = max(last, first + len(records) - 1)
    if last < 0:
        return
    batch.put(store.offset_key, str(last).encode())
    store._db_for_partition(partition).write(batch)


async def hand_over(table: Any, partition: int, records: Records) -> Written:
    """Give records of one partition of ``table`` to the producer, as few batches as fit.

    This does not wait for the broker (``Written.landed`` does), and it suspends only when an
    earlier batch of the partition has not left yet, so records handed over in the same turn
    of the loop as other messages leave with them in one produce request."""
    topic = table.changelog_topic.get_topic_name()
    producer = producer_for(topic)
    written = Written(table, topic, partition)
    pending = list(records)
    while pending:
        batch = producer.create_batch()
        count = 0
        for key, value in pending:
            if batch.append(key=key, value=value, timestamp=None) is None:
                break
            count += 1
        if count == 0:
            size = len(pending[0][1] or b"")
            raise ValueError(f"a record of {size} bytes does not fit in a producer batch")
        written.add(await producer.send_batch(batch, topic, partition=partition), pending[:count])
        pending = pending[count:]
    return written


async def write(table: Any, partition: int, records: Records) -> None:
    """Persist records of one partition of ``table``; returns once the broker has them."""
    written = await hand_over(table, partition, records)
    await written.landed()
