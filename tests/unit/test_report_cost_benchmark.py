"""A short run of ``benchmarks.report_cost``: both ways are timed and reported (no figures)."""

from __future__ import annotations

import json
import subprocess
import sys


def test_a_short_run_reports_both_ways() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.report_cost", "--hours", "1", "--per-minute", "5",
         "--repeat", "2"],
        capture_output=True,
        text=True,
        timeout=240,
        check=True,
    )  # fmt: skip
    [line] = [x for x in done.stdout.splitlines() if x.startswith("REPORT_COST_JSON ")]
    result = json.loads(line.removeprefix("REPORT_COST_JSON "))
    assert result["buckets"] == 60 and result["bytes"] > 0
    for way in ("report_process", "thread"):
        assert len(result[way]["wall_ms"]) == len(result[way]["own_cpu_ms"]) == 2
        assert result[way]["worst_loop_gap_ms"] >= 1.0  # the loop ticked every millisecond
