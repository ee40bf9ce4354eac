"""The client library's round trip against a hand-written aiokafka client, on one system.

    python -m benchmarks.client [--requests 1000] [--warmup 100] [--burst 200]

Starts a throwaway broker, a worker and ``scorecard`` (live, preferred). Both clients have
their own reply topic. ``--requests`` round trips one at a time, the two clients taking turns
(request produced -> answer read); then ``--burst`` calls at once from each client (the time
until every answer is in). Prints a table and one ``CLIENT_JSON {...}`` line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from benchmarks.system import bench_system, percentiles
from models.dataset import payload_from_row, split
from streamapp.client import AsyncKafkaClient


class HandWritten:
    """What a team writes without the library: a producer, a consumer of its own reply topic,
    and a dict of futures keyed by request id."""

    def __init__(self, bootstrap: str, requests_topic: str) -> None:
        self.bootstrap = bootstrap
        self.requests_topic = requests_topic
        self.reply_topic = f"bench-replies-{uuid.uuid4().hex[:8]}"
        self.producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=0)
        self.consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, fetch_max_wait_ms=20)
        self.waiting: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self.reader: asyncio.Task[None] | None = None

    async def start(self) -> None:
        admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap)
        await admin.start()
        await admin.create_topics([NewTopic(self.reply_topic, 1, 1)])
        await admin.close()
        await self.producer.start()
        await self.consumer.start()
        partition = TopicPartition(self.reply_topic, 0)
        self.consumer.assign([partition])
        await self.consumer.seek_to_end(partition)
        await self.consumer.position(partition)
        self.reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        while True:
            batch = await self.consumer.getmany(timeout_ms=500)
            for messages in batch.values():
                for message in messages:
                    answer = json.loads(message.value or b"{}")
                    future = self.waiting.pop(answer.get("request_id"), None)
                    if future is not None and not future.done():
                        future.set_result(answer)

    async def score(self, payload: dict[str, Any], deadline_ms: int) -> dict[str, Any]:
        request_id = uuid.uuid4().hex
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.waiting[request_id] = future
        body = {
            "request_id": request_id,
            "return_topic": self.reply_topic,
            "payload": payload,
            "deadline_ms": deadline_ms,
        }
        await self.producer.send_and_wait(
            self.requests_topic, json.dumps(body).encode(), key=request_id.encode()
        )
        return await asyncio.wait_for(future, deadline_ms / 1000 + 3)

    async def stop(self) -> None:
        if self.reader is not None:
            self.reader.cancel()
        await self.consumer.stop()
        await self.producer.stop()


async def burst(call: Callable[[int], Awaitable[Any]], size: int) -> float:
    """Milliseconds until ``size`` concurrent calls have all returned."""
    started = time.perf_counter()
    await asyncio.gather(*(call(i) for i in range(size)))
    return (time.perf_counter() - started) * 1000


async def measure(
    bootstrap: str, requests_topic: str, *, count: int, warmup: int, burst_size: int
) -> dict[str, Any]:
    payloads = [payload_from_row(row) for row in split(42).x_test]
    hand = HandWritten(bootstrap, requests_topic)
    await hand.start()
    samples: dict[str, list[float]] = {"hand_written": [], "library": []}
    async with AsyncKafkaClient(bootstrap, requests_topic=requests_topic) as library:
        calls: dict[str, Callable[[int], Awaitable[Any]]] = {
            "hand_written": lambda i: hand.score(payloads[i % len(payloads)], 1000),
            "library": lambda i: library.score(payloads[i % len(payloads)], deadline_ms=1000),
        }
        for i in range(warmup + count):
            for name, call in calls.items():
                started = time.perf_counter()
                await call(i)
                if i >= warmup:
                    samples[name].append((time.perf_counter() - started) * 1000)
        bursts = {name: await burst(call, burst_size) for name, call in calls.items()}
    await hand.stop()
    return {
        "requests": count,
        "round_trip_ms": {name: percentiles(values) for name, values in samples.items()},
        "burst": {
            "calls": burst_size,
            "all_answered_ms": {k: round(v, 1) for k, v in bursts.items()},
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--warmup", type=int, default=100)
    parser.add_argument("--burst", type=int, default=200)
    args = parser.parse_args()
    with bench_system([("scorecard",)]) as system:
        report = asyncio.run(
            measure(
                system.settings.bootstrap_servers,
                system.settings.topic("requests"),
                count=args.requests,
                warmup=args.warmup,
                burst_size=args.burst,
            )
        )
    print(f"{args.requests} round trips one at a time (the two clients take turns)")
    print(f"{'client':<14} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8} {'max ms':>8} {'burst ms':>9}")
    for name, stats in report["round_trip_ms"].items():
        cells = " ".join(f"{stats[q]:>8.2f}" for q in ("p50", "p90", "p99", "max"))
        print(f"{name:<14} {cells} {report['burst']['all_answered_ms'][name]:>9.1f}")
    print(f"burst: {args.burst} calls at once, time until all answered")
    print("CLIENT_JSON " + json.dumps(report))


if __name__ == "__main__":
    main()
