"""The hot path as any client sees it: plain Kafka clients as models, a worker catching up in event
time, and a burst far above capacity."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaProducer

from streamapp.kafka_admin import ensure_topics
from streamapp.settings import Settings
from tests.helpers import answered, eventually, first_answers
from tests.integration.harness import Client, System, request_body

pytestmark = pytest.mark.integration


def deployment(system: System) -> Settings:
    """The settings of this test's deployment (its own topics)."""
    return Settings(
        bootstrap_servers=system.bootstrap,
        topic_prefix=system.prefix,
        app_id=system.prefix,
        partitions=4,
    )


def single_score(request_id: str, model: str, label: str) -> bytes:
    """A Score as any Kafka client would write it: one message for one request."""
    now = time.time()
    body: dict[str, Any] = {
        "request_id": request_id,
        "model": model,
        "model_version": f"{model}-plain",
        "read_at": now,
        "finished_at": now,
        "result": {"label": label, "score": 0.5},
    }
    return json.dumps(body).encode()


async def send_requests(
    producer: AIOKafkaProducer, system: System, ids: list[str], *, deadline_ms: int
) -> dict[str, int]:
    """Send requests; return the partition each one landed on."""
    partitions = {}
    for request_id in ids:
        body = request_body(
            request_id, return_topic=system.topic("answers"), deadline_ms=deadline_ms
        )
        meta = await producer.send_and_wait(
            system.topic("requests"), json.dumps(body).encode(), key=request_id.encode()
        )
        partitions[request_id] = meta.partition
    return partitions


@pytest.mark.parametrize("consumer_thread", ["false", "true"], ids=["on-loop", "faust-thread"])
async def test_a_plain_kafka_client_writing_single_scores_is_a_model(
    system: System, consumer_thread: str
) -> None:
    # Both ways of running Faust's stream consumer (RENDEZVOUS_CONSUMER_THREAD) answer.
    system.start_worker(
        models=json.dumps({"plain": {"state": "live", "priority": 10}}),
        consumer_thread=consumer_thread,
    )
    ids = [f"plain-{n}" for n in range(20)]
    producer = AIOKafkaProducer(bootstrap_servers=system.bootstrap)
    await producer.start()
    try:
        partitions = await send_requests(producer, system, ids, deadline_ms=10_000)
        for request_id in ids:  # a model reads the request, then writes to its partition
            await producer.send_and_wait(
                system.topic("scores"),
                single_score(request_id, "plain", "benign"),
                key=request_id.encode(),
                partition=partitions[request_id],
            )
    finally:
        await producer.stop()
    async with Client(system.bootstrap) as client:
        records = await client.read([system.topic("answers")], until=answered(set(ids)))
    kept = first_answers(records)
    for answer in kept.values():
        assert (answer["status"], answer["model"], answer["rule"]) == (
            "ok",
            "plain",
            "top_priority",
        )
        assert answer["model_version"] == "plain-plain" and answer["late"] is False


async def test_a_worker_that_starts_late_answers_in_event_time_from_the_scores_in_kafka(
    system: System,
) -> None:
    await ensure_topics(deployment(system))
    on_time = [f"on-time-{n}" for n in range(10)]
    too_late = [f"too-late-{n}" for n in range(10)]
    producer = AIOKafkaProducer(bootstrap_servers=system.bootstrap)
    await producer.start()
    try:
        partitions = await send_requests(producer, system, on_time + too_late, deadline_ms=1000)
        for request_id in on_time:  # well before the deadline
            await producer.send_and_wait(
                system.topic("scores"),
                single_score(request_id, "scorecard", "malignant"),
                key=request_id.encode(),
                partition=partitions[request_id],
            )
        await asyncio.sleep(1.5)  # the deadlines pass with no worker running
        for request_id in too_late:  # after the deadline: stamped too late to count
            await producer.send_and_wait(
                system.topic("scores"),
                single_score(request_id, "scorecard", "malignant"),
                key=request_id.encode(),
                partition=partitions[request_id],
            )
    finally:
        await producer.stop()
    system.start_worker()
    async with Client(system.bootstrap) as client:
        records = await client.read(
            [system.topic("answers")], until=answered(set(on_time + too_late)), idle_s=1.0
        )
    kept = first_answers(records)
    assert {kept[i]["status"] for i in on_time + too_late} == {"ok"}, "none no_result"
    for request_id in on_time:
        answer = kept[request_id]
        assert (answer["model"], answer["rule"], answer["late"]) == (
            "scorecard",
            "top_priority",
            True,
        )
    for request_id in too_late:
        answer = kept[request_id]
        assert (answer["model"], answer["rule"], answer["late"]) == ("rules", "backstop", True)
        assert [c["model"] for c in answer["candidates"]] == ["rules"]


async def test_a_burst_far_above_capacity_is_answered_in_full_with_no_no_result(
    system: System,
) -> None:
    system.start_worker()
    system.start_model("scorecard")
    ids = [f"burst-{n:05d}" for n in range(3000)]
    seen_lag: list[int] = []

    async def watch_health() -> None:  # what an operator sees while the burst is worked off
        async with httpx.AsyncClient(timeout=5.0) as http:
            while True:
                lag = (await http.get(system.url("/health"))).json()["lag"]
                seen_lag.append(sum(lag["requests"].values()))
                await asyncio.sleep(0.2)  # a polling interval, not synchronisation

    watching = asyncio.create_task(watch_health())
    async with Client(system.bootstrap) as client:
        for request_id in ids:  # as fast as one producer can: far above what two cores answer
            body = request_body(request_id, return_topic=system.topic("answers"), deadline_ms=200)
            await client.send(system.topic("requests"), body)
        await client.flush()
        records = await client.read(
            [system.topic("answers")], until=answered(set(ids)), timeout_s=180
        )
    watching.cancel()
    kept = first_answers(records)
    assert set(kept) == set(ids), f"missing {len(set(ids) - set(kept))}"
    statuses = {answer["status"] for answer in kept.values()}
    assert statuses == {"ok"}, "the in-process backstop at least, never no_result"
    late = sum(1 for answer in kept.values() if answer["late"])
    print(f"\nburst of {len(ids)}: {late} answered late; request lag seen up to {max(seen_lag)}")
    assert max(seen_lag) > 0, "the worker's lag is reported while it works a backlog off"
    for process in ("worker", "scorecard"):  # read in batches while it is fast, then at once
        for shape in ("fetching in batches", "fetching at once"):

            async def logged(process: str = process, shape: str = shape) -> bool:
                return bool(system.log_lines(process, shape))

            await eventually(logged, timeout_s=15, what=f"{process} logs {shape!r}")
