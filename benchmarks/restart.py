"""Restart benchmark: fresh requests right after a worker restart that finds thousands of closed
mailboxes to expire.

    python -m benchmarks.restart [--backlog 3000] [--backlog-rate 150] [--fresh 100]
        [--fresh-rate 50] [--deadline-ms 200] [--retention-s 5]

Starts a broker, a worker (with ``rules`` in it), ``scorecard`` (live) and ``linear`` (shadow),
with ``RENDEZVOUS_MAILBOX_RETENTION_S`` short. It sends ``--backlog`` requests, waits until their
mailboxes are past retention, SIGKILLs the worker and starts it again: the new worker recovers
every closed mailbox and finds all of them due to expire. As soon as it reports healthy,
``--fresh`` requests are sent; the figure is how many of them ``scorecard`` answered within the
deadline, and their latency. Prints a summary and one ``RESTART_JSON {...}`` line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections import Counter
from typing import Any

from benchmarks.system import bench_system, percentiles, steady_stream
from streamapp.dev.demo import ensure_trained, wait_for_worker

REGISTRY = {
    "scorecard": {"state": "live", "priority": 10},
    "rules": {"state": "live", "priority": 0, "backstop": True},
    "linear": {"state": "shadow", "priority": 5},
}


def summarize(exchanges: list[Any], deadline_ms: int) -> dict[str, Any]:
    """Who answered, how many ``scorecard`` answered on time, and the latency."""
    on_time = [
        e
        for e in exchanges
        if e.answer.get("model") == "scorecard"
        and e.answer.get("status") == "ok"
        and e.latency_ms <= deadline_ms
    ]
    return {
        "sent": len(exchanges),
        "scorecard_on_time": len(on_time),
        "answers": dict(
            Counter(f"{e.answer.get('status')}:{e.answer.get('model')}" for e in exchanges)
        ),
        "latency_ms": percentiles([e.latency_ms for e in exchanges]),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--backlog", type=int, default=3000)
    parser.add_argument("--backlog-rate", type=float, default=150.0)
    parser.add_argument("--fresh", type=int, default=100)
    parser.add_argument("--fresh-rate", type=float, default=50.0)
    parser.add_argument("--deadline-ms", type=int, default=200)
    parser.add_argument("--retention-s", type=float, default=5.0)
    args = parser.parse_args(argv)
    with bench_system(
        [("scorecard",), ("linear",)],
        prepare=ensure_trained,
        models=json.dumps(REGISTRY),
        in_process_models="rules",
        mailbox_retention_s=str(args.retention_s),
    ) as system:
        settings = system.settings
        print(f"[restart] {args.backlog} requests at {args.backlog_rate:g}/s ...", flush=True)

        def stream(name: str, count: int, rate: float) -> list[Any]:
            tag = f"{name}-{int(time.time())}"
            return asyncio.run(
                steady_stream(
                    settings, count=count, rate=rate, deadline_ms=args.deadline_ms, tag=tag
                )
            )

        backlog = stream("backlog", args.backlog, args.backlog_rate)
        before = stream("before", args.fresh, args.fresh_rate)
        time.sleep(args.retention_s + 1)  # every backlog mailbox is now past its retention
        worker = next(p for name, p in system.children.started if name == "worker")
        worker.kill()
        worker.wait()
        print("[restart] worker SIGKILLed; starting it again", flush=True)
        began = time.monotonic()
        again = system.children.spawn("worker", "worker", "--loglevel", "warn")
        wait_for_worker(f"{system.base_url}/health", again)
        healthy_s = time.monotonic() - began
        print(f"[restart] healthy after {healthy_s:.1f}s; {args.fresh} fresh requests", flush=True)
        after = stream("after", args.fresh, args.fresh_rate)
    result = {
        "backlog": summarize(backlog, args.deadline_ms),
        "fresh_before_restart": summarize(before, args.deadline_ms),
        "restart_healthy_s": round(healthy_s, 2),
        "fresh_after_restart": summarize(after, args.deadline_ms),
        "options": vars(args),
    }
    for name in ("fresh_before_restart", "fresh_after_restart"):
        part = result[name]
        print(
            f"{name}: {part['scorecard_on_time']} of {part['sent']} answered by scorecard within "
            f"{args.deadline_ms} ms; p50 {part['latency_ms']['p50']} ms, "
            f"p99 {part['latency_ms']['p99']} ms; {part['answers']}"
        )
    print(f"RESTART_JSON {json.dumps(result)}", flush=True)


if __name__ == "__main__":
    main()
