"""The client library on a real broker and worker: over Kafka and REST, many calls at once."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer

from models.scorecard import Scorecard
from streamapp.client import (
    Answer,
    AsyncKafkaClient,
    AsyncRestClient,
    KafkaClient,
    RequestIdInUse,
    RestClient,
)
from tests.integration.harness import System

pytestmark = pytest.mark.integration

CALLS = 200
#: scorecard live and preferred, the in-process backstop; a live model nobody runs (absent)
#: makes a request wait for its deadline.
SCORECARD = {
    "scorecard": {"state": "live", "priority": 10},
    "rules": {"state": "live", "priority": 0, "backstop": True},
}


def payload(i: int) -> dict[str, Any]:
    """A distinct payload per call, so a mixed-up answer shows in its result."""
    radius = 10.0 + i * 0.05
    return {
        "features": {"worst radius": radius, "worst texture": 20.0, "worst concave points": 0.1}
    }


async def raw_messages(bootstrap: str, topic: str) -> list[tuple[bytes, bytes]]:
    """(key, value) of every message on a topic, read from the start."""
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", group_id=None
    )
    await consumer.start()
    try:
        found: list[tuple[bytes, bytes]] = []
        while batch := await consumer.getmany(timeout_ms=1500):
            found.extend((m.key or b"", m.value or b"") for ms in batch.values() for m in ms)
        return found
    finally:
        await consumer.stop()


def assert_correlated(answers: list[Answer], ids: list[str]) -> None:
    scorecard = Scorecard()
    for i, (answer, request_id) in enumerate(zip(answers, ids, strict=True)):
        assert answer.request_id == request_id
        assert (answer.status, answer.model) == ("ok", "scorecard"), answer
        assert answer.result == scorecard.predict(payload(i))


def test_200_concurrent_kafka_calls_are_each_answered_once_and_to_their_caller(
    system: System,
) -> None:
    system.start_worker(models=json.dumps(SCORECARD))
    system.start_model("scorecard")

    async def scenario() -> tuple[list[Answer], list[tuple[bytes, bytes]], str]:
        async with AsyncKafkaClient(
            system.bootstrap, requests_topic=system.topic("requests"), reply_topic=None
        ) as client:
            answers = await asyncio.gather(
                *(
                    client.score(payload(i), deadline_ms=2000, request_id=f"k{i}")
                    for i in range(CALLS)
                )
            )
            assert client.correlator.delivered == CALLS and client.resent == 0
            on_wire = await raw_messages(system.bootstrap, client.reply_topic)
            return list(answers), on_wire, client.reply_topic

    answers, on_wire, reply_topic = asyncio.run(scenario())
    assert reply_topic.startswith("client-replies-")
    assert_correlated(answers, [f"k{i}" for i in range(CALLS)])
    assert Counter(key for key, _ in on_wire) == Counter(f"k{i}".encode() for i in range(CALLS))


def test_200_concurrent_rest_calls_are_each_answered_once_and_to_their_caller(
    system: System,
) -> None:
    system.start_worker(models=json.dumps(SCORECARD))
    system.start_model("scorecard")

    async def scenario() -> list[Answer]:
        async with AsyncRestClient(system.url("")) as client:
            return list(
                await asyncio.gather(
                    *(
                        client.score(payload(i), deadline_ms=2000, request_id=f"h{i}")
                        for i in range(CALLS)
                    )
                )
            )

    answers = asyncio.run(scenario())
    assert_correlated(answers, [f"h{i}" for i in range(CALLS)])
    replies = [
        t for t in asyncio.run(topics(system.bootstrap)) if t.startswith(system.topic("replies-"))
    ]
    (reply_topic,) = replies
    on_wire = asyncio.run(raw_messages(system.bootstrap, reply_topic))
    assert Counter(key for key, _ in on_wire) == Counter(f"h{i}".encode() for i in range(CALLS))


def test_an_idle_client_asks_for_answers_seldom_and_still_gets_its_answer_at_once(
    system: System,
) -> None:
    """With one reply partition the client's fetch may wait long (here 20 s, far beyond the
    call's own time-out): the broker answers it as soon as the answer arrives."""
    system.start_worker(models=json.dumps(SCORECARD))
    system.start_model("scorecard")

    async def scenario() -> tuple[int, Answer]:
        async with AsyncKafkaClient(
            system.bootstrap,
            requests_topic=system.topic("requests"),
            idle_fetch_wait_ms=20_000,
            attempt_timeout_s=5.0,
            retries=0,
        ) as client:
            assert client._consumer is not None
            fetcher = client._consumer._fetcher
            build = fetcher._proc_fetch_request
            sent = 0

            async def counted(*args: object) -> object:
                nonlocal sent
                sent += 1
                return await build(*args)

            fetcher._proc_fetch_request = counted
            await asyncio.sleep(1.0)  # the idle second measured, not a wait for anything
            idle_fetches = sent
            answer = await client.score(payload(9), deadline_ms=2000, request_id="idle-1")
        return idle_fetches, answer

    idle_fetches, answer = asyncio.run(scenario())
    assert idle_fetches <= 2  # with the old 20 ms wait: about fifty
    assert (answer.status, answer.model) == ("ok", "scorecard")


