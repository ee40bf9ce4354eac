"""The agents, fed one message at a time through Faust's test_context."""

from __future__ import annotations

import json
import time

import pytest

from streamapp.app import mailboxes, settings
from streamapp.core.codec import decode
from streamapp.core.records import Answer, DeadLetter
from streamapp.kafka_admin import TopicLookupError
from streamapp.worker import agents, deadlines, state
from streamapp.worker.clock import now_ms
from tests.functional.conftest import Sent

ANSWERS = settings.topic("answers")
DEADLETTER = settings.topic("deadletter")


def request(request_id: str, **fields: object) -> bytes:
    body = {"request_id": request_id, "payload": {"features": {"x": 1}}, **fields}
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


def answers(sent: Sent, topic: str = ANSWERS) -> list[Answer]:
    return [decode(Answer, raw) for raw in sent.on(topic)]


async def test_preferred_models_score_answers_at_once_with_its_result(worker: Sent) -> None:
    async with agents.collect_requests.test_context() as requests:
        await requests.put(request("r1", deadline_ms=60_000), key=b"r1", partition=2)
    assert answers(worker) == []
    async with agents.collect_scores.test_context() as scores:
        await scores.put(score("r1", "rules", result={"label": "benign"}), key=b"r1", partition=2)
        assert answers(worker) == []
        await scores.put(
            score("r1", "scorecard", result={"label": "malignant"}), key=b"r1", partition=2
        )
    [answer] = answers(worker)
    assert (answer.status, answer.model, answer.rule) == ("ok", "scorecard", "top_priority")
    assert answer.result == {"label": "malignant"}
    assert {c.model for c in answer.candidates} == {"rules", "scorecard"}


async def test_deadline_tick_answers_with_backstop_when_preferred_model_is_silent(
    worker: Sent,
) -> None:
    async with agents.collect_requests.test_context() as requests:
        await requests.put(
            request("r2", deadline_ms=300), key=b"r2", partition=0, timestamp=time.time()
        )
    async with agents.collect_scores.test_context() as scores:
        await scores.put(score("r2", "rules", result={"label": "benign"}), key=b"r2", partition=0)
    deadline = mailboxes["r2"].deadline_at
    assert answers(worker) == [] and mailboxes["r2"].answer is None, "filed within 300 ms"
    while now_ms() < deadline:
        time.sleep(0.001)
    tick = json.dumps({"request_id": "r2", "due_ms": deadline}).encode()
    async with agents.collect_ticks.test_context() as ticks:
        await ticks.put(tick, key=b"r2", partition=0)
    [answer] = answers(worker)
    assert (answer.status, answer.model, answer.rule) == ("ok", "rules", "backstop")
    assert answer.answered_at >= answer.deadline_at


async def test_late_score_is_counted_and_changes_nothing(worker: Sent) -> None:
    async with agents.collect_requests.test_context() as requests:
        await requests.put(request("r3"), key=b"r3", partition=1)
    async with agents.collect_scores.test_context() as scores:
        await scores.put(
            score("r3", "scorecard", result={"label": "benign"}), key=b"r3", partition=1
        )
        await scores.put(
            score("r3", "rules", result={"label": "malignant"}), key=b"r3", partition=1
        )
    assert len(answers(worker)) == 1
    assert mailboxes["r3"].late_scores == 1
    assert mailboxes["r3"].answer.model == "scorecard"


async def test_undecodable_request_goes_to_dead_letter_and_next_one_is_served(
    worker: Sent,
) -> None:
    async with agents.collect_requests.test_context() as requests:
        await requests.put(b"{not json", key=b"x", partition=3)
        await requests.put(request("r4"), key=b"r4", partition=3)
    [letter] = [decode(DeadLetter, raw) for raw in worker.on(DEADLETTER)]
    assert "not JSON" in letter.reason
    assert (letter.partition, letter.value) == (3, "{not json")
    assert "r4" in mailboxes


async def test_wrongly_typed_request_is_dead_lettered_and_rejected_to_its_return_address(
    worker: Sent,
) -> None:
    async with agents.collect_requests.test_context() as requests:
        await requests.put(request("r5", deadline_ms="soon", return_topic="my-answers"), key=b"r5")
    [letter] = [decode(DeadLetter, raw) for raw in worker.on(DEADLETTER)]
    assert "deadline_ms" in letter.reason
    [answer] = answers(worker, "my-answers")
    assert answer.status == "rejected" and "deadline_ms" in answer.reason


async def test_absurd_deadline_and_oversized_payload_are_rejected(worker: Sent) -> None:
    huge = {"features": {"x": 1}, "blob": "x" * (settings.max_payload_bytes + 1)}
    async with agents.collect_requests.test_context() as requests:
        await requests.put(request("r6", deadline_ms=10**9), key=b"r6")
        await requests.put(json.dumps({"request_id": "r7", "payload": huge}).encode(), key=b"r7")
    rejected = {a.request_id: a for a in answers(worker)}
    assert "deadline_ms" in rejected["r6"].reason
    assert "bytes" in rejected["r7"].reason
    assert worker.on(DEADLETTER) == []


