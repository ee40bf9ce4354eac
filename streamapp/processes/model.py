"""The generic model process: read every request, score it, write the Scores in batches.

Each model process runs in its own consumer group, so every process sees all requests. The
requests of one fetch, from every partition, are scored together (one vectorised
``predict_batch`` call when the model has it) and their Scores go out as one ScoreBatch per
partition, to the *same partition number*, so they meet the requests' mailboxes whatever
partitioner the client used. A model exception becomes that request's ``error``. Offsets are
committed only once the Scores are in Kafka, so a crash re-reads what was not scored, and never
skips it.

One process can host several models: it reads the stream once, each model scores every fetch
in its own thread, side by side, and each model's Scores leave as soon as it has them. A
process's fixed cost per fetch (the fetch, the hops to the scoring threads, the produce and its
acknowledgement, and the broker's side of each) is then paid once for all of them. The price:
the process reads as fast as its slowest model scores, so a model that must never wait for
another keeps a process of its own.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any, NamedTuple

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from aiokafka.structs import ConsumerRecord, OffsetAndMetadata

from models.base import BatchModel, Model
from streamapp.core.call_placement import CallPlacement
from streamapp.core.codec import encode
from streamapp.core.records import Control
from streamapp.fetch_tuning import FetchTuner, model_fetch
from streamapp.heap import settle_after_start
from streamapp.kafka_admin import ensure_topics, requests_consumer
from streamapp.processes.commits import Batch, CommitTracker
from streamapp.processes.scoring import Outcome, predict_many
from streamapp.settings import Settings

log = logging.getLogger(__name__)
ENTRY_POINT_GROUP = "rendezvous.models"
#: How often written batches are committed (a crash re-reads at most this much, scored twice).
COMMIT_EVERY_S = 0.5
#: How long a stopping process waits for batches in flight before it gives up on them.
DRAIN_S = 5.0


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


def readable_request(raw: bytes | None) -> tuple[str, Mapping[str, Any]] | None:
    """(request id, payload) of a request a model can score, or None (the rendezvous
    dead-letters what is malformed; a model has nothing to say about it)."""
    found = readable_request_and_deadline(raw)
    return None if found is None else (found[0], found[1])


def readable_request_and_deadline(
    raw: bytes | None,
) -> tuple[str, Mapping[str, Any], int | None] | None:
    """(request id, payload, its ``deadline_ms`` if it is a positive integer) or None."""
    try:
        data = orjson.loads(raw or b"")
    except orjson.JSONDecodeError:
        return None
    if not isinstance(data, dict):
        return None
    request_id, payload = data.get("request_id"), data.get("payload")
    if not isinstance(request_id, str) or not request_id or not isinstance(payload, dict):
        return None
    deadline_ms = data.get("deadline_ms")
    if isinstance(deadline_ms, bool) or not isinstance(deadline_ms, int) or deadline_ms < 1:
        deadline_ms = None
    return request_id, payload, deadline_ms


def deadline_of(record_timestamp_ms: int | None, deadline_ms: int | None, default_ms: int) -> float:
    """A request's deadline in epoch seconds: its budget from when it entered Kafka (the
    broker's stamp on the requests topic), as the rendezvous counts it."""
    entered_ms = record_timestamp_ms if record_timestamp_ms and record_timestamp_ms > 0 else None
    start = entered_ms / 1000 if entered_ms is not None else time.time()
    return start + (deadline_ms if deadline_ms is not None else default_ms) / 1000


class TimedCall(NamedTuple):
    """A model call: when it started (the Score's ``read_at``: a request waiting for a free
    thread is not yet being read), the CPU time it took, and its outcomes."""

    started_at: float
    cpu_s: float
    outcomes: list[Outcome]


def timed_predict_many(
    model: Model, payloads: list[Mapping[str, Any]], deadlines: list[float] | None = None
) -> TimedCall:
    """Call the model, timing it by the wall clock and by the CPU time of the calling thread
    (which leaves out time spent waiting for a CPU on a busy machine)."""
    started_at, cpu_before = time.time(), time.thread_time()
    outcomes = predict_many(model, payloads, deadlines)
    return TimedCall(started_at, time.thread_time() - cpu_before, outcomes)


