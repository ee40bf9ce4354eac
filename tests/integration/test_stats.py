"""Statistics on a real system: what was sent is what the report and the metrics count."""

from __future__ import annotations

import asyncio
import os
import signal
import time

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from benchmarks.proc_usage import children_running, ended
from streamapp.web.reporter import REPORT_MODULE
from tests.integration.harness import System, send_and_await_answers

pytestmark = pytest.mark.integration


async def test_stats_report_counts_answers_wins_and_latency_per_model(system: System) -> None:
    system.start_worker()
    system.start_model("scorecard")
    system.start_model("rules")
    ids = [f"st-{n}" for n in range(40)]
    await send_and_await_answers(system, ids, deadline_ms=30_000)
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


def samples(system: System) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """The worker's metrics, parsed by prometheus_client's own parser."""
    text = httpx.get(system.url("/metrics")).text
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(found: dict, name: str, **labels: str) -> float:
    return found.get((name, tuple(sorted(labels.items()))), 0.0)


async def test_metrics_parse_as_prometheus_text_and_the_counters_rise_with_traffic(
    system: System,
) -> None:
    system.start_worker()
    system.start_model("scorecard")
    before = samples(system)
    assert value(before, "rendezvous_policy_version") >= 1
    ids = [f"metrics-{n}" for n in range(25)]
    await send_and_await_answers(system, ids, deadline_ms=30_000)
    after = samples(system)
    won = (
        "rendezvous_answers_total",
        {"status": "ok", "rule": "top_priority", "model": "scorecard"},
    )
    assert value(after, won[0], **won[1]) - value(before, won[0], **won[1]) == len(ids)
    grew = value(after, "rendezvous_requests_total", outcome="valid") - value(
        before, "rendezvous_requests_total", outcome="valid"
    )
    assert grew == len(ids)
    assert value(after, "rendezvous_scores_total", model="scorecard", outcome="ok") >= len(ids)
    assert value(after, "rendezvous_answer_latency_seconds_count") >= len(ids)
    assert value(after, "rendezvous_added_latency_seconds_count") >= len(ids)
    assert value(after, "rendezvous_model_eval_seconds_count", model="scorecard") >= len(ids)
    assert value(after, "rendezvous_pending_mailboxes") == 0


def report_processes_of(worker: int) -> list[int]:
    """The worker's statistics-report processes."""
    return children_running(worker, REPORT_MODULE.encode())


async def test_reports_are_built_in_a_child_of_the_worker_that_is_replaced_and_ends_with_it(
    system: System,
) -> None:
    worker = system.start_worker()
    system.start_model("scorecard")
    ids = [f"rp-{n}" for n in range(10)]
    await send_and_await_answers(system, ids, deadline_ms=30_000)
    deadline = time.monotonic() + 30
    while not report_processes_of(worker.pid) and time.monotonic() < deadline:
        await asyncio.sleep(0.05)  # bounded wait: it starts with the worker
    [child] = report_processes_of(worker.pid)
    assert httpx.get(system.url("/v1/stats"), timeout=30).status_code == 200
    assert report_processes_of(worker.pid) == [child]
    os.kill(child, signal.SIGKILL)
    deadline = time.monotonic() + 30
    body: dict = {}
    while time.monotonic() < deadline:  # bounded wait for the statistics agent to fold
        reply = httpx.get(system.url("/v1/stats"), timeout=30)
        assert reply.status_code == 200, reply.text
        body = reply.json()
        if body["totals"]["answers"] >= len(ids):
            break
        await asyncio.sleep(0.2)
    assert body["totals"]["answers"] == len(ids)
    [replaced] = report_processes_of(worker.pid)
    assert replaced != child
    system.stop("worker", signal.SIGKILL)
    deadline = time.monotonic() + 10
    while not ended(replaced) and time.monotonic() < deadline:
        await asyncio.sleep(0.05)  # bounded wait for the kernel to end the orphan
    assert ended(replaced)
