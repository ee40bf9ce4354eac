"""Table changelogs Faust pauses are paused in its aiokafka consumer too, stream partitions not."""

from __future__ import annotations

import asyncio

import faust
from aiokafka import AIOKafkaConsumer
from aiokafka.structs import TopicPartition
from faust.transport.consumer import Consumer
from faust.types import TP

from streamapp.worker import changelog_pause


def app_with_a_table() -> tuple[faust.App, str]:
    changelog_pause.install()
    app = faust.App("changelog-pause-test", broker="kafka://127.0.0.1:1")
    app.Table("mailboxes", default=None, partitions=2)
    (changelog,) = app.tables.changelog_topics
    return app, changelog


def test_installed_twice_faust_is_patched_once() -> None:
    changelog_pause.install()
    pause, resume = Consumer.pause_partitions, Consumer.resume_partitions
    changelog_pause.install()
    assert (Consumer.pause_partitions, Consumer.resume_partitions) == (pause, resume)


def test_a_changelog_faust_pauses_is_not_fetched_until_faust_resumes_it() -> None:
    async def scenario() -> None:
        app, changelog = app_with_a_table()
        kafka = AIOKafkaConsumer(bootstrap_servers="127.0.0.1:1")  # assigned, never started
        kafka.assign([TopicPartition(changelog, 0), TopicPartition(changelog, 1)])
        kafka.assign([*kafka.assignment(), TopicPartition("requests", 0)])
        consumer = app.consumer
        consumer._thread._consumer = kafka  # type: ignore[attr-defined]
        try:
            # recovered: Faust pauses the changelog (and, during a rebalance, streams too)
            consumer.pause_partitions({TP(changelog, 0), TP(changelog, 1), TP("requests", 0)})
            assert kafka.paused() == {TopicPartition(changelog, 0), TopicPartition(changelog, 1)}
            assert TP("requests", 0) in consumer._paused_partitions  # Faust's own, as before
            consumer.resume_partitions({TP(changelog, 1), TP("requests", 0)})  # recovering it
            assert kafka.paused() == {TopicPartition(changelog, 0)}
            # a partition aiokafka has not (or no longer) assigned is left to the next assignment
            consumer.pause_partitions({TP(changelog, 7)})
            assert kafka.paused() == {TopicPartition(changelog, 0)}
        finally:
            await kafka.stop()

    asyncio.run(scenario())


def test_before_the_consumer_starts_only_faust_keeps_track() -> None:
    app, changelog = app_with_a_table()
    consumer = app.consumer
    consumer.pause_partitions({TP(changelog, 0)})
    assert TP(changelog, 0) in consumer._paused_partitions


def test_partitions_of_other_topics_are_never_chosen() -> None:
    assigned = {TopicPartition("t-changelog", 0), TopicPartition("requests", 0)}
    chosen = changelog_pause.changelog_partitions(
        [TP("t-changelog", 0), TP("requests", 0), TP("t-changelog", 3)], {"t-changelog"}, assigned
    )
    assert chosen == [TopicPartition("t-changelog", 0)]
