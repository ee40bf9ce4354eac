"""Poison on every topic the worker reads (requests, scores, control): each message goes to the
dead-letter topic with a clear reason, the worker stays up, and valid traffic goes on."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import KafkaError, MessageSizeTooLargeError

from tests.faults.wire import (
    alive,
    answered_ids,
    health,
    read_wire,
    report,
    tally,
)
from tests.integration.harness import Client, System, request_body

pytestmark = pytest.mark.faults

DEPTH = 2000
#: What a record batch of one record adds around its value (header, varints, key), with room.
BATCH_OVERHEAD = 256
TEN_MB = 10 * 1024 * 1024
#: Kafka's default max.message.bytes, if the broker does not say.
DEFAULT_MAX_MESSAGE_BYTES = 1_048_588


async def max_message_bytes(bootstrap: str, topic: str) -> int:
    """The largest record batch the broker accepts on ``topic`` (its max.message.bytes)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        responses = await admin.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, topic, {"max.message.bytes": None})]
        )
    finally:
        await admin.close()
    for response in responses:
        for resource in response.resources:
            for entry in resource[4]:
                if entry[0] == "max.message.bytes" and entry[1]:
                    return int(entry[1])
    return DEFAULT_MAX_MESSAGE_BYTES


def nested(depth: int) -> str:
    return '{"a":' * depth + "1" + "}" * depth


def poisons(role: str, answers: str, largest: int) -> dict[str, bytes]:
    """The poison messages for one topic, by kind."""
    key = f"poison-{role}-"
    huge = b"x" * (largest - BATCH_OVERHEAD - len(key) - 16)
    if role == "requests":
        wrong = {"request_id": 12345, "payload": "not an object", "deadline_ms": "soon"}

        def request(kind: str, payload: str) -> bytes:
            head = f'{{"request_id": "{key}{kind}", "return_topic": "{answers}", "payload": '
            return (head + payload + "}").encode()

        deep, nan, inf = (
            request("deep", '{"deep": ' + nested(DEPTH) + "}"),
            request("nan", '{"x": NaN}'),
            request("inf", '{"x": 1e309}'),
        )
    elif role == "scores":
        wrong = {
            "request_id": ["x"],
            "model": 7,
            "model_version": None,
            "read_at": "now",
            "finished_at": {},
        }
        score = '{"request_id": "p", "model": "m", "model_version": "1", "finished_at": 1, '
        deep = (score + '"read_at": 1, "result": ' + nested(DEPTH) + "}").encode()
        nan = (score + '"read_at": NaN}').encode()
        inf = (score + '"read_at": 1e309}').encode()
    else:
        wrong = {"command": 5, "model": ["scorecard"], "value": "x"}
        deep = '{"command": "labels", "model": "scorecard", "value": ' + nested(DEPTH) + "}"
        deep = deep.encode()  # type: ignore[assignment]
        nan = b'{"command": "priority", "model": "scorecard", "value": NaN}'
        inf = b'{"command": "priority", "model": "scorecard", "value": 1e309}'
    return {
        "not-json": b"{this is not json",
        "not-utf8": b'{"request_id": "\xff\xfe\xc3\x28"}',
        "wrong-types": json.dumps(wrong).encode(),
        "largest-accepted": huge,
        "deep": deep,
        "nan": nan,
        "inf": inf,
    }


