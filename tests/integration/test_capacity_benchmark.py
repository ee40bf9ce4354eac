"""The capacity benchmark runs end to end on the session's broker and reports every process.

Only the report's shape and "every request answered" are checked: figures depend on the
machine, so none is asserted.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import REPO
from tests.helpers import child_env

pytestmark = pytest.mark.integration

RUNG_KEYS = {
    "offered_per_s",
    "sent",
    "sent_per_s",
    "sender_lag_ms",
    "answered_per_s",
    "missing",
    "preferred_on_time_share",
    "answers",
    "e2e_ms",
    "direct_ms",
    "rendezvous_added_ms",
    "cpu_ms_per_request",
    "cpu_pct",
    "runqueue_wait_pct",
    "held",
    "per_second",
}
PHASE_KEYS = {"sent", "answered", "missing", "no_result", "late_flagged", "per_second"}
#: Every process measured: each worker's statistics-report process too (it starts with it).
PROCESSES = {
    "worker",
    "worker-reports",
    "worker-2",
    "worker-2-reports",
    "model-scorecard",
    "model-linear",
    "loadgen",
}


def run_benchmark(bootstrap: str) -> dict:
    """A few seconds of the benchmark at 20/s with two workers; its CAPACITY_JSON report."""
    command = [
        sys.executable,
        "-m",
        "benchmarks.capacity",
        *("--bootstrap", bootstrap, "--rates", "20", "--duration", "3", "--warmup", "1"),
        *("--settle-s", "1", "--idle-s", "1", "--overload-s", "2", "--recover-s", "2"),
        *("--drain-s", "30"),
        *("--workers", "2", "--json-only"),
    ]
    completed = subprocess.run(
        command,
        cwd=REPO,
        env=child_env(PYTHONUNBUFFERED="1"),
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    lines = [line for line in completed.stdout.splitlines() if line.startswith("CAPACITY_JSON ")]
    assert completed.returncode == 0 and lines, (
        f"exit {completed.returncode}\n{completed.stdout[-3000:]}\n{completed.stderr[-3000:]}"
    )
    return json.loads(lines[-1].removeprefix("CAPACITY_JSON "))


def test_capacity_benchmark_reports_every_process_and_answers_every_request(
    kafka_bootstrap: str,
) -> None:
    result = run_benchmark(kafka_bootstrap)

    assert result["preferred"] == "scorecard"
    assert set(result["processes"]) == PROCESSES  # the session's broker is not ours to measure
    assert set(result["idle"]["cpu_pct"]) == PROCESSES
    assert len(result["rungs"]) == 1
    rung = result["rungs"][0]
    assert set(rung) >= RUNG_KEYS
    assert set(rung["cpu_ms_per_request"]) == PROCESSES
    assert all(ms is not None for ms in rung["cpu_ms_per_request"].values())
    for latency in ("e2e_ms", "direct_ms", "rendezvous_added_ms"):
        assert set(rung[latency]) >= {"p50", "p99"}, latency
    assert rung["sent"] > 0 and rung["missing"] == 0
    assert sum(second["sent"] for second in rung["per_second"]) == rung["sent"]
    assert set(result["capacity"]) >= {"held_rate_per_s", "answered_per_s"}
    overload, recovery = result["overload"], result["recovery"]
    assert set(overload) >= PHASE_KEYS | {"share_of_capacity", "throughput_held", "cpu_pct"}
    assert set(overload["cpu_ms_per_answer"]) == PROCESSES
    assert set(recovery) >= PHASE_KEYS | {"on_time_again_after_s"}
    assert overload["sent"] > 0 and overload["missing"] == 0
    assert recovery["sent"] > 0 and recovery["missing"] == 0
