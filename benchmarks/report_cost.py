"""What a large statistics report costs the worker: in its report process, against the same
report built in a thread of the worker (as before the report process).

    python -m benchmarks.report_cost [--hours 24] [--per-minute 30] [--repeat 3]

The buckets are those ``benchmarks.console`` writes (8 models, one bucket a minute). For each
way, after one report that fills the sketch cache, ``--repeat`` reports are timed: wall time,
the CPU this process spent (``getrusage``: the worker's share), and the longest gap between
turns of a uvloop event loop that ticks every millisecond meanwhile (what the deadline clock
would see).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import time
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
import uvloop

from benchmarks.console import MODELS, buckets
from streamapp.core.policy import ModelRule, Registry
from streamapp.processes.stats_reports import JSON_OPTIONS, whole_report
from streamapp.web.reporter import Reporter


def own_cpu_s() -> float:
    """CPU seconds this process has used (its children not included)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def report_arguments(hours: int, per_minute: int) -> dict[str, Any]:
    """A whole report's arguments over ``hours`` of synthetic buckets (one partition)."""
    now = int(time.time() * 1000)
    folded = buckets(hours, per_minute, now)
    stored = {(0, minute): orjson.dumps(bucket) for minute, bucket in folded}
    return {
        "stored": stored,
        "unwritten": {},
        "since": now - hours * 3_600_000,
        "until": now,
        "peer_buckets": [],
        "workers": [{"worker_id": "bench", "pending_mailboxes": 0}],
        "registry": Registry(models={m: ModelRule("live", n) for n, m in enumerate(MODELS)}),
        "now_ms": now,
        "canary": None,
        "models": None,
        "with_buckets": True,
    }


async def timed(build: Callable[[], Awaitable[bytes]], repeat: int) -> dict[str, Any]:
    """Wall ms, own CPU ms and the worst loop gap (ms) over ``repeat`` builds, after one."""
    await build()
    worst, running = 0.0, True

    async def tick() -> None:
        nonlocal worst
        last = time.perf_counter()
        while running:
            await asyncio.sleep(0.001)
            now = time.perf_counter()
            worst, last = max(worst, now - last), now

    ticker = asyncio.create_task(tick())
    walls, cpus = [], []
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), own_cpu_s()
        await build()
        walls.append(round((time.perf_counter() - wall) * 1000))
        cpus.append(round((own_cpu_s() - cpu) * 1000))
    running = False
    await ticker
    return {"wall_ms": walls, "own_cpu_ms": cpus, "worst_loop_gap_ms": round(worst * 1000, 1)}


async def compare(arguments: dict[str, Any], repeat: int) -> dict[str, Any]:
    """Both ways, the report process first."""
    reporter = Reporter()
    await reporter.start()
    try:
        in_process = await timed(lambda: reporter.build("report", **arguments), repeat)
    finally:
        await reporter.close()
    loop = asyncio.get_running_loop()

    def in_thread() -> bytes:
        return orjson.dumps(whole_report(**arguments), option=JSON_OPTIONS)

    threaded = await timed(lambda: loop.run_in_executor(None, in_thread), repeat)
    return {"report_process": in_process, "thread": threaded}


def main() -> None:
    """Print both ways' figures and a ``REPORT_COST_JSON`` line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hours", type=int, default=24)
    parser.add_argument("--per-minute", type=int, default=30)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(f"[report_cost] folding {args.hours} h of buckets for {len(MODELS)} models", flush=True)
    arguments = report_arguments(args.hours, args.per_minute)
    size = sum(len(value) for value in arguments["stored"].values())
    print(f"[report_cost] {len(arguments['stored'])} buckets, {size / 1e6:.1f} MB", flush=True)
    result = {"buckets": len(arguments["stored"]), "bytes": size, **uvloop.run(
        compare(arguments, args.repeat)
    )}  # fmt: skip
    for way in ("report_process", "thread"):
        print(f"{way:>15}: {result[way]}")
    print(f"REPORT_COST_JSON {json.dumps(result)}", flush=True)


if __name__ == "__main__":
    main()
