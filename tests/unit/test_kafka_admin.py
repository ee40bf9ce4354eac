"""Checking return addresses: own topics need no lookup; a broker hiccup is not "missing"."""

from __future__ import annotations

import pytest
from aiokafka.errors import KafkaConnectionError

from streamapp.kafka_admin import TopicDirectory, TopicLookupError
from streamapp.settings import Settings


class ScriptedDirectory(TopicDirectory):
    """A directory whose topic listings come from a script instead of a broker."""

    def __init__(self, listings: list[list[str] | Exception], **options: float) -> None:
        super().__init__(Settings(topic_prefix="t"), retry_delay_s=0.0, **options)
        self.listings = listings
        self.calls = 0

    async def _list_topics(self) -> list[str]:
        self.calls += 1
        outcome = self.listings.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome


async def test_the_deployments_own_topics_are_known_without_asking_the_broker() -> None:
    directory = ScriptedDirectory([])
    assert await directory.exists("t-answers")
    assert directory.calls == 0


async def test_a_transient_failure_is_retried_and_the_topic_found() -> None:
    directory = ScriptedDirectory([KafkaConnectionError(), ["client-topic"]])
    assert await directory.exists("client-topic")
    assert directory.calls == 2


async def test_a_lasting_failure_is_an_error_not_a_missing_topic() -> None:
    directory = ScriptedDirectory([KafkaConnectionError()] * 3)
    with pytest.raises(TopicLookupError, match="cannot list topics"):
        await directory.exists("client-topic")
    assert directory.calls == 3


async def test_an_unknown_topic_is_missing_and_not_looked_up_again_at_once() -> None:
    directory = ScriptedDirectory([["other"]], recheck_after_s=60.0)
    assert not await directory.exists("client-topic")
    assert not await directory.exists("client-topic")
    assert directory.calls == 1


async def test_a_topic_created_after_another_name_was_looked_up_is_found_at_once() -> None:
    """A client that creates its reply topic and sends at once is not refused because some
    other name was looked up a moment before."""
    directory = ScriptedDirectory([["other"], ["other", "new-reply"]], recheck_after_s=60.0)
    assert not await directory.exists("made-up")
    assert await directory.exists("new-reply")
    assert directory.calls == 2


async def test_a_name_found_missing_is_looked_up_again_after_the_recheck_interval() -> None:
    directory = ScriptedDirectory([[], ["late"]], recheck_after_s=0.0, min_spacing_s=0.0)
    assert not await directory.exists("late")
    assert await directory.exists("late")
    assert directory.calls == 2
