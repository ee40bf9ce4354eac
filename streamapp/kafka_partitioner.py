"""Kafka's default key partitioning, with the hash computed in native code.

A keyed message goes to partition ``murmur2(key) & 0x7fffffff`` modulo the partition count, as
the Java client and aiokafka's ``DefaultPartitioner`` place it; a message without a key goes to
a random available partition. aiokafka computes murmur2 in pure Python: about 6 µs for a
request id here, once for every answer the worker sends (about 1 % of the worker's CPU at 1,000
requests/s). The ``murmurhash2`` library computes the same hash in about 0.13 µs.
``tests/unit/test_kafka_partitioner.py`` checks the two agree, so every client of the topic
keeps finding a request id's messages on the same partition.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from murmurhash2 import murmurhash2

#: The seed of Kafka's murmur2 (``org.apache.kafka.common.utils.Utils.murmur2``).
KAFKA_MURMUR2_SEED = 0x9747B28C


def kafka_murmur2(key: bytes) -> int:
    """Kafka's murmur2 hash of ``key``, as an unsigned 32-bit integer."""
    return int(murmurhash2(key, KAFKA_MURMUR2_SEED)) & 0xFFFFFFFF


def partition_of(key: bytes, partitions: int) -> int:
    """The partition Kafka's default partitioner gives ``key`` among ``partitions``."""
    return (kafka_murmur2(key) & 0x7FFFFFFF) % partitions


class KafkaDefaultPartitioner:
    """aiokafka's partitioner interface, placing messages as Kafka's default partitioner."""

    def __call__(
        self, key: bytes | None, all_partitions: Sequence[int], available: Sequence[int]
    ) -> int:
        if key is None:
            return random.choice(available or all_partitions)
        return all_partitions[partition_of(key, len(all_partitions))]
