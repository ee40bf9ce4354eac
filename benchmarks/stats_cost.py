"""CPU cost of the statistics, per 1,000 requests.

    python -m benchmarks.stats_cost [--requests 3000] [--rate 150]

Two measurements: (1) the pure fold, timed on real observation shapes (5 models each);
(2) the worker's CPU time per 1,000 requests with statistics on and off, side by side, on a
throwaway broker with the scorecard and rules models.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from pathlib import Path

from benchmarks.latency import measure
from benchmarks.system import bench_system
from streamapp.stats.buckets import Accumulator


def observation(n: int) -> dict:
    results = [
        {"label": "benign" if (n + i) % 3 else "malignant", "score": ((n * 7 + i) % 100) / 100}
        for i in range(5)
    ]
    return {
        "kind": "decision",
        "at": 1_800_000_000_000 + n,
        "status": "ok",
        "rule": "top_priority",
        "winner": "m0",
        "result": results[0],
        "late": False,
        "deadline_missed": False,
        "scores": [
            {
                "model": f"m{i}",
                "state": "live",
                "ok": True,
                "result": r,
                "eval_ms": 1.0 + (n * 13 + i) % 50,
                "rtt_ms": 5 + (n + i) % 40,
                "would_have_won": False,
            }
            for i, r in enumerate(results)
        ],
    }


def fold_cost(count: int = 20_000) -> dict[str, float]:
    """CPU seconds of folding ``count`` observations, and of one dump, per 1,000 requests."""
    samples = [observation(n) for n in range(count)]
    accumulator = Accumulator(None, 0)
    started = time.process_time()
    for item in samples:
        accumulator.add(item, canary="m4")
    fold = time.process_time() - started
    started = time.process_time()
    for _ in range(20):
        accumulator.dump()
    dump = (time.process_time() - started) / 20
    return {
        "fold_cpu_ms_per_1000": round(fold / count * 1e6, 1),
        "dump_cpu_ms_each": round(dump * 1000, 2),
    }


def worker_cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / 100


def worker_cost(enabled: bool, requests: int, rate: float) -> float:
    """Worker CPU ms per 1,000 requests at a steady rate."""
    with bench_system([("scorecard",), ("rules",)], stats_enabled=str(enabled).lower()) as system:
        worker = system.children.started[0][1]
        asyncio.run(measure(system.settings, count=200, rate=rate, deadline_ms=500, tag="warm"))
        before = worker_cpu_s(worker.pid)
        asyncio.run(
            measure(system.settings, count=requests, rate=rate, deadline_ms=500, tag="cost")
        )
        return (worker_cpu_s(worker.pid) - before) / requests * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--rate", type=float, default=150.0)
    args = parser.parse_args()
    pure = fold_cost()
    on = worker_cost(True, args.requests, args.rate)
    off = worker_cost(False, args.requests, args.rate)
    report = {
        **pure,
        "worker_cpu_ms_per_1000_stats_on": round(on, 1),
        "worker_cpu_ms_per_1000_stats_off": round(off, 1),
        "statistics_cpu_ms_per_1000": round(on - off, 1),
    }
    print(
        f"fold: {pure['fold_cpu_ms_per_1000']} ms CPU per 1,000 observations; "
        f"one bucket dump {pure['dump_cpu_ms_each']} ms"
    )
    print(
        f"worker CPU per 1,000 requests: {on:.0f} ms with statistics, {off:.0f} ms without "
        f"(statistics: {on - off:.0f} ms)"
    )
    print(json.dumps(report))


if __name__ == "__main__":
    main()
