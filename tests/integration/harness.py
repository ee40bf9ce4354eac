"""Real processes for integration tests: a worker, model processes, and plain Kafka clients."""

from __future__ import annotations

import asyncio
import json
import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from tests.helpers import answered, child_env

READY_TIMEOUT_S = 90.0
ADMIN_TOKEN = "integration-admin-token"


class System:
    """One rendezvous deployment with fresh topic and group names."""

    def __init__(self, bootstrap: str, tmp_path: Path, test_name: str, *, web_port: int) -> None:
        slug = re.sub(r"[^a-z0-9]+", "-", test_name.lower())[:40].strip("-")
        self.prefix = f"it-{slug}-{uuid.uuid4().hex[:8]}"
        self.bootstrap = bootstrap
        self.tmp_path = tmp_path
        self.web_port = web_port
        self.env = child_env(
            RENDEZVOUS_BOOTSTRAP_SERVERS=bootstrap,
            RENDEZVOUS_TOPIC_PREFIX=self.prefix,
            RENDEZVOUS_APP_ID=self.prefix,
            RENDEZVOUS_DATA_DIR=str(tmp_path / "data"),
            RENDEZVOUS_WEB_PORT=str(web_port),
            RENDEZVOUS_PARTITIONS="4",
            RENDEZVOUS_ADMIN_TOKEN=ADMIN_TOKEN,
        )
        self.processes: dict[str, subprocess.Popen[bytes]] = {}

    def topic(self, role: str) -> str:
        """This deployment's topic for a role."""
        return f"{self.prefix}-{role}"

    def log_path(self, name: str) -> Path:
        return self.tmp_path / f"{name}.log"

    def spawn(self, name: str, *args: str, **settings: str) -> subprocess.Popen[bytes]:
        """Start ``rendezvous ARGS`` with this deployment's settings plus ``settings`` (env)."""
        env = {**self.env, **settings}
        return self._spawn(name, list(args), env)

    def _spawn(self, name: str, args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        with self.log_path(name).open("ab") as log:  # the child keeps its own descriptor
            process = subprocess.Popen(
                [sys.executable, "-m", "streamapp", *args],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        self.processes[name] = process
        return process

    def _log_tail(self, name: str) -> str:
        path = self.log_path(name)
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""

    def start_worker(self, name: str = "worker", **settings: str) -> subprocess.Popen[bytes]:
        """Start a worker process and wait until /health says it is ready."""
        env = {**self.env, **{f"RENDEZVOUS_{k.upper()}": v for k, v in settings.items()}}
        process = self._spawn(name, ["worker", "--loglevel", "info"], env)
        url = f"http://127.0.0.1:{env['RENDEZVOUS_WEB_PORT']}/health"
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise AssertionError(
                    f"{name} exited ({process.returncode}):\n{self._log_tail(name)}"
                )
            try:
                if httpx.get(url, timeout=1.0).status_code == 200:
                    return process
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"{name} not ready in {READY_TIMEOUT_S}s:\n{self._log_tail(name)}")

    def start_model(
        self, model: str, *args: str, name: str | None = None, **settings: str
    ) -> subprocess.Popen[bytes]:
        """Start ``rendezvous model MODEL [args]`` and wait until it has partitions.

        ``name`` keys the process (for ``stop``) and its log; it defaults to the ``--as``
        alias when given, else the model name.
        """
        if name is None:
            name = args[args.index("--as") + 1] if "--as" in args else model
        env = {**self.env, **{f"RENDEZVOUS_{k.upper()}": v for k, v in settings.items()}}
        return self._wait_until_logged_ready(name, self._spawn(name, ["model", model, *args], env))

    def start_decoy(self, *args: str, name: str = "decoy") -> subprocess.Popen[bytes]:
        """Start ``rendezvous decoy [args]`` and wait until its positions are fixed."""
        return self._wait_until_logged_ready(name, self._spawn(name, ["decoy", *args], self.env))

    def _wait_until_logged_ready(
        self, name: str, process: subprocess.Popen[bytes]
    ) -> subprocess.Popen[bytes]:
        """Wait (bounded) for the process to log " ready: " (its partitions are assigned)."""
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise AssertionError(f"{name} exited:\n{self._log_tail(name)}")
            if " ready: " in self._log_tail(name):
                return process
            time.sleep(0.1)
        raise AssertionError(f"{name} not ready:\n{self._log_tail(name)}")

    def url(self, path: str, worker_port: int | None = None) -> str:
        """The REST URL of a worker of this deployment (the first one by default)."""
        return f"http://127.0.0.1:{worker_port or self.web_port}{path}"

    def stop(self, name: str, sig: int = signal.SIGTERM, timeout_s: float = 30.0) -> int:
        """Signal a process and wait for it to end; return its exit code."""
        process = self.processes.pop(name)
        process.send_signal(sig)
        try:
            return process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            process.kill()
            return process.wait(timeout=10)

    def log_lines(self, name: str, *needles: str) -> list[str]:
        """Lines of a process's log that mention any of ``needles`` (for failure messages)."""
        path = self.log_path(name)
        if not path.exists():
            return []
        lines = path.read_text(errors="replace").splitlines()
        return [line for line in lines if any(needle in line for needle in needles)]

    async def dead_letters(self, listen_s: float = 2.0) -> list[dict[str, Any]]:
        """What this deployment's dead-letter topic holds (read for ``listen_s``)."""
        async with Client(self.bootstrap) as client:
            records = await client.read(
                [self.topic("deadletter")], until=lambda _: True, idle_s=listen_s
            )
        return [letter for _, letter, _ in records]

    def close(self) -> None:
        """Stop every process this deployment started."""
        for name in list(self.processes):
            self.stop(name, timeout_s=15)

    async def create_topics(self, *names: str, partitions: int = 1) -> None:
        """Pre-create return topics (the broker does not auto-create)."""
        admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap)
        await admin.start()
        try:
            await admin.create_topics([NewTopic(n, partitions, 1) for n in names])
        finally:
            await admin.close()


