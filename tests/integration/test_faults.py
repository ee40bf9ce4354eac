"""Fault injection on a real system: errors, latency and crashes do what the flags say."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from streamapp.processes.faults import CRASH_EXIT_CODE
from tests.helpers import Records, answered, eventually, first_answers, scores_in
from tests.integration.harness import Client, System, request_body

pytestmark = pytest.mark.integration


async def ask(system: System, ids: list[str], deadline_ms: int) -> dict[str, dict]:
    answers_topic = system.topic("answers")
    async with Client(system.bootstrap) as client:
        for request_id in ids:
            await client.send(
                system.topic("requests"),
                request_body(request_id, return_topic=answers_topic, deadline_ms=deadline_ms),
            )
        records = await client.read([answers_topic], until=answered(set(ids)))
    kept = first_answers(records)
    return {request_id: kept[request_id] for request_id in ids}


async def scores_of(system: System, model: str, count: int) -> list[dict]:
    """The first ``count`` single Scores of ``model`` on the scores topic (batches unpacked)."""

    def of_model(records: Records) -> list[dict]:
        return [s for _, v, _ in records for s in scores_in(v) if s["model"] == model]

    async with Client(system.bootstrap) as client:
        records = await client.read(
            [system.topic("scores")], until=lambda r: len(of_model(r)) >= count
        )
    return of_model(records)


async def test_error_rate_one_makes_every_score_an_error_and_the_backstop_answers(
    system: System,
) -> None:
    system.start_worker()
    system.start_model("rules")
    system.start_model("scorecard", "--error-rate", "1")
    answers = await ask(system, [f"err-{n}" for n in range(10)], deadline_ms=2000)
    for answer in answers.values():
        assert (answer["model"], answer["rule"]) == ("rules", "backstop")
        scorecard = next(c for c in answer["candidates"] if c["model"] == "scorecard")
        assert scorecard["ok"] is False
    scores = await scores_of(system, "scorecard", 10)
    assert all(
        s["error"] == "InjectedError: injected fault" and s["result"] is None for s in scores
    )


async def test_added_latency_shows_in_the_scores_and_misses_the_deadline(system: System) -> None:
    system.start_worker()
    system.start_model("rules")
    # The margins hold on a slow machine: the cold backstop has 800 ms to score, and the
    # slowed model misses that by at least 400 ms.
    system.start_model("scorecard", "--latency", "uniform:1200:1300")
    ids = [f"slow-{n}" for n in range(8)]
    answers = await ask(system, ids, deadline_ms=800)
    assert {(a["model"], a["rule"]) for a in answers.values()} == {("rules", "backstop")}
    scores = await scores_of(system, "scorecard", len(ids))
    took = [s["finished_at"] - s["read_at"] for s in scores]
    assert all(1.2 <= t < 2.5 for t in took), took
    timeline_url = system.url(f"/v1/requests/{ids[0]}")

    async def late_score_filed() -> bool:  # the worker files it after we saw it on the topic
        return len(httpx.get(timeline_url).json()["late_scores"]) >= 1

    await eventually(late_score_filed, timeout_s=10, what="the late score in the timeline")
    timeline = httpx.get(timeline_url).json()
    assert [s["model"] for s in timeline["late_scores"]] == ["scorecard"]
    assert timeline["late_scores"][0]["since_open_ms"] >= 800, "it came after the deadline"
    assert timeline["answer"]["model"] == "rules"


async def test_crash_after_n_requests_ends_the_process_and_requests_are_still_answered(
    system: System,
) -> None:
    system.start_worker()
    system.start_model("rules")
    crashing = system.start_model("scorecard", "--crash-after", "5", "--concurrency", "1")
    first = await ask(system, [f"pre-{n}" for n in range(5)], deadline_ms=2000)
    assert {a["model"] for a in first.values()} == {"scorecard"}
    later = await ask(system, [f"post-{n}" for n in range(5)], deadline_ms=2000)
    deadline = time.monotonic() + 30
    while crashing.poll() is None and time.monotonic() < deadline:
        await asyncio.sleep(0.1)  # bounded wait for the process to end
    assert crashing.returncode == CRASH_EXIT_CODE
    assert {a["model"] for a in later.values()} == {"rules"}
