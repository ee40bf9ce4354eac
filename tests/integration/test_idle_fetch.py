"""An idle consumer fetching at once asks the broker seldom, and still reads a message at once:
a fetch listing every assigned partition is answered as soon as any of them has a message,
however long it may wait."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from streamapp.core.batching import AdaptiveFetch, FetchShape
from streamapp.fetch_tuning import FetchTuner

pytestmark = pytest.mark.integration
#: Far longer than the waits below: a fetch held for it would fail them.
IDLE_WAIT_MS = 20_000
IDLE_S = 1.0


async def idle_then_one_message(bootstrap: str, *, whole_wait_ms: int) -> tuple[int, bytes]:
    """Fetches an idle consumer sends in ``IDLE_S``, and the message sent after that."""
    topic = f"idle-{uuid.uuid4().hex[:8]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, 3, 1)])
    finally:
        await admin.close()
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=f"idle-{uuid.uuid4().hex[:8]}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    policy = AdaptiveFetch(
        at_once=FetchShape(10, 1),
        batch_wait_ms=3,
        batch_above_per_s=800,
        whole_wait_ms=whole_wait_ms,
    )
    tuner = FetchTuner(policy, label="test")
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    await consumer.start()
    try:
        async with asyncio.timeout(30):
            while not consumer.assignment():
                await consumer.getmany(timeout_ms=100)
        tuner.attach(consumer)  # started: its fetcher exists, and takes the tuner's shape
        fetcher = consumer._fetcher
        sent = 0
        build = fetcher._proc_fetch_request

        async def counted(*args: object) -> object:
            nonlocal sent
            sent += 1
            return await build(*args)

        fetcher._proc_fetch_request = counted
        await consumer.getmany(timeout_ms=int(IDLE_S * 1000))  # nothing there: an idle second
        idle_fetches = sent
        await producer.send_and_wait(topic, b"after the idle second", partition=1)
        async with asyncio.timeout(IDLE_WAIT_MS / 1000 / 4):
            message = await consumer.getone()
        return idle_fetches, message.value or b""
    finally:
        await consumer.stop()
        await producer.stop()


def test_an_idle_consumer_asks_seldom_and_reads_the_next_message_at_once(
    kafka_bootstrap: str,
) -> None:
    idle_fetches, value = asyncio.run(
        idle_then_one_message(kafka_bootstrap, whole_wait_ms=IDLE_WAIT_MS)
    )
    assert value == b"after the idle second"  # not held for the long wait
    assert idle_fetches <= 2


def test_without_the_long_wait_an_idle_consumer_asks_every_few_milliseconds(
    kafka_bootstrap: str,
) -> None:
    idle_fetches, value = asyncio.run(idle_then_one_message(kafka_bootstrap, whole_wait_ms=0))
    assert value == b"after the idle second"
    assert idle_fetches > 10  # a 10 ms wait: about a hundred in the second
