"""The agents, fed one message at a time through Faust's test_context."""

from __future__ import annotations

import json
import time

import pytest

from streamapp.app import settings
from streamapp.core.codec import decode
from streamapp.core.records import Answer, DeadLetter
from streamapp.kafka_admin import TopicLookupError
from streamapp.worker import agents, engine, state
from streamapp.worker.clock import now_ms
from tests.functional.conftest import Sent

ANSWERS = settings.topic("answers")
DEADLETTER = settings.topic("deadletter")


def request(request_id: str, **fields: object) -> bytes:
    body = {"request_id": request_id, "payload": {"features": {"worst radius": 12.0}}, **fields}
    return json.dumps(body).encode()


def score(request_id: str, model: str, *, result: dict | None = None, error: str | None = None):
    now = time.time()
    body = {
        "request_id": request_id,
        "model": model,
        "model_version": f"{model}-1",
        "read_at": now,
        "finished_at": now,
        "result": result,
        "error": error,
    }
    return json.dumps(body).encode()


def batch(model: str, *entries: tuple[str, dict]) -> bytes:
    now = time.time()
    scores = [
        {"request_id": rid, "read_at": now, "finished_at": now, "result": result}
        for rid, result in entries
    ]
    return json.dumps({"model": model, "model_version": f"{model}-1", "scores": scores}).encode()


def answers(sent: Sent, topic: str = ANSWERS) -> list[Answer]:
    return [decode(Answer, raw) for raw in sent.on(topic)]


def letters(sent: Sent) -> list[DeadLetter]:
    return [decode(DeadLetter, raw) for raw in sent.on(DEADLETTER)]


async def test_preferred_models_score_answers_at_once_with_its_result(worker: Sent) -> None:
    async with agents.collect_requests.test_context() as requests:
        await requests.put(request("r1", deadline_ms=60_000), key=b"r1", partition=2)
    assert answers(worker) == [], "the in-process backstop alone does not decide early"
    assert len(engine.clock) == 1, "the clock wakes the open mailbox at its next step"
    async with agents.collect_scores.test_context() as scores:
        await scores.put(
            score("r1", "scorecard", result={"label": "malignant"}), key=b"r1", partition=2
        )
    [answer] = answers(worker)
    assert (answer.status, answer.model, answer.rule) == ("ok", "scorecard", "top_priority")
    assert len(engine.clock) == 0, "an answered mailbox is not woken again"
    assert answer.result == {"label": "malignant"}
    assert {c.model for c in answer.candidates} == {"rules", "scorecard"}


async def test_a_score_batch_files_every_score_in_its_mailbox(worker: Sent) -> None:
    async with agents.collect_requests.test_context() as requests:
        for rid in ("b1", "b2"):
            await requests.put(request(rid, deadline_ms=60_000), key=rid.encode(), partition=1)
    async with agents.collect_scores.test_context() as scores:
        await scores.put(
            batch("scorecard", ("b1", {"label": "benign"}), ("b2", {"label": "malignant"})),
            key=b"scorecard",
            partition=1,
        )
    found = {a.request_id: a for a in answers(worker)}
    assert {rid: a.result["label"] for rid, a in found.items()} == {
        "b1": "benign",
        "b2": "malignant",
    }
    assert {a.rule for a in found.values()} == {"top_priority"}


async def test_the_clock_answers_with_the_in_process_backstop_at_the_deadline(
    worker: Sent,
) -> None:
    async with agents.collect_requests.test_context() as requests:
        await requests.put(request("r2", deadline_ms=300), key=b"r2", partition=0)
    mailbox = state.rendezvous.mailbox((0, "r2"))
    assert mailbox is not None and mailbox.is_open and answers(worker) == []
    while now_ms() < mailbox.deadline_ms:
        time.sleep(0.001)
    engine.clock.fire_due(now_ms())
    [answer] = answers(worker)
    assert (answer.status, answer.model, answer.rule) == ("ok", "rules", "backstop")
    assert answer.answered_at >= answer.deadline_at


async def test_the_clock_before_the_deadline_sends_nothing_and_waits(worker: Sent) -> None:
    async with agents.collect_requests.test_context() as requests:
        await requests.put(request("c3", deadline_ms=60_000), key=b"c3", partition=0)
    assert engine.clock.fire_due(now_ms()) == 0
    assert answers(worker) == [] and state.rendezvous.mailbox((0, "c3")).is_open


async def test_late_score_is_counted_and_changes_nothing(worker: Sent) -> None:
    async with agents.collect_requests.test_context() as requests:
        await requests.put(request("r3"), key=b"r3", partition=1)
    async with agents.collect_scores.test_context() as scores:
        await scores.put(
            score("r3", "scorecard", result={"label": "benign"}), key=b"r3", partition=1
        )
        await scores.put(
            score("r3", "linear", result={"label": "malignant"}), key=b"r3", partition=1
        )
    assert len(answers(worker)) == 1
    mailbox = state.rendezvous.mailbox((1, "r3"))
    assert [a.model for a in mailbox.late_scores] == ["linear"]
    assert mailbox.decision.model == "scorecard"