async def topics(bootstrap: str) -> set[str]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await consumer.start()
    try:
        return set(await consumer.topics())
    finally:
        await consumer.stop()


def test_a_retry_after_a_time_out_gets_the_stored_answer(system: System) -> None:
    """The client gives up waiting before the rendezvous decides (an absent preferred model
    holds the answer until the deadline), sends the same request again, and gets the one
    answer; a later retry of the closed request gets the stored bytes again."""
    registry = {**SCORECARD, "absent": {"state": "live", "priority": 50}}
    system.start_worker(models=json.dumps(registry))
    system.start_model("scorecard")

    async def scenario() -> tuple[Answer, Answer, int, list[tuple[bytes, bytes]]]:
        async with AsyncKafkaClient(
            system.bootstrap,
            requests_topic=system.topic("requests"),
            attempt_timeout_s=0.6,
            retries=5,
        ) as client:
            first = await client.score(payload(1), deadline_ms=1500, request_id="retry-1")
            resent = client.resent
            again = await client.score(payload(1), deadline_ms=1500, request_id="retry-1")
            on_wire = await raw_messages(system.bootstrap, client.reply_topic)
        return first, again, resent, on_wire

    first, again, resent, on_wire = asyncio.run(scenario())
    assert resent >= 2, "the first attempts timed out and were sent again"
    assert (first.status, first.model) == ("ok", "scorecard")
    assert again == first
    copies = [value for key, value in on_wire if key == b"retry-1"]
    assert len(copies) >= 2, "the closed request's retry got its stored answer again"
    assert len(set(copies)) == 1, "every copy is byte-identical"


def test_the_blocking_clients_raise_for_a_request_id_another_request_holds(
    system: System,
) -> None:
    """Another client (another reply topic) reusing an id is answered ``rejected`` there."""
    system.start_worker(models=json.dumps(SCORECARD))
    system.start_model("scorecard")
    topic = system.topic("requests")
    with KafkaClient(system.bootstrap, requests_topic=topic) as kafka:
        assert kafka.score(payload(3), deadline_ms=2000, request_id="same").ok
        with (
            KafkaClient(system.bootstrap, requests_topic=topic) as other,
            pytest.raises(RequestIdInUse, match="in use"),
        ):
            other.score(payload(3), deadline_ms=2000, request_id="same")
    with RestClient(system.url("")) as rest:
        assert rest.score(payload(5), deadline_ms=2000, request_id="rest-same").ok
        with pytest.raises(RequestIdInUse, match="in use"):
            rest.score(payload(6), deadline_ms=2000, request_id="rest-same")


def test_rendezvous_score_prints_the_answer_over_kafka_and_over_rest(
    system: System, tmp_path: Path
) -> None:
    system.start_worker(models=json.dumps(SCORECARD))
    system.start_model("scorecard")
    request = tmp_path / "request.json"
    request.write_text(json.dumps({"request_id": "cli-1", "payload": payload(7)}))
    bare = tmp_path / "payload.json"
    bare.write_text(json.dumps(payload(8)))
    runs = {
        "kafka": ["--payload", str(request), "--deadline-ms", "2000"],
        "rest": ["--payload", str(bare), "--rest", system.url(""), "--request-id", "cli-2"],
    }
    for how, args in runs.items():
        done = subprocess.run(
            [sys.executable, "-m", "streamapp", "score", *args],
            env=system.env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, f"{how}: {done.stderr}"
        answer = json.loads(done.stdout)
        assert answer["status"] == "ok" and answer["model"] == "scorecard", how
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"request_id": "cli-3", "payload": payload(1), "deadline_ms": 0}))
    refused = subprocess.run(
        [
            sys.executable,
            "-m",
            "streamapp",
            "score",
            "--payload",
            str(bad),
            "--rest",
            system.url(""),
        ],
        env=system.env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert refused.returncode == 1
    assert refused.stderr.startswith("error: HTTP 422: deadline_ms"), refused.stderr
