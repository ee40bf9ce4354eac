"""The data path on a real broker: plain Kafka clients in, one answer per request out."""

from __future__ import annotations

import asyncio
import json
import signal
import time
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer

from tests.helpers import answer_counts, answered, first_answers, kafka_partition
from tests.integration.harness import Client, System, request_body

pytestmark = pytest.mark.integration


def on_time(answer: dict[str, Any]) -> bool:
    """Answered within 500 ms of its deadline, or of its opening when the worker saw the request
    only after the deadline (on a slow machine a just-started worker can)."""
    return answer["answered_at"] - max(answer["deadline_at"], answer["opened_at"]) < 500


async def test_500_raw_json_requests_get_exactly_one_answer_each_on_their_return_topics(
    system: System,
) -> None:
    system.start_worker()
    system.start_model("scorecard")
    system.start_model("rules")
    # Clients' own topics: not the deployment's (those never take answers).
    return_topics = [f"client-a-{system.prefix}", f"client-b-{system.prefix}"]
    await system.create_topics(*return_topics, partitions=2)
    ids = [f"req-{n:04d}" for n in range(500)]
    async with Client(system.bootstrap) as client:
        for n, request_id in enumerate(ids):
            # A generous deadline: the preferred model's score must win on any machine (the
            # last of the 500 waits for 500 requests and 1,000 scores ahead of it; 1.4 s here,
            # and a shared CI machine twice as slow once took over 5 s).
            body = request_body(request_id, return_topic=return_topics[n % 2], deadline_ms=30_000)
            await client.send(system.topic("requests"), body)
        await client.flush()
        records = await client.read(return_topics, until=answered(set(ids)), idle_s=2.0)
    counts = answer_counts(records)
    assert set(counts) == set(ids)
    assert max(counts.values()) == 1, f"duplicates: {[i for i, c in counts.items() if c > 1]}"
    for topic, value, _ in records:
        index = int(value["request_id"].split("-")[1])
        assert topic == return_topics[index % 2]
        assert value["status"] == "ok"
        assert value["model"] == "scorecard" and value["model_version"] == "scorecard-1"
        assert value["rule"] == "top_priority"


async def test_answers_are_keyed_by_request_id_on_the_partition_kafkas_partitioner_gives(
    system: System,
) -> None:
    """A client reading one partition of its return topic finds its answers where a Java or
    aiokafka producer keyed by the request id would have put them."""
    system.start_worker()
    return_topic = f"client-keyed-{system.prefix}"
    await system.create_topics(return_topic, partitions=4)
    ids = [f"keyed-{n:03d}" for n in range(60)]
    async with Client(system.bootstrap) as client:
        for request_id in ids:
            await client.send(
                system.topic("requests"), request_body(request_id, return_topic=return_topic)
            )
        await client.read([return_topic], until=answered(set(ids)))
    consumer = AIOKafkaConsumer(
        return_topic, bootstrap_servers=system.bootstrap, auto_offset_reset="earliest"
    )
    await consumer.start()
    try:
        placed: dict[str, tuple[bytes | None, int]] = {}
        deadline = time.monotonic() + 30
        while len(placed) < len(ids) and time.monotonic() < deadline:
            for messages in (await consumer.getmany(timeout_ms=1000)).values():
                for message in messages:
                    request_id = json.loads(message.value)["request_id"]
                    placed[request_id] = (message.key, message.partition)
    finally:
        await consumer.stop()
    expected = {i: (i.encode(), kafka_partition(i.encode(), 4)) for i in ids}
    assert placed == expected
    assert len({partition for _, partition in placed.values()}) == 4


