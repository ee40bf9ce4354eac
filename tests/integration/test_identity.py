"""One request, one answer, one owner: retries, reused ids and return addresses, end to end."""

from __future__ import annotations

import httpx
import orjson
import pytest

from streamapp.kafka_admin import committed_offsets
from streamapp.settings import Settings
from tests.helpers import answered, eventually, read_raw
from tests.integration.harness import Client, System, request_body

pytestmark = pytest.mark.integration


async def post(url: str, body: dict) -> httpx.Response:
    async with httpx.AsyncClient(timeout=20.0) as http:
        return await http.post(url, json=body)


async def test_a_rest_retry_gets_the_stored_answer_and_another_payload_gets_409(
    system: System,
) -> None:
    system.start_worker()
    system.start_model("scorecard")
    url = system.url("/v1/score")
    body = request_body("rest-retry-1", return_topic="unused", deadline_ms=5000)
    body.pop("return_topic")  # the proxy sets it
    first = await post(url, body)
    assert first.status_code == 200, first.text
    again = await post(url, body)
    assert again.status_code == 200, again.text
    assert again.json() == first.json(), "the same answer, not a new decision"
    other = {**body, "payload": {"features": {"worst radius": 9.0}}}
    conflict = await post(url, other)
    assert conflict.status_code == 409, conflict.text
    assert "request id 'rest-retry-1' in use (another payload)" in conflict.json()["error"]


async def test_answers_never_go_to_the_deployments_own_topics(system: System) -> None:
    system.start_worker()
    answers_topic = system.topic("answers")
    control, requests = system.topic("control"), system.topic("requests")
    async with Client(system.bootstrap) as client:
        for n, topic in enumerate((control, requests, "__consumer_offsets")):
            body = request_body(f"internal-{n}", return_topic=topic, deadline_ms=5000)
            await client.send(requests, body)
        records = await client.read(
            [answers_topic], until=answered({"internal-0", "internal-1", "internal-2"})
        )
        on_control = await client.read([control], until=lambda r: False, idle_s=1.0, timeout_s=3)
    rejected = {value["request_id"]: value for _, value, _ in records}
    for n, topic in enumerate((control, requests, "__consumer_offsets")):
        answer = rejected[f"internal-{n}"]
        assert answer["status"] == "rejected" and repr(topic) in answer["reason"]
    assert not [v for _, v, _ in on_control if "status" in v], "no answer on the control topic"


async def test_a_retry_on_kafka_gets_byte_identical_copies(system: System) -> None:
    system.start_worker()
    system.start_model("scorecard")
    answers_topic = system.topic("answers")
    body = request_body("kafka-retry-1", return_topic=answers_topic, deadline_ms=5000)
    async with Client(system.bootstrap) as client:
        await client.send(system.topic("requests"), body)
        await client.read([answers_topic], until=answered({"kafka-retry-1"}))
        await client.send(system.topic("requests"), body)
        await client.flush()
    copies = await read_raw(system.bootstrap, [answers_topic], count=2)
    assert len(copies) == 2 and copies[0] == copies[1], "byte for byte"


async def test_after_a_restart_the_table_answers_retries_and_refuses_a_reused_id(
    system: System,
) -> None:
    """A closed mailbox stays in memory for seconds; after a restart its only copy is the
    RocksDB-backed table, which every request's id is looked up in. A retry gets the stored
    bytes, another payload under that id is refused, and a new id is answered as usual."""
    system.start_worker()
    system.start_model("scorecard")
    answers_topic, requests = system.topic("answers"), system.topic("requests")
    body = request_body("table-retry-1", return_topic=answers_topic, deadline_ms=5000)
    async with Client(system.bootstrap) as client:
        await client.send(requests, body)
        await client.read([answers_topic], until=answered({"table-retry-1"}))
    settings = Settings(bootstrap_servers=system.bootstrap)

    async def request_committed() -> bool:  # committed once answered and in the table
        return sum((await committed_offsets(settings, system.prefix, requests)).values()) >= 1

    await eventually(request_committed, timeout_s=30, what="the answered request committed")
    system.stop("worker")
    system.start_worker()
    reused = request_body(
        "table-retry-1", return_topic=answers_topic, deadline_ms=5000, malignant=False
    )
    fresh = request_body("table-retry-2", return_topic=answers_topic, deadline_ms=5000)
    async with Client(system.bootstrap) as client:
        for sent in (body, reused, fresh):
            await client.send(requests, sent)
        await client.flush()
    copies = await read_raw(system.bootstrap, [answers_topic], count=3)
    by_id: dict[str, list[bytes]] = {}
    for value in copies:
        by_id.setdefault(orjson.loads(value)["request_id"], []).append(value)
    assert len(by_id["table-retry-1"]) == 2, by_id
    assert by_id["table-retry-1"][0] == by_id["table-retry-1"][1], "the stored bytes again"
    assert orjson.loads(by_id["table-retry-2"][0])["status"] == "ok"
    letters = await system.dead_letters()
    assert any("table-retry-1" in str(letter) and "in use" in str(letter) for letter in letters), (
        letters
    )
