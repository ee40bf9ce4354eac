"""A throwaway rendezvous system for benchmarks: its own broker, worker and models."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import shutil
import statistics
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from console.settings import get_console_settings
from streamapp.client import Answer, AsyncKafkaClient
from streamapp.dev import kafka as devkafka
from streamapp.dev.demo import (
    Children,
    DemoTraffic,
    model_name,
    reported_names,
    start_console,
    wait_for_model,
    wait_for_worker,
)
from streamapp.dev.ports import free_port
from streamapp.kafka_admin import ensure_topics
from streamapp.settings import Settings

REPO = Path(__file__).resolve().parents[1]


def percentiles(samples: Sequence[float]) -> dict[str, float]:
    """n, p50/p90/p99/max/mean of samples, rounded to 0.01."""
    cuts = statistics.quantiles(samples, n=1000, method="inclusive")
    stats = {
        "p50": cuts[499],
        "p90": cuts[899],
        "p99": cuts[989],
        "max": max(samples),
        "mean": statistics.fmean(samples),
    }
    return {"n": len(samples), **{k: round(v, 2) for k, v in stats.items()}}


@dataclass(frozen=True)
class Exchange:
    """One request and its first answer, as the benchmark client saw them."""

    answer: dict[str, Any]
    sent: float  # perf_counter seconds
    received: float  # perf_counter seconds
    received_epoch_ms: float

    @property
    def latency_ms(self) -> float:
        """Request sent -> answer received."""
        return (self.received - self.sent) * 1000


async def steady_stream(
    settings: Settings,
    *,
    count: int,
    rate: float,
    deadline_ms: int,
    tag: str,
    during: Callable[[], Awaitable[None]] | None = None,
) -> list[Exchange]:
    """Send ``count`` real-row requests at ``rate``/s with the client library (each call in
    flight on its own, so the schedule never waits for answers); return each one's answer.

    ``during`` (if given) is started halfway through the stream and awaited at the end.
    """
    traffic = DemoTraffic()

    async def one(client: AsyncKafkaClient, request_id: str) -> Exchange:
        began = time.perf_counter()
        answer = await client.score(
            traffic.payload(), deadline_ms=deadline_ms, request_id=request_id
        )
        received, received_ms = time.perf_counter(), time.time() * 1000
        return Exchange(answer_json(answer), began, received, received_ms)

    calls: list[asyncio.Task[Exchange]] = []
    side = None
    async with AsyncKafkaClient(
        settings.bootstrap_servers, requests_topic=settings.topic("requests"), retries=0
    ) as client:
        start = time.perf_counter()
        for n in range(count):
            if during is not None and n == count // 2:
                side = asyncio.create_task(during())
            calls.append(asyncio.create_task(one(client, f"{tag}-{n}")))
            await asyncio.sleep(max(0.0, start + (n + 1) / rate - time.perf_counter()))
        exchanges = await asyncio.gather(*calls)
    if side is not None:
        await side
    return list(exchanges)


def answer_json(answer: Answer) -> dict[str, Any]:
    """A client library Answer as the JSON object it came as."""
    body = dataclasses.asdict(answer)
    body.update(body.pop("extra"))
    return body


@dataclass
class BenchSystem:
    """What a benchmark talks to."""

    settings: Settings
    cold_start_s: float
    broker_pid: int | None  # None when the benchmark uses a broker it did not start
    children: Children

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.settings.web_port}"

    def start_console(self) -> str:
        """``rendezvous console`` on a free port, reading this system's worker; its URL once it
        serves pages (the demo's own start-up, so it fails the same clear way)."""
        os.environ["RENDEZVOUS_CONSOLE_PORT"] = str(free_port())
        get_console_settings.cache_clear()  # read the port just chosen
        return start_console(self.children, self.base_url)


@contextmanager
def bench_system(
    models: Sequence[tuple[str, ...]],
    /,
    *,
    bootstrap: str | None = None,
    prepare: Callable[[], None] | None = None,
    **env: str,
) -> Iterator[BenchSystem]:
    """Start broker, worker and ``models`` (each a model CLI argv); stop all on exit.

    With ``bootstrap``, use that running broker instead (fresh topic prefix and app id, and
    the broker is left running). ``prepare`` runs once the environment is set and before any
    process starts (e.g. ``streamapp.demo.ensure_trained`` into the fresh data dir).
    """
    root = Path(tempfile.mkdtemp(prefix="rendezvous-bench-"))
    kafka_port = free_port()
    if bootstrap is not None:
        unique = f"bench-{uuid.uuid4().hex[:8]}"
        env = {"topic_prefix": unique, "app_id": unique, **env}
    # The broker as in production: C2-compiled once warm (the tests' quick JIT costs the broker
    # about a fifth more CPU per message); an explicit RENDEZVOUS_KAFKA_JIT wins.
    os.environ.setdefault("RENDEZVOUS_KAFKA_JIT", "full")
    os.environ.update(
        {
            "RENDEZVOUS_KAFKA_DIR": str(root / "kafka"),
            "RENDEZVOUS_KAFKA_LIBS_DIR": str(REPO / ".cache" / "kafka" / "libs"),
            "RENDEZVOUS_KAFKA_PORT": str(kafka_port),
            "RENDEZVOUS_KAFKA_CONTROLLER_PORT": str(free_port()),
            "RENDEZVOUS_BOOTSTRAP_SERVERS": bootstrap or f"127.0.0.1:{kafka_port}",
            "RENDEZVOUS_WEB_PORT": str(free_port()),
            "RENDEZVOUS_DATA_DIR": str(root / "data"),
            **{f"RENDEZVOUS_{k.upper()}": v for k, v in env.items()},
        }
    )
    settings = Settings()
    cold_start, pid = 0.0, None
    if bootstrap is None:
        cold_start = devkafka.start(settings, timeout_s=120, quiet=True)
        pid = devkafka.running_pid(devkafka.BrokerPaths.from_settings(settings))
    log_dir = root / "logs"
    log_dir.mkdir()
    children = Children(log_dir)
    try:
        if prepare is not None:
            prepare()
        asyncio.run(ensure_topics(settings))
        worker = children.spawn("worker", "worker", "--loglevel", "warn")
        wait_for_worker(f"http://127.0.0.1:{settings.web_port}/health", worker)
        for argv in models:
            children.spawn(f"model-{model_name(argv)}", "model", *argv)
        for argv in models:
            for name in reported_names(argv):
                wait_for_model(log_dir / f"model-{model_name(argv)}.log", name)
        yield BenchSystem(settings, cold_start, pid, children)
    except RuntimeError:
        for log in sorted(log_dir.glob("*.log")):
            print(f"--- {log.name}\n{log.read_text(errors='replace')[-3000:]}")
        raise
    finally:
        children.stop_all()
        if bootstrap is None:
            devkafka.stop(settings)
        shutil.rmtree(root, ignore_errors=True)
