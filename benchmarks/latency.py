"""End-to-end latency benchmark: request sent -> answer received, on a throwaway real broker.

    python -m benchmarks.latency [--requests 1000] [--rate 100] [--warmup 200]

Starts its own broker (fresh data dir, free ports), a worker and the simple models, sends a
warm-up, then ``--requests`` at a steady ``--rate``, and prints broker cold start, broker RSS,
and latency percentiles as a table and as JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from typing import Any

from benchmarks.system import bench_system, percentiles, steady_stream
from streamapp.dev import kafka as devkafka
from streamapp.settings import Settings


async def measure(
    settings: Settings, *, count: int, rate: float, deadline_ms: int, tag: str
) -> tuple[list[float], dict[str, int]]:
    """Send ``count`` requests at ``rate``/s; return latencies (ms) and answers by model."""
    exchanges = await steady_stream(
        settings, count=count, rate=rate, deadline_ms=deadline_ms, tag=tag
    )
    by_model: dict[str, int] = {}
    for exchange in exchanges:
        answer = exchange.answer
        key = f"{answer['status']}:{answer.get('model')}:{answer['rule']}"
        by_model[key] = by_model.get(key, 0) + 1
    return [exchange.latency_ms for exchange in exchanges], by_model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=100.0)
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--deadline-ms", type=int, default=200)
    args = parser.parse_args()

    with bench_system([("scorecard",), ("rules",)]) as system:
        settings = system.settings
        asyncio.run(
            measure(
                settings,
                count=args.warmup,
                rate=args.rate,
                deadline_ms=args.deadline_ms,
                tag="warmup",
            )
        )
        latencies, by_model = asyncio.run(
            measure(
                settings,
                count=args.requests,
                rate=args.rate,
                deadline_ms=args.deadline_ms,
                tag="bench",
            )
        )
        rss_kb = devkafka.resident_memory_kb(system.broker_pid) if system.broker_pid else None
    stats = percentiles(latencies)
    report: dict[str, Any] = {
        "broker_cold_start_s": round(system.cold_start_s, 2),
        "broker_rss_mib": round((rss_kb or 0) / 1024, 1),
        "requests": args.requests,
        "rate_per_s": args.rate,
        "deadline_ms": args.deadline_ms,
        "latency_ms": stats,
        "answers": by_model,
    }
    print(f"broker cold start {system.cold_start_s:.2f}s, resident {report['broker_rss_mib']} MiB")
    print(
        f"{args.requests} requests at {args.rate:g}/s: p50 {stats['p50']:.1f} ms, "
        f"p90 {stats['p90']:.1f} ms, p99 {stats['p99']:.1f} ms, max {stats['max']:.1f} ms"
    )
    print(json.dumps(report))


if __name__ == "__main__":
    main()
