"""Browser tests: Debian's Chromium (Playwright) against a real console, worker and broker.

One stack per module: a worker with a seeded registry, the scorecard, linear (trained here) and
rules models, steady traffic from a plain Kafka client, and ``rendezvous console``.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from streamapp.dev.demo import DemoTraffic
from streamapp.dev.ports import free_port
from tests.conftest import REPO
from tests.integration.harness import System, request_body

CHROMIUM = "/usr/bin/chromium"
#: Screenshots go here (git-ignored); RENDEZVOUS_BROWSER_ARTIFACTS names another directory.
ARTIFACTS = Path(
    os.environ.get("RENDEZVOUS_BROWSER_ARTIFACTS") or REPO / "test-artifacts" / "browser"
)
REGISTRY = {
    "linear": {"state": "live", "priority": 20},
    "scorecard": {"state": "live", "priority": 10},
    "rules": {"state": "live", "priority": 0, "backstop": True},
}


@dataclass
class Traffic:
    """Requests sent at a steady rate and the first answer to each, read from Kafka."""

    sent: dict[str, float] = field(default_factory=dict)
    answers: dict[str, dict[str, Any]] = field(default_factory=dict)
    stop: threading.Event = field(default_factory=threading.Event)

    def winners_since(self, moment: float) -> list[str]:
        """Winning models of the requests sent after ``moment`` (epoch s), in send order."""
        ids = [i for i, at in sorted(self.sent.items(), key=lambda kv: kv[1]) if at > moment]
        return [self.answers[i]["model"] for i in ids if i in self.answers]


async def _run_traffic(system: System, traffic: Traffic, rate: float) -> None:
    answers_topic = system.topic("answers")
    producer = AIOKafkaProducer(bootstrap_servers=system.bootstrap, linger_ms=0)
    consumer = AIOKafkaConsumer(
        answers_topic,
        bootstrap_servers=system.bootstrap,
        auto_offset_reset="earliest",
        group_id=None,
    )
    await producer.start()
    await consumer.start()

    async def read() -> None:
        while not traffic.stop.is_set():
            batch = await consumer.getmany(timeout_ms=200)
            for messages in batch.values():
                for message in messages:
                    answer = json.loads(message.value)
                    traffic.answers.setdefault(answer["request_id"], answer)

    reader = asyncio.create_task(read())
    rows = DemoTraffic(seed=42)
    n = 0
    try:
        while not traffic.stop.is_set():
            request_id = f"web-{n:06d}"
            traffic.sent[request_id] = time.time()
            body = {
                **request_body(request_id, return_topic=answers_topic, deadline_ms=1500),
                "payload": rows.payload(),
            }
            await producer.send(
                system.topic("requests"), json.dumps(body).encode(), key=request_id.encode()
            )
            n += 1
            await asyncio.sleep(1 / rate)  # pacing the load, not synchronisation
    finally:
        reader.cancel()
        await producer.stop()
        await consumer.stop()


@pytest.fixture(scope="module")
def stack(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """Worker, models, traffic and console; yields what the tests need."""
    from models.training import train

    tmp = tmp_path_factory.mktemp("browser")
    system = System(kafka_bootstrap, tmp, "browser", web_port=free_port())
    train("linear", 42, tmp / "data" / "models")
    traffic = Traffic()
    thread = threading.Thread(
        target=lambda: asyncio.run(_run_traffic(system, traffic, 15)), daemon=True
    )
    try:
        system.start_worker(models=json.dumps(REGISTRY))
        for model in ("scorecard", "linear", "rules"):
            system.start_model(model)
        thread.start()
        console_port = free_port()
        system.spawn(
            "console",
            "console",
            RENDEZVOUS_CONSOLE_PORT=str(console_port),
            RENDEZVOUS_CONSOLE_WORKER_URL=system.url(""),
            RENDEZVOUS_CONSOLE_REFRESH_MS="500",
        )
        console_url = f"http://127.0.0.1:{console_port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(console_url, timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        else:
            raise AssertionError(f"console not up:\n{system.log_path('console').read_text()}")
        yield {"system": system, "traffic": traffic, "console": console_url}
    finally:
        traffic.stop.set()
        thread.join(timeout=10)
        system.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Debian Chromium; missing Chromium is a failure, not a skip."""
    from playwright.sync_api import sync_playwright

    if shutil.which("chromium") is None or not Path(CHROMIUM).exists():
        pytest.fail(
            "chromium is not installed (make test installs Debian's package)", pytrace=False
        )
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield launched
        launched.close()


@pytest.fixture()
def page(browser: Any) -> Iterator[Any]:
    """A fresh browser page (its own session storage)."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    yield context.new_page()
    context.close()


def screenshot(page: Any, name: str) -> Path:
    """Save a full-page screenshot as a test artifact."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
