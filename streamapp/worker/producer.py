"""The worker's Kafka producer (Faust's own), and the topics whose metadata it keeps.

aiokafka refreshes the metadata of every topic until something is sent to a topic it does not
know yet (a client's fresh reply topic). From then on it refreshes only the topics it met that
way, and the next refresh drops every other topic, even one it is writing to. A batch already
waiting for a dropped topic then has no leader: it stays in the producer until something else
is sent to that topic, and the answers persisted in it wait with it. So the worker names every
topic it writes before it writes to it: its own topics once it has started, any other topic
(a reply topic) at its first send.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from aiokafka import AIOKafkaProducer

from streamapp.app import app, settings
from streamapp.kafka_admin import topic_specs

log = logging.getLogger(__name__)


def producer() -> AIOKafkaProducer:
    """Faust's own aiokafka producer: Faust flushes it before every offset commit."""
    found: AIOKafkaProducer = app.producer._ensure_producer()  # type: ignore[attr-defined]
    return found


def keep_metadata(kafka: AIOKafkaProducer, topics: Iterable[str]) -> None:
    """Make ``kafka`` keep the metadata of these topics in every refresh from now on."""
    client = kafka.client
    # ``add_topic`` always returns a future (and, for a new topic, asks for a refresh), so on
    # the hot path the set it fills is read first: aiokafka has no public "is tracked" check.
    # tests/integration/test_producer_metadata.py fails if aiokafka changes this behaviour.
    for topic in topics:
        if topic not in client._topics:
            client.add_topic(topic)


def producer_for(topic: str) -> AIOKafkaProducer:
    """Faust's producer, keeping the metadata of ``topic`` (about to be written)."""
    found = producer()
    keep_metadata(found, (topic,))
    return found


def own_topics() -> list[str]:
    """Every topic the worker writes itself: its deployment's and its tables' changelogs."""
    changelogs = [table.changelog_topic.get_topic_name() for table in app.tables.values()]
    return [spec.name for spec in topic_specs(settings)] + changelogs


@app.task  # type: ignore[untyped-decorator]  # Faust's task decorator is untyped
async def keep_metadata_of_own_topics() -> None:
    """Once started, before answers go to reply topics: keep every own topic's metadata."""
    topics = own_topics()
    keep_metadata(producer(), topics)
    log.info("the producer keeps the metadata of %d own topics", len(topics))
