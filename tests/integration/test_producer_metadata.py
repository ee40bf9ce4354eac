"""The worker's producer keeps the metadata of the topics it writes when a fresh reply topic
appears; without that, aiokafka drops them and a batch waiting for one of them stays unsent."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from streamapp.worker.producer import keep_metadata

pytestmark = pytest.mark.integration


async def create(bootstrap: str, *names: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(name, 2, 1) for name in names])
    finally:
        await admin.close()


async def partitions_after_a_fresh_topic(bootstrap: str, *, keep: bool) -> set[int] | None:
    """Write to an existing topic, then to a topic created after the producer started (as a
    client's reply topic is), refresh the metadata, and say what is known of the first topic."""
    own, reply = f"own-{uuid.uuid4().hex[:8]}", f"reply-{uuid.uuid4().hex[:8]}"
    await create(bootstrap, own)
    kafka = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await kafka.start()
    try:
        # Tracking no topic yet, aiokafka fetches every topic's metadata (as Faust's does at start).
        await kafka.client.force_metadata_update()
        if keep:
            keep_metadata(kafka, [own])
        await kafka.send_and_wait(own, b"changelog record", partition=0)
        await create(bootstrap, reply)
        await kafka.send_and_wait(reply, b"answer")
        await kafka.client.force_metadata_update()
        known: set[int] | None = kafka.client.cluster.partitions_for_topic(own)
        if known is not None:  # and a batch for it still leaves at once
            await asyncio.wait_for(kafka.send_and_wait(own, b"next", partition=1), 10)
        return known
    finally:
        await kafka.stop()


def test_the_topics_a_producer_writes_keep_their_metadata_when_a_reply_topic_appears(
    kafka_bootstrap: str,
) -> None:
    assert asyncio.run(partitions_after_a_fresh_topic(kafka_bootstrap, keep=True)) == {0, 1}


def test_without_it_aiokafka_forgets_a_topic_it_knew_at_the_first_send(
    kafka_bootstrap: str,
) -> None:
    """Why keep_metadata exists: if aiokafka stops dropping such topics, this fails, and the
    worker's workaround can go."""
    assert asyncio.run(partitions_after_a_fresh_topic(kafka_bootstrap, keep=False)) is None
