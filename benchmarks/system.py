"""A throwaway rendezvous system for benchmarks: its own broker, worker and models."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import statistics
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from streamapp import devkafka
from streamapp.demo import Children, wait_for_model, wait_for_worker
from streamapp.settings import Settings
from streamapp.topics import ensure_topics

REPO = Path(__file__).resolve().parents[1]


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


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


@dataclass
class BenchSystem:
    """What a benchmark talks to."""

    settings: Settings
    cold_start_s: float
    broker_pid: int | None
    children: Children

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.settings.web_port}"


@contextmanager
def bench_system(models: Sequence[tuple[str, ...]], **env: str) -> Iterator[BenchSystem]:
    """Start broker, worker and ``models`` (each a model CLI argv); stop all on exit."""
    root = Path(tempfile.mkdtemp(prefix="rendezvous-bench-"))
    kafka_port = free_port()
    os.environ.update(
        {
            "RENDEZVOUS_KAFKA_DIR": str(root / "kafka"),
            "RENDEZVOUS_KAFKA_LIBS_DIR": str(REPO / ".cache" / "kafka" / "libs"),
            "RENDEZVOUS_KAFKA_PORT": str(kafka_port),
            "RENDEZVOUS_KAFKA_CONTROLLER_PORT": str(free_port()),
            "RENDEZVOUS_BOOTSTRAP_SERVERS": f"127.0.0.1:{kafka_port}",
            "RENDEZVOUS_WEB_PORT": str(free_port()),
            "RENDEZVOUS_DATA_DIR": str(root / "data"),
            **{f"RENDEZVOUS_{k.upper()}": v for k, v in env.items()},
        }
    )
    settings = Settings()
    cold_start = devkafka.start(settings, timeout_s=120, quiet=True)
    pid = devkafka.running_pid(devkafka.BrokerPaths.from_settings(settings))
    log_dir = root / "logs"
    log_dir.mkdir()
    children = Children(log_dir)
    try:
        asyncio.run(ensure_topics(settings))
        worker = children.spawn("worker", "worker", "--loglevel", "warn")
        wait_for_worker(f"http://127.0.0.1:{settings.web_port}/health", worker)
        names = []
        for argv in models:
            name = argv[argv.index("--as") + 1] if "--as" in argv else argv[0]
            children.spawn(f"model-{name}", "model", *argv)
            names.append(name)
        for name in names:
            wait_for_model(log_dir / f"model-{name}.log", name)
        yield BenchSystem(settings, cold_start, pid, children)
    except RuntimeError:
        for log in sorted(log_dir.glob("*.log")):
            print(f"--- {log.name}\n{log.read_text(errors='replace')[-3000:]}")
        raise
    finally:
        children.stop_all()
        devkafka.stop(settings)
        shutil.rmtree(root, ignore_errors=True)
