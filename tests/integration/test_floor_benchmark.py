"""The floor benchmark (plain aiokafka relays on the same Kafka hops) runs end to end.

A few seconds at 20/s on the session's broker: only the report's shape and "every request
answered" are checked; figures depend on the machine, so none is asserted.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest

from tests.conftest import REPO
from tests.helpers import child_env

pytestmark = pytest.mark.integration

RUNG_KEYS = {
    "offered_per_s",
    "sent",
    "sent_per_s",
    "answered_per_s",
    "missing",
    "answers",
    "e2e_ms",
    "direct_ms",
    "rendezvous_added_ms",
    "cpu_ms_per_request",
    "cpu_pct",
    "runqueue_wait_pct",
    "machine_busy_pct",
    "held",
}
#: The relays and the load generator; the session's broker is not the benchmark's to measure.
PROCESSES = {"worker", "model-scorecard", "model-linear", "loadgen"}


def run_floor(bootstrap: str) -> dict[str, Any]:
    """One rung of the floor benchmark, 20/s for 3 s; its FLOOR_JSON report."""
    command = [
        sys.executable,
        "-m",
        "benchmarks.floor",
        *("--bootstrap", bootstrap, "--rates", "20", "--duration", "3", "--warmup", "1"),
        *("--settle-s", "1", "--idle-s", "1", "--drain-s", "30", "--json-only"),
    ]
    completed = subprocess.run(
        command,
        cwd=REPO,
        env=child_env(PYTHONUNBUFFERED="1"),
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    lines = [line for line in completed.stdout.splitlines() if line.startswith("FLOOR_JSON ")]
    assert completed.returncode == 0 and lines, (
        f"exit {completed.returncode}\n{completed.stdout[-3000:]}\n{completed.stderr[-3000:]}"
    )
    result: dict[str, Any] = json.loads(lines[-1].removeprefix("FLOOR_JSON "))
    return result


def test_floor_benchmark_answers_every_request_through_the_relays(kafka_bootstrap: str) -> None:
    result = run_floor(kafka_bootstrap)

    assert result["preferred"] == "scorecard"
    assert result["models"] == ["scorecard", "linear"]
    assert set(result["processes"]) == PROCESSES
    assert set(result["idle"]["cpu_pct"]) == PROCESSES
    assert len(result["rungs"]) == 1
    rung = result["rungs"][0]
    assert set(rung) >= RUNG_KEYS
    assert set(rung["cpu_ms_per_request"]) == PROCESSES
    assert all(ms is not None for ms in rung["cpu_ms_per_request"].values())
    for latency in ("e2e_ms", "direct_ms", "rendezvous_added_ms"):
        assert set(rung[latency]) >= {"p50", "p99"}, latency
    assert rung["sent"] > 0 and rung["missing"] == 0
    assert rung["answers"] == {"ok:scorecard:top_priority": rung["answered"]}
    assert set(result["floor"]) >= {"held_rate_per_s", "answered_per_s", "first_failed_rate_per_s"}
    worker = result["relay_stats"]["worker"]
    assert worker["answered"] >= rung["sent"]
    assert worker["requests_without_score"] == 0
    assert worker.get("send_errors", 0) == 0
    for model in ("scorecard", "linear"):
        stats = result["relay_stats"][f"model-{model}"]
        assert stats["requests"] >= rung["sent"] and stats.get("send_errors", 0) == 0