async def test_poison_on_every_topic_goes_to_the_dead_letter_topic_and_the_worker_goes_on(
    system: System,
) -> None:
    """(7) Not JSON, not UTF-8, wrong types, the largest value the broker accepts, 2000 levels
    of nesting, NaN and 1e309, on the requests, scores and control topics; and a 10 MB value
    that the broker itself refuses."""
    worker = system.start_worker()
    system.start_model("scorecard")
    answers = system.topic("answers")
    largest = await max_message_bytes(system.bootstrap, system.topic("requests"))
    sent: dict[str, bytes] = {}
    async with Client(system.bootstrap) as client:
        for role in ("requests", "scores", "control"):
            for kind, value in poisons(role, answers, largest).items():
                key = f"poison-{role}-{kind}"
                await client.send_raw(system.topic(role), value, key=key)
                sent[key] = value
        # Readable request id and return topic, but too big: rejected (not a dead letter).
        big_request = request_body("poison-requests-big-valid", return_topic=answers)
        big_request["payload"]["padding"] = "y" * (largest - 4096)
        await client.send(system.topic("requests"), big_request)
        await client.flush()

    oversize = AIOKafkaProducer(bootstrap_servers=system.bootstrap, max_request_size=4 * TEN_MB)
    await oversize.start()
    try:
        delivery = await oversize.send(
            system.topic("requests"), b"z" * TEN_MB, key=b"poison-requests-10mb"
        )
        refused: BaseException | None = None
        try:
            await asyncio.wait_for(delivery, 60)
        except KafkaError as error:
            refused = error
    finally:
        await oversize.stop()

    letters = await read_wire(
        system.bootstrap,
        [system.topic("deadletter")],
        until=lambda records: (
            set(sent) <= {r.data.get("key") for r in records if isinstance(r.data, dict)}
        ),
        timeout_s=60,
    )
    by_key: dict[str, list[dict[str, Any]]] = {}
    for record in letters:
        if isinstance(record.data, dict):
            by_key.setdefault(str(record.data.get("key")), []).append(record.data)

    # Then valid traffic: answered, by the preferred model (every partition still flows).
    after = [f"after-poison-{n}" for n in range(8)]
    async with Client(system.bootstrap) as client:
        for request_id in after:
            body = request_body(request_id, return_topic=answers, deadline_ms=5000)
            await client.send(system.topic("requests"), body)
        await client.flush()
    # 2000 levels cannot be parsed at all (JSON parsers stop at 1,024), so no request id or
    # return topic can be read from it: a dead letter only (asserted above), no answer.
    expected_rejections = [
        "poison-requests-nan",
        "poison-requests-inf",
        "poison-requests-big-valid",
    ]
    records = await read_wire(
        system.bootstrap,
        [answers],
        until=answered_ids([*after, *expected_rejections]),
        timeout_s=15,
    )
    counted = tally(after, records)
    rejections = tally(expected_rejections, records)
    healthy = await health(system)
    reasons = {key: [letter["reason"] for letter in by_key.get(key, [])] for key in sent}
    report(
        "7-poison-messages",
        counted,
        poison_sent=len(sent),
        largest_accepted_bytes=len(sent["poison-requests-largest-accepted"]),
        oversize_refused_by_broker=repr(refused),
        dead_letters=sum(len(v) for v in by_key.values()),
        dead_letters_per_poison=dict(Counter(len(v) for v in reasons.values())),
        reasons={key: [r[:90] for r in rs] for key, rs in reasons.items()},
        rejected={
            i: (a.get("status"), str(a.get("reason"))[:90]) for i, a in rejections.kept.items()
        },
        rejections_missing=rejections.missing,
        winners=dict(Counter(f"{a.get('model')}:{a.get('rule')}" for a in counted.kept.values())),
        worker_alive=worker.poll() is None,
    )
    logged = system.log_lines("worker", "Traceback", "ERROR", "internal error", "Recursion")
    assert worker.poll() is None and healthy is not None, f"the worker went down: {logged[-20:]}"
    assert alive(system, "scorecard")
    # The producer allowed 40 MB, so the refusal is the broker's answer, not a client check.
    assert isinstance(refused, MessageSizeTooLargeError), repr(refused)
    no_letter = [key for key, rs in reasons.items() if not rs]
    assert not no_letter, f"no dead letter for {no_letter}\nworker log: {logged[-20:]}"
    wrong_origin = {
        key: letter["topic"]
        for key in sent
        for letter in by_key[key]
        if letter["topic"] != system.topic(key.split("-")[1]) or not letter["reason"]
    }
    assert not wrong_origin, f"dead letters without their origin or reason: {wrong_origin}"
    unclear = {
        key: rs for key, rs in reasons.items() if any(r.startswith("internal error") for r in rs)
    }
    assert not unclear, f"a poison message crashed its handler: {unclear}\n{logged[-20:]}"
    assert not counted.missing and not counted.conflicting, counted.summary()
    assert {(a["model"], a["rule"]) for a in counted.kept.values()} == {
        ("scorecard", "top_priority")
    }, "after the poison every partition of requests and scores still flows"
    assert not rejections.missing, f"no rejected answer for {rejections.missing}: README, Bad input"
    assert {a["status"] for a in rejections.kept.values()} == {"rejected"}