def score_batch_value(
    model_name: str,
    model_version: str,
    request_ids: list[str],
    outcomes: list[Outcome],
    *,
    read_at: float,
    finished_at: float,
) -> bytes:
    """The ScoreBatch message for requests scored together (see ``core.records.ScoreBatch``)."""
    scores = []
    for request_id, (result, error) in zip(request_ids, outcomes, strict=True):
        entry: dict[str, Any] = {
            "request_id": request_id,
            "read_at": read_at,
            "finished_at": finished_at,
        }
        if error is None:
            entry["result"] = result
        else:
            entry["error"] = error
        scores.append(entry)
    return orjson.dumps({"model": model_name, "model_version": model_version, "scores": scores})


#: One partition's share of a fetch: its records and the batch that commits them.
_Fetched = tuple[TopicPartition, list[ConsumerRecord[bytes, bytes]], Batch]
#: A request a model can score: (partition, request id, payload).
_Readable = tuple[int, str, Mapping[str, Any]]


@dataclass(frozen=True)
class HostedModel:
    """A model a process scores with, and the name its Scores carry."""

    name: str
    model: Model

    @property
    def version(self) -> str:
        """The model's version, as its Scores and its announcement carry it."""
        return str(getattr(self.model, "version", "unknown"))


def hosted_name(names: list[str] | tuple[str, ...]) -> str:
    """The name of a process hosting these models (its consumer group and log lines): the
    names sorted and joined by ``+``, so the same models give the same group in any order."""
    return "+".join(sorted(names))


