"""Decoy throughput and archive size, on a throwaway real broker.

    python -m benchmarks.decoy [--requests 20000] [--seed 5]

Starts its own broker, the decoy (and the worker that ``bench_system`` always starts, which is
stopped so it does not compete for CPU). The decoy archives one warm-up request and stops; a
backlog of ``--requests`` requests is produced as fast as possible, each with 30 numeric
features named like the breast cancer data set; the decoy is started again and drains it.
Reports archived requests/s (from the decoy's own receive times, and from its start until every
offset is committed, i.e. flushed) and the archive's size per 10,000 requests.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import signal
import time
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from benchmarks.system import bench_system
from streamapp.archive.format import find_segments, read_archive, to_line
from streamapp.settings import Settings

#: The 30 features of the Wisconsin breast cancer data set, with their means.
FEATURE_MEANS = {
    "mean radius": 14.13, "mean texture": 19.29, "mean perimeter": 91.97, "mean area": 654.9,
    "mean smoothness": 0.09636, "mean compactness": 0.1043, "mean concavity": 0.08880,
    "mean concave points": 0.04892, "mean symmetry": 0.1812, "mean fractal dimension": 0.06280,
    "radius error": 0.4052, "texture error": 1.217, "perimeter error": 2.866,
    "area error": 40.34, "smoothness error": 0.007041, "compactness error": 0.02548,
    "concavity error": 0.03189, "concave points error": 0.01180, "symmetry error": 0.02054,
    "fractal dimension error": 0.003795, "worst radius": 16.27, "worst texture": 25.68,
    "worst perimeter": 107.3, "worst area": 880.6, "worst smoothness": 0.1324,
    "worst compactness": 0.2543, "worst concavity": 0.2722, "worst concave points": 0.1146,
    "worst symmetry": 0.2901, "worst fractal dimension": 0.08395,
}  # fmt: skip


def wide_request(request_id: str, rng: random.Random) -> dict[str, Any]:
    """A request whose payload has 30 features, 4 significant digits each, like the data set."""
    features = {
        name: float(f"{mean * max(0.05, rng.gauss(1.0, 0.25)):.4g}")
        for name, mean in FEATURE_MEANS.items()
    }
    return {
        "request_id": request_id,
        "payload": {"features": features},
        "deadline_ms": 200,
        "sent_at": time.time(),
    }


async def produce(settings: Settings, count: int, seed: int, tag: str) -> float:
    """Send ``count`` requests as fast as the producer goes; return the seconds it took."""
    producer = AIOKafkaProducer(bootstrap_servers=settings.bootstrap_servers, linger_ms=20)
    await producer.start()
    rng = random.Random(seed)
    started = time.perf_counter()
    try:
        for n in range(count):
            body = wide_request(f"{tag}-{n:06d}", rng)
            await producer.send(
                settings.topic("requests"),
                json.dumps(body).encode(),
                key=body["request_id"].encode(),
            )
        await producer.flush()
    finally:
        await producer.stop()
    return time.perf_counter() - started


async def wait_committed(settings: Settings, timeout_s: float = 300.0) -> float:
    """Wait until the decoy's group has committed the end of every partition; return when."""
    topic = settings.topic("requests")
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.bootstrap_servers,
        group_id=f"{settings.app_id}-decoy",
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, p) for p in range(settings.partitions)]
        ends = await consumer.end_offsets(partitions)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            committed = [await consumer.committed(tp) or 0 for tp in partitions]
            if all(c >= ends[tp] for c, tp in zip(committed, partitions, strict=True)):
                return time.perf_counter()
            await asyncio.sleep(0.1)  # polling the group's offsets, bounded by the deadline
        raise RuntimeError(f"the decoy did not commit the backlog within {timeout_s:.0f}s")
    finally:
        await consumer.stop()


def wait_ready(log: Path, timeout_s: float = 60.0) -> None:
    """Block until the decoy's log shows ' ready: ' (bounded)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if log.exists() and " ready: " in log.read_text(errors="replace"):
            return
        time.sleep(0.1)
    raise RuntimeError(f"the decoy was not ready within {timeout_s:.0f}s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=5)
    args = parser.parse_args()

    with bench_system([]) as system:
        settings, children = system.settings, system.children
        for name, process in children.started:
            if name == "worker":  # not needed here; it would compete for the CPU
                process.send_signal(signal.SIGTERM)
                process.wait(timeout=30)
        archive = settings.data_dir / "bench-archive"
        log = children.log_dir / "decoy.log"
        decoy = children.spawn("decoy", "decoy", "--archive-dir", str(archive))
        wait_ready(log)
        asyncio.run(produce(settings, 1, args.seed, "warmup"))
        asyncio.run(wait_committed(settings))
        decoy.send_signal(signal.SIGTERM)
        decoy.wait(timeout=30)

        produce_s = asyncio.run(produce(settings, args.requests, args.seed, "bench"))
        started = time.perf_counter()
        children.spawn("decoy-2", "decoy", "--archive-dir", str(archive))
        wait_ready(children.log_dir / "decoy-2.log")
        ready = time.perf_counter()
        done = asyncio.run(wait_committed(settings))
        records = [
            r for r in read_archive(find_segments(archive)) if (r.key or b"").startswith(b"bench-")
        ]
        segments = find_segments(archive)
        compressed = sum(p.stat().st_size for p in segments)

    received = sorted(r.received_ms for r in records)
    after_first = [t for t in received if t > received[0]]
    span_s = (received[-1] - received[0]) / 1000
    uncompressed = sum(len(to_line(r)) for r in records)
    total = len(records) + 1  # the warm-up request is in the archive too
    report = {
        "requests": len(records),
        "produce_s": round(produce_s, 2),
        "decoy_start_to_ready_s": round(ready - started, 2),
        "archived_per_s_steady": round(len(after_first) / span_s) if span_s else None,
        "archived_per_s_from_ready_to_committed": round(len(records) / (done - ready)),
        "segments": len(segments),
        "bytes_per_10k_compressed": round(compressed * 10_000 / total),
        "bytes_per_10k_uncompressed": round(uncompressed * 10_000 / len(records)),
        "compression_ratio": round(uncompressed / compressed, 1),
    }
    print(
        f"decoy archived {len(records)} backlogged requests: "
        f"{report['archived_per_s_steady']}/s steady, "
        f"{report['archived_per_s_from_ready_to_committed']}/s from ready to committed"
    )
    print(
        f"archive per 10,000 requests: {report['bytes_per_10k_compressed'] / 1e6:.2f} MB gzip "
        f"({report['bytes_per_10k_uncompressed'] / 1e6:.2f} MB as JSON Lines, "
        f"{report['compression_ratio']}x), {len(segments)} segment(s)"
    )
    print(json.dumps(report))


if __name__ == "__main__":
    main()
