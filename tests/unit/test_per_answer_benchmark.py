"""A short run of benchmarks.per_answer: it reports each function's time (figures unchecked)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from benchmarks.capacity import DEFAULT_REGISTRY
from benchmarks.per_answer import benchmark_registry
from streamapp.core.policy import ModelRule, Registry

ROOT = Path(__file__).resolve().parents[2]


def test_a_short_run_reports_microseconds_for_each_function() -> None:
    run = subprocess.run(
        [sys.executable, "-m", "benchmarks.per_answer", "--calls", "20", "--repeat", "3"],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    line = next(x for x in run.stdout.splitlines() if x.startswith("PER_ANSWER_JSON "))
    report = json.loads(line.removeprefix("PER_ANSWER_JSON "))
    assert set(report) == {
        "choose_for",
        "rendezvous.request",
        "statistics.decision",
        "metrics.answered",
        "closed_record",
    }
    for figures in report.values():
        assert 0 < figures["min_us"] <= figures["median_us"]
    assert "metrics.answered" in run.stdout.split("PER_ANSWER_JSON")[0]


def test_it_chooses_under_the_capacity_benchmarks_default_policy() -> None:
    seeded = {name: ModelRule(**seed) for name, seed in DEFAULT_REGISTRY.items()}
    assert benchmark_registry() == Registry(models=seeded)
