"""The generic model process: read every request, score it, write one Score per request.

Each model runs in its own consumer group, so every model sees all requests. The Score goes
to the *same partition number* as its request, so it meets the request's mailbox whatever
partitioner the client used. A model exception becomes a Score with ``error``.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from importlib.metadata import entry_points
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from aiokafka.structs import ConsumerRecord

from models.base import Model
from streamapp.core.codec import DecodeError, decode, encode
from streamapp.core.records import Control, Request, Score
from streamapp.kafka_admin import ensure_topics, requests_consumer
from streamapp.settings import Settings

log = logging.getLogger(__name__)
ENTRY_POINT_GROUP = "rendezvous.models"


class UnknownModelError(LookupError):
    """No model of that name is registered under the entry-point group."""


def available_models() -> dict[str, str]:
    """Registered model names and the ``module:Class`` each points to."""
    return {ep.name: ep.value for ep in entry_points(group=ENTRY_POINT_GROUP)}


def load_model(name: str) -> Model:
    """Instantiate the model registered under ``name``."""
    found = [ep for ep in entry_points(group=ENTRY_POINT_GROUP) if ep.name == name]
    if not found:
        known = ", ".join(sorted(available_models())) or "none"
        raise UnknownModelError(
            f"no model {name!r} in entry-point group {ENTRY_POINT_GROUP!r} (known: {known})"
        )
    model = found[0].load()()
    if not isinstance(model, Model):
        raise TypeError(f"{found[0].value} does not have a version and a predict(payload) method")
    return model


def score_one(model: Model, name: str, request: Request, read_at: float) -> Score:
    """Run the model on one request; any exception becomes the Score's ``error``."""
    result: dict[str, Any] | None = None
    error: str | None = None
    try:
        result = model.predict(request.payload)
        if not isinstance(result, dict):
            raise TypeError(f"predict returned {type(result).__name__}, not a dict")
    except Exception as exc:  # the model's failure is data, not a crash
        result, error = None, f"{type(exc).__name__}: {exc}"
    return Score(
        request_id=request.request_id,
        model=name,
        model_version=str(getattr(model, "version", "unknown")),
        read_at=read_at,
        finished_at=time.time(),
        result=result,
        error=error,
    )


class ModelProcess:
    """Consumes the requests topic in the group ``<app_id>-model-<name>`` and writes Scores.

    Up to ``concurrency`` requests are scored at once (in worker threads), as a model server
    would; a slow model then lags only when its throughput, not its latency, falls short.
    """

    def __init__(
        self, name: str, model: Model, settings: Settings, *, concurrency: int = 4
    ) -> None:
        self.name = name
        self.model = model
        self.settings = settings
        self.concurrency = concurrency
        self.scored = 0
        self.ready = asyncio.Event()
        self._stopping = asyncio.Event()

    def stop(self) -> None:
        """Ask the loop to finish the current batch and exit."""
        self._stopping.set()

    async def run(self) -> None:
        """Score requests until stopped."""
        settings = self.settings
        await ensure_topics(settings)
        consumer = requests_consumer(
            settings, f"{settings.app_id}-model-{self.name}", auto_commit=True
        )
        producer = AIOKafkaProducer(bootstrap_servers=settings.bootstrap_servers, linger_ms=0)
        await producer.start()
        await self._announce(producer)
        await consumer.start()
        consumer.subscribe(
            [settings.topic("requests")], listener=_ReadyWhenAssigned(self, consumer)
        )
        slots = asyncio.Semaphore(self.concurrency)
        in_flight: set[asyncio.Task[None]] = set()

        def finished(task: asyncio.Task[None]) -> None:
            in_flight.discard(task)
            slots.release()

        try:
            while not self._stopping.is_set():
                batches = await consumer.getmany(timeout_ms=200)
                for records in batches.values():
                    for record in records:
                        await slots.acquire()
                        task = asyncio.create_task(self._score(record, producer))
                        in_flight.add(task)
                        task.add_done_callback(finished)
        finally:
            if in_flight:
                await asyncio.wait(in_flight, timeout=10)
            await consumer.stop()
            await producer.stop()

    async def _announce(self, producer: AIOKafkaProducer) -> None:
        """Tell the registry this model exists; an unknown model joins as shadow, never live."""
        announce = Control(
            command="announce",
            model=self.name,
            value={
                "model_version": str(getattr(self.model, "version", "unknown")),
                "role": str(getattr(self.model, "role", "model")),
            },
            actor=f"model-process@{socket.gethostname()}",
            issued_at=time.time(),
        )
        await producer.send_and_wait(
            self.settings.topic("control"), encode(announce), key=self.name.encode()
        )

    def on_assigned(self, partitions: set[TopicPartition]) -> None:
        """Report readiness once partitions are assigned (tests and the demo wait for this)."""
        numbers = sorted(tp.partition for tp in partitions)
        log.info(
            "model %s (%s) ready: scoring %s partitions %s",
            self.name,
            self.model.version,
            self.settings.topic("requests"),
            numbers,
        )
        self.ready.set()
        if self.settings.model_ready_file is not None:
            self.settings.model_ready_file.touch()

    async def _score(self, record: ConsumerRecord, producer: AIOKafkaProducer) -> None:
        read_at = time.time()
        try:
            request = decode(Request, record.value)
        except DecodeError:
            return  # the rendezvous dead-letters it; a model has nothing to say
        score = await asyncio.to_thread(score_one, self.model, self.name, request, read_at)
        await producer.send(
            self.settings.topic("scores"),
            value=encode(score),
            key=request.request_id.encode(),
            partition=record.partition,
        )
        self.scored += 1


class _ReadyWhenAssigned(ConsumerRebalanceListener):  # type: ignore[misc]
    """Tells the model process when the group has given it partitions."""

    def __init__(self, process: ModelProcess, consumer: AIOKafkaConsumer) -> None:
        self._process = process
        self._consumer = consumer

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        """Nothing to clean up: offsets are auto-committed."""

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        """Fix each partition's position, then mark the process ready.

        With no committed offset the position ("latest") is otherwise resolved at the first
        fetch, and requests produced between "ready" and that fetch would be skipped.
        """
        for partition in assigned:
            await self._consumer.position(partition)
        self._process.on_assigned(assigned)
