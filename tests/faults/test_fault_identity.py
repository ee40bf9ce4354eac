"""Identity under attack: a request id taken over, retried, or pointed at the deployment's own
topics. A request id belongs to the first valid request that opened it; a topic never carries
two different answers for one id; answers never go to the deployment's own topics."""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.faults.wire import (
    WireRecord,
    answered_ids,
    create_topics,
    read_wire,
    report,
    tally,
)
from tests.integration.harness import Client, System, request_body

pytestmark = pytest.mark.faults

DEADLINE_MS = 4000


def on(records: list[WireRecord], topic: str, request_id: str) -> list[WireRecord]:
    return [r for r in records if r.topic == topic and r.request_id == request_id]


async def test_a_request_id_cannot_be_taken_over_and_a_retry_gets_identical_bytes(
    system: System,
) -> None:
    """(8a) X is opened on topic a with a 4 s deadline and only the in-process backstop, so it
    stays open; then X with no payload on topic b, and X with another payload on topic a. The
    first is invalid (no payload) and, b not being X's return topic, is answered ``rejected``
    there (agents.refuse); the second is refused on X's own topic, so only as a dead letter
    ("in use"). Topic a gets exactly one answer: the backstop's, at the deadline.
    (8b) Once X is answered, X again (same payload, same topic) gets a second copy of the
    stored answer, byte for byte."""
    topic_a, topic_b = f"client-a-{system.prefix}", f"client-b-{system.prefix}"
    await create_topics(system.bootstrap, topic_a, topic_b)
    system.start_worker()  # no model process: the in-process backstop waits for the deadline
    x = "identity-x"
    original = request_body(x, return_topic=topic_a, deadline_ms=DEADLINE_MS)
    other_payload = request_body(x, return_topic=topic_a, deadline_ms=DEADLINE_MS, malignant=False)
    requests = system.topic("requests")
    async with Client(system.bootstrap) as client:
        await client.send(requests, original)
        await client.flush()
        opened_at = time.time()
        await client.send(requests, {"request_id": x, "return_topic": topic_b})
        await client.send(requests, other_payload)
        await client.flush()
        hijacks_sent_s = time.time() - opened_at
        first = await read_wire(
            system.bootstrap,
            [topic_a, topic_b],
            until=lambda rs: bool(on(rs, topic_a, x) and on(rs, topic_b, x)),
            timeout_s=DEADLINE_MS / 1000 + 30,
            idle_s=2.0,
        )
        # (8b) the retry, once the answer is out
        await client.send(requests, original)
        await client.flush()
        both = await read_wire(
            system.bootstrap,
            [topic_a, topic_b],
            until=lambda rs: len(on(rs, topic_a, x)) >= 2,
            timeout_s=30,
            idle_s=2.0,
        )
    letters = await read_wire(
        system.bootstrap,
        [system.topic("deadletter")],
        until=lambda rs: sum(1 for r in rs if r.data and r.data.get("key") == x) >= 2,
        timeout_s=20,
        idle_s=1.0,
    )
    on_a, on_b = on(first, topic_a, x), on(first, topic_b, x)
    retried = on(both, topic_a, x)
    answer_a: dict[str, Any] = on_a[0].data if on_a else {}
    answer_b: dict[str, Any] = on_b[0].data if on_b else {}
    reasons = [r.data["reason"] for r in letters if r.data and r.data.get("key") == x]
    counted = tally([x], [r for r in both if r.topic == topic_a])
    report(
        "8ab-identity-takeover-and-retry",
        counted,
        hijacks_sent_within_s=round(hijacks_sent_s, 2),
        answers_on_a_before_retry=len(on_a),
        answer_a=(answer_a.get("status"), answer_a.get("model"), answer_a.get("rule")),
        answered_ms_after_deadline=(
            answer_a["answered_at"] - answer_a["deadline_at"] if answer_a else None
        ),
        answers_on_b=len(on(both, topic_b, x)),
        answer_b=(answer_b.get("status"), answer_b.get("reason")),
        copies_on_a_after_retry=len(retried),
        retry_byte_identical=len({r.value for r in retried}) == 1 if retried else None,
        dead_letters=reasons,
    )
    assert hijacks_sent_s < DEADLINE_MS / 1000 / 2, "the hijacks must reach X while it is open"
    assert len(on_a) == 1, [r.value for r in on_a]
    assert (answer_a["status"], answer_a["model"], answer_a["rule"]) == ("ok", "rules", "backstop")
    assert answer_a["answered_at"] >= answer_a["deadline_at"], "the backstop waited its deadline"
    assert answer_a["result"]["label"] == "malignant", "the original payload, not the hijacker's"
    assert len(on(both, topic_b, x)) == 1, [r.value for r in on(both, topic_b, x)]
    assert answer_b["status"] == "rejected" and "payload" in answer_b["reason"], answer_b
    assert any("in use" in reason for reason in reasons), reasons
    assert len(retried) == 2, [r.value for r in retried]
    assert retried[0].value == retried[1].value, "a retry gets the stored bytes again"


async def test_answers_to_the_deployments_own_topics_are_rejected_on_the_answers_topic(
    system: System,
) -> None:
    """(8c) return_topic = the deployment's own requests, control or scores topic: answered
    ``rejected`` on the default answers topic, and nothing is written to the internal topic."""
    system.start_worker()
    system.start_model("scorecard")
    answers = system.topic("answers")
    internal = {role: system.topic(role) for role in ("requests", "control", "scores")}
    ids = {role: f"internal-{role}" for role in internal}
    async with Client(system.bootstrap) as client:
        for role, topic in internal.items():
            body = request_body(ids[role], return_topic=topic, deadline_ms=3000)
            await client.send(internal["requests"], body)
        # a valid request after them, so that "nothing written" is checked once it is answered
        await client.send(
            internal["requests"], request_body("internal-after", return_topic=answers)
        )
        await client.flush()
    wanted = [*ids.values(), "internal-after"]
    records = await read_wire(system.bootstrap, [answers], until=answered_ids(wanted))
    counted = tally(ids.values(), records)

    written = await read_wire(
        system.bootstrap,
        list(internal.values()),
        until=lambda rs: True,
        timeout_s=20,
        idle_s=3.0,
    )
    ours = set(ids.values())
    stray = [
        (r.topic, r.key, r.value[:200])
        for r in written
        if (isinstance(r.data, dict) and "status" in r.data)  # an Answer
        # the worker keys what it sends by request id (a model keys its batches by its name)
        or (r.topic != internal["requests"] and r.key is not None and r.key.decode() in ours)
    ]
    on_requests = [r for r in written if r.topic == internal["requests"]]
    report(
        "8c-identity-internal-return-topic",
        counted,
        answers={i: (a.get("status"), str(a.get("reason"))[:80]) for i, a in counted.kept.items()},
        written_to_internal_topics=len(stray),
        messages_on_requests_topic=len(on_requests),
    )
    assert not counted.missing, f"no answer on {answers} for {counted.missing}"
    for role, topic in internal.items():
        answer = counted.kept[ids[role]]
        assert answer["status"] == "rejected", (role, answer)
        assert repr(topic) in answer["reason"], (role, answer)
    assert not stray, f"written to the deployment's own topics: {stray}"
    assert len(on_requests) == len(internal) + 1, "only the requests this test sent"
