"""The worker's partitioner places every key where Kafka's default partitioner does."""

from __future__ import annotations

import random
import uuid

from aiokafka.partitioner import DefaultPartitioner, murmur2

from streamapp.kafka_partitioner import KafkaDefaultPartitioner, kafka_murmur2


def keys() -> list[bytes]:
    generator = random.Random(7)
    request_ids = [str(uuid.UUID(int=generator.getrandbits(128))).encode() for _ in range(2000)]
    # Every length from 0 to 80 (each remainder of the 4-byte blocks), bytes with the high bit set.
    raw = [bytes(generator.getrandbits(8) for _ in range(n % 81)) for n in range(2000)]
    return [*request_ids, *raw, b"", b"21", "ключ".encode()]


def test_the_hash_is_kafkas_murmur2() -> None:
    for key in keys():
        assert kafka_murmur2(key) == murmur2(key) & 0xFFFFFFFF, key


def test_keyed_messages_go_to_the_partition_kafkas_default_partitioner_gives() -> None:
    ours, reference = KafkaDefaultPartitioner(), DefaultPartitioner()
    for count in (1, 2, 3, 8, 12, 100):
        partitions = list(range(count))
        for key in keys():
            assert ours(key, partitions, partitions) == reference(key, partitions, partitions)


def test_a_message_without_a_key_goes_to_an_available_partition() -> None:
    ours = KafkaDefaultPartitioner()

    assert {ours(None, [0, 1, 2, 3], [2]) for _ in range(50)} == {2}
    assert {ours(None, [0, 1, 2, 3], []) for _ in range(200)} == {0, 1, 2, 3}


def test_the_worker_app_partitions_with_it() -> None:
    from streamapp.app import app

    assert isinstance(app.conf.producer_partitioner, KafkaDefaultPartitioner)