async def test_backstop_answers_by_the_deadline_when_the_preferred_model_stops(
    system: System,
) -> None:
    system.start_worker()
    system.start_model("scorecard")
    system.start_model("rules")
    answers_topic = system.topic("answers")
    async with Client(system.bootstrap) as client:
        before = [f"before-{n}" for n in range(20)]
        for request_id in before:
            await client.send(
                system.topic("requests"),
                request_body(request_id, return_topic=answers_topic, deadline_ms=3000),
            )
        await client.read([answers_topic], until=answered(set(before)))
        system.stop("scorecard")
        after = [f"after-{n}" for n in range(20)]
        for request_id in after:
            await client.send(
                system.topic("requests"),
                request_body(request_id, return_topic=answers_topic, deadline_ms=2000),
            )
        records = await client.read([answers_topic], until=answered(set(before) | set(after)))
    kept = first_answers(records)
    assert {kept[i]["model"] for i in before} == {"scorecard"}
    for request_id in after:
        answer = kept[request_id]
        assert (answer["status"], answer["model"], answer["rule"]) == ("ok", "rules", "backstop")
        assert answer["answered_at"] >= answer["deadline_at"], "the backstop must wait"
        assert on_time(answer), answer


async def test_no_result_answers_arrive_by_the_deadline_when_no_model_and_no_backstop_runs(
    system: System,
) -> None:
    system.start_worker(in_process_models="")
    answers_topic = system.topic("answers")
    ids = [f"orphan-{n}" for n in range(30)]
    async with Client(system.bootstrap) as client:
        for request_id in ids:
            await client.send(
                system.topic("requests"),
                request_body(request_id, return_topic=answers_topic, deadline_ms=300),
            )
        records = await client.read([answers_topic], until=answered(set(ids)), idle_s=1.0)
    kept = first_answers(records)
    assert set(kept) == set(ids)
    for answer in kept.values():
        assert answer["status"] == "no_result"
        assert "no deployed model answered by the deadline" in answer["reason"]
        assert answer["answered_at"] >= answer["deadline_at"] and on_time(answer), answer
    assert max(answer_counts(records).values()) == 1


async def test_the_in_process_backstop_answers_by_the_deadline_while_every_model_is_paused(
    system: System,
) -> None:
    system.start_worker()
    scorecard = system.start_model("scorecard")
    answers_topic = system.topic("answers")
    scorecard.send_signal(signal.SIGSTOP)
    try:
        ids = [f"paused-{n}" for n in range(40)]
        async with Client(system.bootstrap) as client:
            for request_id in ids:
                await client.send(
                    system.topic("requests"),
                    request_body(request_id, return_topic=answers_topic, deadline_ms=300),
                )
            records = await client.read([answers_topic], until=answered(set(ids)), idle_s=1.0)
    finally:
        scorecard.send_signal(signal.SIGCONT)
    kept = first_answers(records)
    assert set(kept) == set(ids)
    for answer in kept.values():
        assert (answer["status"], answer["model"], answer["rule"]) == ("ok", "rules", "backstop")
        assert answer["result"]["label"] in {"benign", "malignant"}
        assert answer["answered_at"] >= answer["deadline_at"] and on_time(answer), answer
        assert [c["model"] for c in answer["candidates"]] == ["rules"]
    assert max(answer_counts(records).values()) == 1


async def test_malformed_messages_go_to_the_dead_letter_topic_and_the_stream_goes_on(
    system: System,
) -> None:
    system.start_worker()
    system.start_model("scorecard")
    answers_topic, deadletter = system.topic("answers"), system.topic("deadletter")
    async with Client(system.bootstrap) as client:
        await client.send_raw(system.topic("requests"), b"\x00\x01 not json", key="junk-1")
        await client.send_raw(system.topic("requests"), b'{"payload": {}}', key="junk-2")
        await client.send_raw(system.topic("requests"), b'["a", "list"]', key="junk-3")
        await client.send_raw(
            system.topic("scores"), b'{"request_id": "x", "model": 7}', key="junk-4"
        )
        await client.send(
            system.topic("requests"),
            request_body("valid-after-junk", return_topic=answers_topic, deadline_ms=5000),
        )
        await client.flush()
        letters = await client.read([deadletter], until=lambda r: len(r) >= 4, timeout_s=60)
        records = await client.read([answers_topic], until=answered({"valid-after-junk"}))
    reasons = {letter["key"]: letter for _, letter, _ in letters}
    assert "not JSON" in reasons["junk-1"]["reason"] or "UTF-8" in reasons["junk-1"]["reason"]
    assert "request_id: Field required" in reasons["junk-2"]["reason"]
    assert "expected a JSON object" in reasons["junk-3"]["reason"]
    assert reasons["junk-4"]["reason"].startswith("invalid score")
    assert reasons["junk-4"]["topic"] == system.topic("scores")
    for letter in reasons.values():
        assert letter["offset"] >= 0 and letter["partition"] >= 0
    assert first_answers(records)["valid-after-junk"]["status"] == "ok"