async def test_a_retry_gets_the_same_answer_bytes_and_another_payload_is_refused(
    worker: Sent,
) -> None:
    async with agents.collect_requests.test_context() as requests:
        await requests.put(request("r4"), key=b"r4", partition=3)
    async with agents.collect_scores.test_context() as scores:
        await scores.put(
            score("r4", "scorecard", result={"label": "benign"}), key=b"r4", partition=3
        )
    async with agents.collect_requests.test_context() as requests:
        await requests.put(request("r4"), key=b"r4", partition=3)
        other = {"request_id": "r4", "payload": {"features": {"worst radius": 30.0}}}
        await requests.put(json.dumps(other).encode(), key=b"r4", partition=3)
    first, again = worker.on(ANSWERS)
    assert first == again, "a retry gets the stored answer, byte for byte"
    [letter] = letters(worker)
    assert "request id 'r4' in use (another payload)" in letter.reason


async def test_undecodable_request_goes_to_dead_letter_and_next_one_is_served(
    worker: Sent,
) -> None:
    async with agents.collect_requests.test_context() as requests:
        await requests.put(b"{not json", key=b"x", partition=3)
        await requests.put(request("r5"), key=b"r5", partition=3)
    [letter] = letters(worker)
    assert "not JSON" in letter.reason
    assert (letter.partition, letter.value) == (3, "{not json")
    assert state.rendezvous.mailbox((3, "r5")) is not None


async def test_wrongly_typed_request_is_dead_lettered_and_rejected_to_its_return_address(
    worker: Sent,
) -> None:
    async with agents.collect_requests.test_context() as requests:
        await requests.put(request("r6", deadline_ms="soon", return_topic="my-answers"), key=b"r6")
    [letter] = letters(worker)
    assert "deadline_ms" in letter.reason
    [answer] = answers(worker, "my-answers")
    assert answer.status == "rejected" and "deadline_ms" in answer.reason


async def test_absurd_deadline_and_oversized_payload_are_rejected(worker: Sent) -> None:
    huge = {"features": {"x": 1}, "blob": "x" * (settings.max_payload_bytes + 1)}
    async with agents.collect_requests.test_context() as requests:
        await requests.put(request("r7", deadline_ms=10**9), key=b"r7")
        await requests.put(json.dumps({"request_id": "r8", "payload": huge}).encode(), key=b"r8")
    rejected = {a.request_id: a for a in answers(worker)}
    assert "deadline_ms" in rejected["r7"].reason
    assert "bytes" in rejected["r8"].reason
    assert letters(worker) == []


async def test_missing_return_topic_is_rejected_on_the_default_answers_topic(
    worker: Sent,
) -> None:
    async with agents.collect_requests.test_context() as requests:
        await requests.put(request("r9", return_topic="missing-topic"), key=b"r9")
    [answer] = answers(worker)
    assert answer.status == "rejected" and "does not exist" in answer.reason


async def test_a_failed_topic_lookup_still_answers_with_the_reason(
    worker: Sent, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broker_cannot_list_topics(name: str) -> bool:
        raise TopicLookupError("cannot list topics: KafkaConnectionError()")

    monkeypatch.setattr(state.topic_directory, "exists", broker_cannot_list_topics)
    async with agents.collect_requests.test_context() as requests:
        await requests.put(request("r10", return_topic="client-topic"), key=b"r10")
    [answer] = answers(worker)
    assert answer.status == "rejected"
    assert "cannot check that return_topic 'client-topic' exists" in answer.reason


async def test_a_bug_while_handling_a_request_dead_letters_it_and_still_answers(
    worker: Sent, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(engine, "open_mailbox", broken)
    async with agents.collect_requests.test_context() as requests:
        await requests.put(request("r11"), key=b"r11")
        await requests.put(request("r12"), key=b"r12")
    [letter, _] = letters(worker)
    assert letter.reason == "internal error: RuntimeError: boom"
    rejected = {a.request_id: a for a in answers(worker)}
    assert set(rejected) == {"r11", "r12"}, "the agent must go on after a failure"
    assert rejected["r11"].status == "rejected" and rejected["r11"].reason == letter.reason


async def test_score_before_its_request_is_kept_and_used(worker: Sent) -> None:
    async with agents.collect_scores.test_context() as scores:
        await scores.put(
            score("r13", "scorecard", result={"label": "benign"}), key=b"r13", partition=0
        )
    assert answers(worker) == []
    async with agents.collect_requests.test_context() as requests:
        await requests.put(request("r13"), key=b"r13", partition=0)
    [answer] = answers(worker)
    assert (answer.model, answer.rule) == ("scorecard", "top_priority")


async def test_invalid_score_goes_to_dead_letter(worker: Sent) -> None:
    async with agents.collect_scores.test_context() as scores:
        await scores.put(b'{"request_id": "r14", "model": 3}', key=b"r14")
    [letter] = letters(worker)
    assert letter.reason.startswith("invalid score") and "model" in letter.reason


async def test_a_payload_nested_too_deep_is_rejected_by_name(worker: Sent) -> None:
    deep = '{"request_id": "r15", "payload": {"x": ' + "[" * 300 + "]" * 300 + "}}"
    async with agents.collect_requests.test_context() as requests:
        await requests.put(deep.encode(), key=b"r15")
        await requests.put(request("r16"), key=b"r16")
    [answer] = answers(worker)
    assert answer.status == "rejected" and "nested deeper than 254 levels" in answer.reason
    assert any(state.rendezvous.mailbox((p, "r16")) for p in range(4)), "the next one opens"
