"""Deadline precision and control-change latency, on a throwaway real broker.

    python -m benchmarks.deadline [--requests 2000] [--rate 200] [--deadline-ms 100]

Only the ``rules`` backstop runs while ``scorecard`` stays registered live, so every request
is decided at its deadline. Lateness = answer time - deadline, as stamped by the worker
(``answered_at``) and as received by the client. Then, under the same load, ``scorecard`` is
undeployed through the REST API and the time until answers carry the new policy version is
measured.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from typing import Any

import httpx

from benchmarks.system import bench_system, percentiles, steady_stream
from streamapp.settings import Settings

TOKEN = "bench-admin-token"


async def stream(
    settings: Settings, *, count: int, rate: float, deadline_ms: int, tag: str, during: Any = None
) -> list[tuple[dict[str, Any], float]]:
    """Send ``count`` requests at ``rate``/s; return (answer, receive epoch ms) for each."""
    exchanges = await steady_stream(
        settings, count=count, rate=rate, deadline_ms=deadline_ms, tag=tag, during=during
    )
    return [(exchange.answer, exchange.received_epoch_ms) for exchange in exchanges]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--deadline-ms", type=int, default=100)
    args = parser.parse_args()

    with bench_system([("rules",)], admin_token=TOKEN) as system:
        settings = system.settings
        asyncio.run(
            stream(settings, count=200, rate=args.rate, deadline_ms=args.deadline_ms, tag="warmup")
        )
        results = asyncio.run(
            stream(
                settings,
                count=args.requests,
                rate=args.rate,
                deadline_ms=args.deadline_ms,
                tag="deadline",
            )
        )
        change: dict[str, float] = {}

        async def undeploy() -> None:
            async with httpx.AsyncClient(base_url=system.base_url, timeout=10) as client:
                change["sent_ms"] = time.time() * 1000
                response = await client.put(
                    "/v1/models/scorecard",
                    json={"state": "off"},
                    headers={"Authorization": f"Bearer {TOKEN}"},
                )
                change["returned_ms"] = time.time() * 1000
                change["version"] = response.json()["version"]

        switch = asyncio.run(
            stream(
                settings,
                count=args.requests // 2,
                rate=args.rate,
                deadline_ms=args.deadline_ms,
                tag="switch",
                during=undeploy,
            )
        )

    at_deadline = [(a, r) for a, r in results if a["rule"] in ("backstop", "deadline")]
    worker_late = [a["answered_at"] - a["deadline_at"] for a, _ in at_deadline]
    client_late = [r - a["deadline_at"] for a, r in at_deadline]
    new = [a for a, _ in switch if a["policy_version"] >= change["version"]]
    first_effect = min(a["answered_at"] for a in new) - change["sent_ms"]
    report = {
        "requests": args.requests,
        "rate_per_s": args.rate,
        "deadline_ms": args.deadline_ms,
        "decided_at_deadline": len(at_deadline),
        "worker_lateness_ms": percentiles(worker_late),
        "client_lateness_ms": percentiles(client_late),
        "control_put_round_trip_ms": round(change["returned_ms"] - change["sent_ms"], 1),
        "control_first_effect_ms": round(first_effect, 1),
        "answers_after_change_by_rule": _count(a["rule"] for a in new),
    }
    w, c = report["worker_lateness_ms"], report["client_lateness_ms"]
    print(f"{len(at_deadline)} requests decided at the deadline at {args.rate:g}/s:")
    print(f"  answered_at - deadline: p50 {w['p50']} ms, p99 {w['p99']} ms, max {w['max']} ms")
    print(f"  received    - deadline: p50 {c['p50']} ms, p99 {c['p99']} ms, max {c['max']} ms")
    print(
        f"control change: PUT round trip {report['control_put_round_trip_ms']} ms, first "
        f"answer with the new version {report['control_first_effect_ms']} ms after the PUT"
    )
    print(json.dumps(report))


def _count(items: Any) -> dict[str, int]:
    counts: dict[str, int] = {}
    for item in items:
        counts[item] = counts.get(item, 0) + 1
    return counts


if __name__ == "__main__":
    main()