async def _stream(system: System, ids: list[str], *, rate_per_s: float, kill_after: int | None):
    """Send ``ids`` at a steady rate; optionally SIGKILL the worker midway and restart it
    while the requests keep coming, so some wait out their deadline with no worker up."""
    answers_topic = system.topic("answers")
    restarted = None
    async with Client(system.bootstrap) as client:
        for n, request_id in enumerate(ids):
            if kill_after is not None and n == kill_after:
                await client.flush()
                system.stop("worker", signal.SIGKILL)
                restarted = asyncio.create_task(asyncio.to_thread(system.start_worker))
            # Killed: a short deadline, so requests wait it out while no worker is up (late).
            # Clean: a deadline no slow machine misses, so "no answer late" tests the worker.
            deadline_ms = 1000 if kill_after is not None else 10_000
            body = request_body(request_id, return_topic=answers_topic, deadline_ms=deadline_ms)
            await client.send(system.topic("requests"), body)
            await asyncio.sleep(1 / rate_per_s)  # pacing the load, not synchronisation
        await client.flush()
        if restarted is not None:
            await restarted
        return await client.read(
            [answers_topic], until=answered(set(ids)), idle_s=3.0, timeout_s=120
        )


@pytest.mark.parametrize("kill", [False, True], ids=["clean", "sigkill"])
async def test_worker_killed_mid_stream_answers_every_pending_request_after_restart(
    system: System, kill: bool
) -> None:
    system.start_worker()
    system.start_model("scorecard")
    system.start_model("rules")
    ids = [f"{'kill' if kill else 'clean'}-{n:04d}" for n in range(300)]
    records = await _stream(system, ids, rate_per_s=100, kill_after=150 if kill else None)
    counts = answer_counts(records)
    missing = set(ids) - set(counts)
    duplicates = sum(c - 1 for c in counts.values())
    late = sum(1 for a in first_answers(records).values() if a.get("late"))
    print(
        json.dumps(
            {
                "kill": kill,
                "requests": len(ids),
                "missing": len(missing),
                "duplicates_on_wire": duplicates,
                "late": late,
            }
        )
    )
    if missing:
        letters = [d for d in await system.dead_letters() if any(i in d["value"] for i in missing)]
        logged = system.log_lines("worker", *missing, "ERROR", "Traceback", "WARNING")
        raise AssertionError(
            f"{len(missing)} requests never answered: {sorted(missing)[:10]}\n"
            f"dead letters for them: {letters}\nworker log: {logged[-40:]}"
        )
    if kill:
        assert late > 0, "requests sent while the worker was down must be answered, marked late"
    else:
        assert duplicates == 0 and late == 0


async def test_with_the_memory_table_store_requests_are_answered_and_inspectable(
    system: System,
) -> None:
    """``RENDEZVOUS_TABLE_STORE=memory://`` (documented for tests): closed mailboxes are
    written in bulk into that store too, so answers leave and the inspector finds them."""
    system.start_worker(table_store="memory://")
    system.start_model("scorecard")
    ids = [f"mem-{n}" for n in range(5)]
    answers_topic = system.topic("answers")
    async with Client(system.bootstrap) as client:
        for request_id in ids:
            await client.send(
                system.topic("requests"),
                request_body(request_id, return_topic=answers_topic, deadline_ms=5000),
            )
        records = await client.read([answers_topic], until=answered(set(ids)))
    assert {a["request_id"]: a["model"] for a in first_answers(records).values()} == {
        request_id: "scorecard" for request_id in ids
    }
    shown = httpx.get(system.url(f"/v1/requests/{ids[0]}"), timeout=10)
    assert shown.status_code == 200, shown.text
    assert shown.json()["answer"]["model"] == "scorecard"
