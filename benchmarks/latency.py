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
import time
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from benchmarks.system import bench_system, percentiles
from streamapp import devkafka
from streamapp.demo import DemoTraffic
from streamapp.settings import Settings


async def measure(
    settings: Settings, *, count: int, rate: float, deadline_ms: int, tag: str
) -> tuple[list[float], dict[str, int]]:
    """Send ``count`` requests at ``rate``/s; return latencies (ms) and answers by model."""
    producer = AIOKafkaProducer(bootstrap_servers=settings.bootstrap_servers, linger_ms=0)
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.bootstrap_servers, enable_auto_commit=False, fetch_max_wait_ms=50
    )
    await producer.start()
    await consumer.start()
    answers = settings.topic("answers")
    consumer.assign([TopicPartition(answers, p) for p in range(settings.partitions)])
    await consumer.seek_to_end()
    sent: dict[str, float] = {}
    latencies: list[float] = []
    by_model: dict[str, int] = {}
    traffic = DemoTraffic()

    async def reader() -> None:
        while len(latencies) < count:
            batch = await consumer.getmany(timeout_ms=100)
            now = time.perf_counter()
            for messages in batch.values():
                for message in messages:
                    answer = json.loads(message.value)
                    began = sent.pop(answer["request_id"], None)
                    if began is not None:
                        latencies.append((now - began) * 1000)
                        key = f"{answer['status']}:{answer.get('model')}:{answer['rule']}"
                        by_model[key] = by_model.get(key, 0) + 1

    reading = asyncio.create_task(reader())
    start = time.perf_counter()
    for n in range(count):
        request_id = f"{tag}-{n}"
        body = {"request_id": request_id, "payload": traffic.payload(), "deadline_ms": deadline_ms}
        sent[request_id] = time.perf_counter()
        await producer.send(
            settings.topic("requests"), json.dumps(body).encode(), key=request_id.encode()
        )
        await asyncio.sleep(max(0.0, start + (n + 1) / rate - time.perf_counter()))
    await asyncio.wait_for(reading, timeout=60)
    await producer.stop()
    await consumer.stop()
    return latencies, by_model


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
