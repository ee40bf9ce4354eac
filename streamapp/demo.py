"""``rendezvous demo``: a whole system on this machine with steady traffic, stopped by Ctrl-C."""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import signal
import statistics
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from streamapp import devkafka
from streamapp.settings import Settings
from streamapp.topics import ensure_topics

DEMO_MODELS = ("scorecard", "rules")


def demo_payload(rng: random.Random) -> dict[str, Any]:
    """Features of a plausible tumour, benign or malignant about half the time."""
    malignant = rng.random() < 0.4
    radius = rng.gauss(21.0 if malignant else 13.4, 3.0)
    texture = rng.gauss(29.3 if malignant else 23.5, 5.0)
    concave = max(0.0, rng.gauss(0.18 if malignant else 0.075, 0.04))
    return {
        "features": {
            "worst radius": round(radius, 2),
            "worst texture": round(texture, 2),
            "worst concave points": round(concave, 4),
        }
    }


class Children:
    """The demo's child processes, each logging to a file, stopped in reverse order."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.started: list[tuple[str, subprocess.Popen[bytes]]] = []

    def spawn(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        log = (self.log_dir / f"{name}.log").open("ab")
        process = subprocess.Popen(
            [sys.executable, "-m", "streamapp", *args],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        self.started.append((name, process))
        return process

    def stop_all(self) -> None:
        for name, process in reversed(self.started):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
            print(f"  stopped {name}")


def wait_for_worker(url: str, process: subprocess.Popen[bytes], timeout_s: float = 90) -> None:
    """Block until the worker's /health answers 200 (bounded)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("the worker exited during start-up; see its log")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"the worker was not ready within {timeout_s:.0f}s")


def wait_for_model(log: Path, name: str, timeout_s: float = 60) -> None:
    """Block until a model process reports that it has partitions to score (bounded)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if log.exists() and f"model {name} " in log.read_text() and " ready: " in log.read_text():
            return
        time.sleep(0.2)
    raise RuntimeError(f"model {name} was not ready within {timeout_s:.0f}s")


async def traffic(
    settings: Settings, rate: float, duration_s: float | None, stop: asyncio.Event
) -> None:
    """Send requests at ``rate``/s, read the answers, print a summary every 5 seconds."""
    producer = AIOKafkaProducer(bootstrap_servers=settings.bootstrap_servers, linger_ms=0)
    consumer = AIOKafkaConsumer(
        settings.topic("answers"),
        bootstrap_servers=settings.bootstrap_servers,
        auto_offset_reset="latest",
    )
    await producer.start()
    await consumer.start()
    sent: dict[str, float] = {}
    latencies: list[float] = []
    outcomes: Counter[str] = Counter()
    rng = random.Random(7)

    async def send_loop() -> None:
        started = time.monotonic()
        n = 0
        while not stop.is_set():
            if duration_s is not None and time.monotonic() - started >= duration_s:
                stop.set()
                break
            request_id = f"demo-{uuid.uuid4().hex[:12]}"
            body = {"request_id": request_id, "payload": demo_payload(rng), "sent_at": time.time()}
            sent[request_id] = time.monotonic()
            await producer.send(
                settings.topic("requests"), json.dumps(body).encode(), key=request_id.encode()
            )
            n += 1
            await asyncio.sleep(max(0.0, started + n / rate - time.monotonic()))

    async def read_loop() -> None:
        while not stop.is_set():
            batch = await consumer.getmany(timeout_ms=200)
            for messages in batch.values():
                for message in messages:
                    answer = json.loads(message.value)
                    began = sent.pop(answer["request_id"], None)
                    if began is None:
                        continue  # not one of ours (e.g. recovered from an earlier run)
                    latencies.append((time.monotonic() - began) * 1000)
                    outcomes[
                        f"{answer['status']}:{answer.get('model') or '-'}:{answer['rule']}"
                    ] += 1

    async def report_loop() -> None:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=5)
            window, latencies[:] = list(latencies), []
            if window:
                cuts = statistics.quantiles(window, n=100) if len(window) > 1 else window * 99
                line = f"p50 {cuts[49]:.1f} ms, p99 {cuts[98]:.1f} ms"
            else:
                line = "no answers yet"
            top = ", ".join(f"{k} {v}" for k, v in outcomes.most_common(4))
            print(
                f"[demo] {len(window)} answers in 5s ({line}); pending {len(sent)}; {top}",
                flush=True,
            )

    try:
        await asyncio.gather(send_loop(), read_loop(), report_loop())
    finally:
        await producer.stop()
        await consumer.stop()


def run_demo(settings: Settings, *, rate: float, duration_s: float | None) -> int:
    """Start everything, run traffic until Ctrl-C (or ``duration_s``), stop everything."""
    log_dir = (settings.data_dir / "demo-logs").resolve()
    log_dir.mkdir(parents=True, exist_ok=True)
    paths = devkafka.BrokerPaths.from_settings(settings)
    own_broker = devkafka.running_pid(paths) is None
    print(f"[demo] starting Apache Kafka on 127.0.0.1:{settings.kafka_port} ...", flush=True)
    try:
        seconds = devkafka.start(settings)
    except devkafka.BrokerError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"[demo] kafka ready in {seconds:.1f}s", flush=True)
    asyncio.run(ensure_topics(settings))
    children = Children(log_dir)
    stop = asyncio.Event()
    try:
        worker = children.spawn("worker", "worker")
        health = f"http://{settings.web_host}:{settings.web_port}/health"
        wait_for_worker(health, worker)
        for name in DEMO_MODELS:
            children.spawn(f"model-{name}", "model", name)
        for name in DEMO_MODELS:
            wait_for_model(log_dir / f"model-{name}.log", name)
        print(
            "\n".join(
                [
                    "[demo] running. Where to look:",
                    f"  worker health     {health}",
                    f"  logs              {log_dir}/",
                    f"  requests topic    {settings.topic('requests')}  (README: send your own)",
                    f"  answers topic     {settings.topic('answers')}",
                    f"  dead letters      {settings.topic('deadletter')}",
                    f"  traffic           {rate:g} requests/s; Ctrl-C stops everything",
                ]
            ),
            flush=True,
        )
        loop = asyncio.new_event_loop()
        loop.add_signal_handler(signal.SIGINT, stop.set)
        loop.add_signal_handler(signal.SIGTERM, stop.set)
        loop.run_until_complete(traffic(settings, rate, duration_s, stop))
        loop.close()
    except RuntimeError as error:
        print(f"error: {error} (logs in {log_dir})", file=sys.stderr)
        return 1
    finally:
        print("[demo] stopping ...", flush=True)
        children.stop_all()
        if own_broker:
            devkafka.stop(settings)
            print("  stopped kafka")
    return 0
