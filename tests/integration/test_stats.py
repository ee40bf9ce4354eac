"""Statistics on a real system: what was sent is what the report and the metrics count."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from tests.helpers import answered
from tests.integration.harness import Client, System, request_body

pytestmark = pytest.mark.integration


async def test_stats_report_counts_answers_wins_and_latency_per_model(system: System) -> None:
    system.start_worker()
    system.start_model("scorecard")
    system.start_model("rules")
    ids = [f"st-{n}" for n in range(40)]
    answers_topic = system.topic("answers")
    async with Client(system.bootstrap) as client:
        for request_id in ids:
            await client.send(
                system.topic("requests"),
                request_body(request_id, return_topic=answers_topic, deadline_ms=30_000),
            )
        await client.read([answers_topic], until=answered(set(ids)))
    deadline = time.monotonic() + 30
    body: dict = {}
    while time.monotonic() < deadline:
        body = httpx.get(system.url("/v1/stats?buckets=1")).json()
        if body["totals"]["answers"] >= len(ids):
            break
        await asyncio.sleep(0.2)  # bounded wait for the statistics agent to fold
    assert body["totals"]["answers"] == len(ids)
    assert body["totals"]["by_rule"] == {"top_priority": len(ids)}
    scorecard = body["models"]["scorecard"]
    assert scorecard["wins"] == len(ids) and scorecard["win_rate"] == 1.0
    assert scorecard["eval_ms"]["p50"] is not None and scorecard["rtt_ms"]["p99"] is not None
    assert body["models"]["rules"]["wins"] == 0
    assert body["agreement"]["models"] == ["rules", "scorecard"]
    assert len(body["buckets"]) >= 1
    bad = httpx.get(system.url("/v1/stats?since=yesterday"))
    assert bad.status_code == 422 and bad.json()["field"] == "since"
    metrics = httpx.get(system.url("/metrics"))
    assert metrics.status_code == 200 and metrics.headers["content-type"].startswith("text/plain")
    assert 'rendezvous_model_wins_last_hour{model="scorecard"} 40.0' in metrics.text