class ModelProcess:
    """Consumes the requests topic in the group ``<app_id>-model-<name>`` and writes Scores
    (for several models, ``<name>`` is their names sorted and joined by ``+``).

    Up to ``concurrency`` fetches are scored at once, each model's share in a thread, so a
    slow model lags only when its throughput, not its latency, falls short, and a slow or hung
    ``predict`` does not block the consumer's heartbeats or a shutdown. A model marked
    ``quick_calls = True`` (its calls only compute, briefly) is called on the event loop instead
    while its latest calls were all quicker than ``RENDEZVOUS_MODEL_INLINE_BELOW_MS``, which
    spares two thread hand-overs a call (``core.call_placement``).
    """

    def __init__(
        self, models: Mapping[str, Model], settings: Settings, *, concurrency: int = 4
    ) -> None:
        if not models:
            raise ValueError("a model process needs at least one model")
        self.hosted = [HostedModel(name, model) for name, model in models.items()]
        self.name = hosted_name(list(models))
        self.settings = settings
        self.concurrency = concurrency
        #: Requests scored by every hosted model and written.
        self.scored = 0
        self.unreadable = 0
        #: Requests still in a model call when the process stopped (not committed: re-read).
        self.abandoned = 0
        self.ready = asyncio.Event()
        self._stopping = asyncio.Event()
        self._commits = CommitTracker()
        #: Each model its own threads, so one model's calls never wait for another's.
        self._executors = {
            hosted.name: ThreadPoolExecutor(
                concurrency, thread_name_prefix=f"predict-{hosted.name}"
            )
            for hosted in self.hosted
        }
        #: A model marked ``quick_calls`` is called on the event loop while its calls are quick
        #: (``core.call_placement``); any other always in its threads.
        self._placements = {
            hosted.name: CallPlacement(
                settings.model_inline_below_ms / 1000
                if getattr(hosted.model, "quick_calls", False) is True
                else 0.0
            )
            for hosted in self.hosted
        }
        self._in_flight: dict[asyncio.Task[None], int] = {}
        self._failure: BaseException | None = None
        #: Fetch at once while requests are few, in batches while they are many.
        self.fetching = FetchTuner(model_fetch(settings), label=f"model {self.name}")

    def stop(self) -> None:
        """Ask the loop to finish the batches in hand and exit."""
        self._stopping.set()

    async def run(self) -> None:
        """Score requests until stopped."""
        settings = self.settings
        await ensure_topics(settings)
        consumer = requests_consumer(
            settings, f"{settings.app_id}-model-{self.name}", auto_commit=False
        )
        self.fetching.attach(consumer)
        producer = AIOKafkaProducer(
            bootstrap_servers=settings.bootstrap_servers, linger_ms=settings.model_linger_ms
        )
        await producer.start()
        await self._announce(producer)
        await consumer.start()
        consumer.subscribe(
            [settings.topic("requests")], listener=_ReadyWhenAssigned(self, consumer)
        )
        # the model and clients are loaded
        settle_after_start(settings.gc_young_threshold, settings.gc_old_threshold)
        slots = asyncio.Semaphore(self.concurrency)
        committed_at = time.monotonic()
        try:
            while not self._stopping.is_set() and self._failure is None:
                fetched = await consumer.getmany(timeout_ms=200, max_records=1000)
                self.fetching.read(sum(len(records) for records in fetched.values()))
                self.fetching.review()
                if fetched:
                    await slots.acquire()
                    parts = [
                        (tp, records, self._commits.read(tp, records[-1].offset))
                        for tp, records in fetched.items()
                    ]
                    task = asyncio.create_task(self._score_and_send(producer, parts))
                    self._in_flight[task] = sum(len(records) for _, records, _ in parts)
                    task.add_done_callback(lambda done: self._finished(done, slots))
                if time.monotonic() - committed_at >= COMMIT_EVERY_S:
                    committed_at = time.monotonic()
                    await self._commit(consumer)
        finally:
            await self._drain()
            await self._commit(consumer)
            await consumer.stop()
            await producer.stop()
            for executor in self._executors.values():
                executor.shutdown(wait=False, cancel_futures=True)
        if self._failure is not None:
            raise RuntimeError(f"model {self.name} stopped: {self._failure!r}") from self._failure

    def _finished(self, task: asyncio.Task[None], slots: asyncio.Semaphore) -> None:
        self._in_flight.pop(task, None)
        slots.release()

    async def _drain(self) -> None:
        """Wait (bounded) for the batches in flight; a hung one is counted and left behind."""
        if self._in_flight:
            await asyncio.wait(list(self._in_flight), timeout=DRAIN_S)
        self.abandoned = sum(self._in_flight.values())
        if self.abandoned:
            log.warning(
                "model %s: %d request(s) still in a model call after %.0fs; not committed, "
                "so they are scored again after a restart",
                self.name,
                self.abandoned,
                DRAIN_S,
            )

    async def _score_and_send(self, producer: AIOKafkaProducer, parts: list[_Fetched]) -> None:
        """Score what one fetch brought, from every partition, and commit it once written."""
        readable: list[_Readable] = []
        deadlines: list[float] = []
        unreadable = 0
        for tp, records, _ in parts:
            for record in records:
                found = readable_request_and_deadline(record.value)
                if found is None:
                    unreadable += 1
                    continue
                readable.append((tp.partition, found[0], found[1]))
                deadlines.append(
                    deadline_of(record.timestamp, found[2], self.settings.default_deadline_ms)
                )
        self.unreadable += unreadable
        if readable:
            try:
                await asyncio.gather(
                    *(
                        self._score_with(producer, hosted, readable, deadlines)
                        for hosted in self.hosted
                    )
                )
            except Exception as error:  # not committed: re-read after the restart
                log.error("model %s could not write its scores: %r; stopping", self.name, error)
                self._failure = error
                return
            self.scored += len(readable)
        for _, _, batch in parts:
            self._commits.written(batch)

    async def _score_with(
        self,
        producer: AIOKafkaProducer,
        hosted: HostedModel,
        readable: list[_Readable],
        deadlines: list[float],
    ) -> None:
        """One model's share of a fetch: one call for them all when it has ``predict_batch``;
        otherwise one call per request, side by side (up to its ``concurrency`` threads), each Score
        leaving as soon as it is ready."""
        if isinstance(hosted.model, BatchModel):
            await self._score_together(producer, hosted, readable, deadlines)
            return
        await asyncio.gather(
            *(
                self._score_together(producer, hosted, [one], [deadline])
                for one, deadline in zip(readable, deadlines, strict=True)
            )
        )

    async def _score_together(
        self,
        producer: AIOKafkaProducer,
        hosted: HostedModel,
        readable: list[_Readable],
        deadlines: list[float],
    ) -> None:
        """Score requests in one call of one model (in a thread, or on the loop while a model
        marked quick is quick), whatever partitions they came from, and write their Scores as
        one message per partition."""
        payloads = [payload for _, _, payload in readable]
        placement = self._placements[hosted.name]
        if placement.inline():
            call = timed_predict_many(hosted.model, payloads, deadlines)
        else:
            call = await asyncio.get_running_loop().run_in_executor(
                self._executors[hosted.name], timed_predict_many, hosted.model, payloads, deadlines
            )
        started_at, outcomes = call.started_at, call.outcomes
        finished_at = time.time()
        placement.called(call.cpu_s)
        if isinstance(hosted.model, BatchModel):  # batching only spares calls of these
            self.fetching.called(finished_at - started_at, len(payloads), model=hosted.name)
        by_partition: dict[int, tuple[list[str], list[Outcome]]] = {}
        for (partition, request_id, _), outcome in zip(readable, outcomes, strict=True):
            ids, partition_outcomes = by_partition.setdefault(partition, ([], []))
            ids.append(request_id)
            partition_outcomes.append(outcome)
        topic, key = self.settings.topic("scores"), hosted.name.encode()
        deliveries = [
            await producer.send(
                topic,
                score_batch_value(
                    hosted.name,
                    hosted.version,
                    ids,
                    partition_outcomes,
                    read_at=started_at,
                    finished_at=finished_at,
                ),
                key=key,
                partition=partition,
            )
            for partition, (ids, partition_outcomes) in by_partition.items()
        ]
        await asyncio.gather(*deliveries)

    async def _commit(self, consumer: AIOKafkaConsumer) -> None:
        offsets = self._commits.committable()
        if not offsets:
            return
        try:
            await consumer.commit({tp: OffsetAndMetadata(o, "") for tp, o in offsets.items()})
        except Exception as error:  # e.g. during a rebalance: the next commit catches up
            log.warning("model %s: commit of %s failed: %r", self.name, offsets, error)

    async def _announce(self, producer: AIOKafkaProducer) -> None:
        """Tell the registry each hosted model exists; an unknown model joins as shadow,
        never live."""
        for hosted in self.hosted:
            announce = Control(
                command="announce",
                model=hosted.name,
                value={
                    "model_version": hosted.version,
                    "role": str(getattr(hosted.model, "role", "model")),
                },
                actor=f"model-process@{socket.gethostname()}",
                issued_at=time.time(),
            )
            await producer.send_and_wait(
                self.settings.topic("control"), encode(announce), key=hosted.name.encode()
            )

    async def on_revoked(self, consumer: AIOKafkaConsumer, revoked: set[TopicPartition]) -> None:
        """Commit what was written of the partitions going away, then forget them."""
        await self._commit(consumer)
        self._commits.forget(set(revoked))

    def on_assigned(self, partitions: set[TopicPartition]) -> None:
        """Report readiness once partitions are assigned (tests and the demo wait for this)."""
        numbers = sorted(tp.partition for tp in partitions)
        for hosted in self.hosted:
            log.info(
                "model %s (%s) ready: scoring %s partitions %s",
                hosted.name,
                hosted.version,
                self.settings.topic("requests"),
                numbers,
            )
        self.ready.set()
        if self.settings.model_ready_file is not None:
            self.settings.model_ready_file.touch()


class _ReadyWhenAssigned(ConsumerRebalanceListener):  # type: ignore[misc]
    """Tells the model process when the group has given it partitions, or takes them away."""

    def __init__(self, process: ModelProcess, consumer: AIOKafkaConsumer) -> None:
        self._process = process
        self._consumer = consumer

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        """Commit the written batches of the partitions going away."""
        await self._process.on_revoked(self._consumer, revoked)

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        """Fix each partition's position and commit it where the group has no offset yet,
        then mark the process ready.

        With no committed offset the position ("latest") is otherwise resolved at the first
        fetch, and requests produced between "ready" and that fetch would be skipped; and a
        process killed before its first commit would start again from "latest" and skip what
        it had read and everything sent while it was down.
        """
        fresh = {}
        for partition in assigned:
            position = await self._consumer.position(partition)
            if await self._consumer.committed(partition) is None:
                fresh[partition] = OffsetAndMetadata(position, "")
        if fresh:
            await self._consumer.commit(fresh)
        self._process.on_assigned(assigned)