async def test_missing_return_topic_is_rejected_on_the_default_answers_topic(
    worker: Sent,
) -> None:
    async with agents.collect_requests.test_context() as requests:
        await requests.put(request("r8", return_topic="missing-topic"), key=b"r8")
    [answer] = answers(worker)
    assert answer.status == "rejected" and "does not exist" in answer.reason


async def test_a_failed_topic_lookup_still_answers_with_the_reason(
    worker: Sent, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broker_cannot_list_topics(name: str) -> bool:
        raise TopicLookupError("cannot list topics: KafkaConnectionError()")

    monkeypatch.setattr(state.topic_directory, "exists", broker_cannot_list_topics)
    async with agents.collect_requests.test_context() as requests:
        await requests.put(request("r8b", return_topic="client-topic"), key=b"r8b")
    [answer] = answers(worker)
    assert answer.status == "rejected"
    assert "cannot check that return_topic 'client-topic' exists" in answer.reason


async def test_a_bug_while_handling_a_request_dead_letters_it_and_still_answers(
    worker: Sent, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken_transition(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(agents, "on_request", broken_transition)
    async with agents.collect_requests.test_context() as requests:
        await requests.put(request("r8c"), key=b"r8c")
        await requests.put(request("r8d"), key=b"r8d")
    [letter, _] = [decode(DeadLetter, raw) for raw in worker.on(DEADLETTER)]
    assert letter.reason == "internal error: RuntimeError: boom"
    rejected = {a.request_id: a for a in answers(worker)}
    assert set(rejected) == {"r8c", "r8d"}, "the agent must go on after a failure"
    assert rejected["r8c"].status == "rejected" and rejected["r8c"].reason == letter.reason


async def test_score_before_its_request_is_kept_and_used(worker: Sent) -> None:
    async with agents.collect_scores.test_context() as scores:
        await scores.put(
            score("r9", "scorecard", result={"label": "benign"}), key=b"r9", partition=0
        )
    assert answers(worker) == []
    async with agents.collect_requests.test_context() as requests:
        await requests.put(request("r9"), key=b"r9", partition=0)
    [answer] = answers(worker)
    assert (answer.model, answer.rule) == ("scorecard", "top_priority")


async def test_invalid_score_goes_to_dead_letter(worker: Sent) -> None:
    async with agents.collect_scores.test_context() as scores:
        await scores.put(b'{"request_id": "r10", "model": 3}', key=b"r10")
    [letter] = [decode(DeadLetter, raw) for raw in worker.on(DEADLETTER)]
    assert letter.reason.startswith("invalid score") and "model" in letter.reason


async def _open_with_backstop_result(request_id: str, budget_ms: int = 300) -> int:
    """Open a mailbox with a short budget and a backstop result; return its deadline."""
    async with agents.collect_requests.test_context() as requests:
        await requests.put(
            request(request_id, deadline_ms=budget_ms),
            key=request_id.encode(),
            partition=0,
            timestamp=time.time(),
        )
    async with agents.collect_scores.test_context() as scores:
        await scores.put(
            score(request_id, "rules", result={"label": "benign"}),
            key=request_id.encode(),
            partition=0,
        )
    assert mailboxes[request_id].answer is None, f"not filed within {budget_ms} ms"
    return mailboxes[request_id].deadline_at


async def test_clock_answers_at_the_deadline_and_the_tick_closes_the_mailbox(
    worker: Sent,
) -> None:
    deadline = await _open_with_backstop_result("c1")
    while now_ms() < deadline:
        time.sleep(0.001)
    await deadlines.fire("c1", 0, deadline)
    [answer] = answers(worker)
    assert (answer.model, answer.rule) == ("rules", "backstop")
    assert mailboxes["c1"].answer is None, "the clock must not write the table"
    [(_, _, tick_raw, tick_partition)] = [
        m for m in worker.messages if m[0] == settings.topic("ticks")
    ]
    assert tick_partition == 0
    async with agents.collect_ticks.test_context() as ticks:
        await ticks.put(tick_raw, key=b"c1", partition=0)
    assert mailboxes["c1"].answer == answer
    assert len(answers(worker)) == 1


async def test_score_racing_the_clocks_tick_is_late_and_sends_nothing(worker: Sent) -> None:
    deadline = await _open_with_backstop_result("c2")
    while now_ms() < deadline:
        time.sleep(0.001)
    await deadlines.fire("c2", 0, deadline)
    async with agents.collect_scores.test_context() as scores:
        await scores.put(
            score("c2", "scorecard", result={"label": "malignant"}), key=b"c2", partition=0
        )
    [answer] = answers(worker)
    assert answer.model == "rules"
    assert mailboxes["c2"].answer == answer and mailboxes["c2"].late_scores == 1


async def test_clock_before_the_deadline_sends_nothing_and_waits(worker: Sent) -> None:
    # A budget no machine overruns while the score is filed.
    deadline = await _open_with_backstop_result("c3", budget_ms=60_000)
    await deadlines.fire("c3", 0, deadline - 1000)
    assert answers(worker) == []
    assert deadlines.pending_decision("c3") is None