def request_body(
    request_id: str, *, return_topic: str, deadline_ms: int | None = None, malignant: bool = True
) -> dict[str, Any]:
    """A valid request as any Kafka client would send it."""
    features = (
        {"worst radius": 25.4, "worst texture": 31.2, "worst concave points": 0.21}
        if malignant
        else {"worst radius": 12.0, "worst texture": 18.0, "worst concave points": 0.06}
    )
    body: dict[str, Any] = {
        "request_id": request_id,
        "return_topic": return_topic,
        "payload": {"features": features},
    }
    if deadline_ms is not None:
        body["deadline_ms"] = deadline_ms
    return body


async def send_and_await_answers(system: System, ids: list[str], *, deadline_ms: int) -> None:
    """Send a valid request for each id, answered on the deployment's answers topic, and wait
    (bounded) until every one is answered."""
    answers_topic = system.topic("answers")
    async with Client(system.bootstrap) as client:
        for request_id in ids:
            body = request_body(request_id, return_topic=answers_topic, deadline_ms=deadline_ms)
            await client.send(system.topic("requests"), body)
        await client.read([answers_topic], until=answered(set(ids)))


class Client:
    """A plain aiokafka producer and consumer, speaking raw JSON like any Kafka client."""

    def __init__(self, bootstrap: str) -> None:
        self.bootstrap = bootstrap
        self.producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=0)
        self._deliveries: list[asyncio.Future[Any]] = []

    async def __aenter__(self) -> Client:
        await self.producer.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.producer.stop()

    async def send_raw(self, topic: str, value: bytes, key: str | None = None) -> None:
        """Send bytes as they are."""
        await self.producer.send_and_wait(topic, value, key=key.encode() if key else None)

    async def send(self, topic: str, body: dict[str, Any]) -> float:
        """Send a JSON request keyed by its id; return when it was sent (epoch seconds)."""
        sent = time.time()
        delivery = await self.producer.send(
            topic, json.dumps(body).encode(), key=body["request_id"].encode()
        )
        self._deliveries.append(delivery)
        return sent

    async def flush(self) -> None:
        """Wait until everything sent has reached the broker; raise if any send failed."""
        await self.producer.flush()
        deliveries, self._deliveries = self._deliveries, []
        await asyncio.gather(*deliveries)

    async def read(
        self, topics: Iterable[str], *, until: Any, timeout_s: float = 60.0, idle_s: float = 0.0
    ) -> list[tuple[str, dict[str, Any], float]]:
        """Read (topic, JSON value, receive time) from the start until ``until(records)`` holds.

        With ``idle_s``, keep reading that long after the condition holds, to catch extras.
        Everything this client sent is confirmed delivered first (a lost send fails loudly).
        """
        await self.flush()
        consumer = AIOKafkaConsumer(
            *topics,
            bootstrap_servers=self.bootstrap,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
            group_id=None,
        )
        await consumer.start()
        records: list[tuple[str, dict[str, Any], float]] = []
        try:
            deadline = time.monotonic() + timeout_s
            satisfied_at: float | None = None
            while time.monotonic() < deadline:
                batch = await consumer.getmany(timeout_ms=200)
                for messages in batch.values():
                    records.extend((m.topic, json.loads(m.value), time.time()) for m in messages)
                if satisfied_at is None and until(records):
                    satisfied_at = time.monotonic()
                if satisfied_at is not None and time.monotonic() - satisfied_at >= idle_s:
                    return records
            return records
        finally:
            await consumer.stop()


def run(coro: Any) -> Any:
    """Run a coroutine from a synchronous test."""
    return asyncio.run(coro)
