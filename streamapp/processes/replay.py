"""Replay an archive into one model: a Score per archived request, on the replays topic only.

Replayed scores carry ``replayed: true`` and go to ``<prefix>-replays``, never to the live
scores topic, so a replay cannot change an answer. Each Score goes to the partition number its
request was archived from, keyed by request id, like a live model's.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from models.base import Model
from streamapp.archive.format import ArchivedRequest
from streamapp.core.codec import DecodeError, decode, encode
from streamapp.core.records import Request, Score
from streamapp.kafka_admin import ensure_topics
from streamapp.processes.scoring import score_one
from streamapp.settings import Settings

_IN_FLIGHT = 1000


@dataclass
class ReplaySummary:
    """What a replay did; ``results`` maps request id to the replayed result (with compare)."""

    topic: str
    model: str
    model_version: str
    read: int = 0
    replayed: int = 0
    invalid: int = 0
    elapsed_s: float = 0.0
    results: dict[str, dict[str, Any] | None] = field(default_factory=dict)


@dataclass(frozen=True)
class Comparison:
    """Replayed results against the live official answers of the same requests."""

    replayed: int
    found: int
    compared: int
    agreed: int
    live_models: Counter[str]

    @property
    def agreement(self) -> float | None:
        """Share of compared requests whose labels agree, or None when none could be compared."""
        return self.agreed / self.compared if self.compared else None


def due_in(first_ms: int, timestamp_ms: int, elapsed_s: float, speed: float) -> float:
    """Seconds to wait before replaying a request, to keep original pace divided by ``speed``.

    ``speed`` 0 means as fast as possible.
    """
    if speed <= 0:
        return 0.0
    return max(0.0, (timestamp_ms - first_ms) / 1000 / speed - elapsed_s)


def replayed_score(model: Model, name: str, request: Request, read_at: float) -> Score:
    """The model's Score for an archived request, marked as replayed."""
    score = score_one(model, name, request, read_at)
    return Score(**{**score.asdict(), "replayed": True})


def _label(result: Mapping[str, Any]) -> Any:
    """What two results must share to agree: the ``label`` when there is one, else all of it."""
    return result.get("label", dict(result))


def compare(
    replayed: Mapping[str, Mapping[str, Any] | None], live: Mapping[str, Mapping[str, Any]]
) -> Comparison:
    """Agreement between replayed results and live answers (``ok`` answers with a result)."""
    found = compared = agreed = 0
    live_models: Counter[str] = Counter()
    for request_id, result in replayed.items():
        answer = live.get(request_id)
        if answer is None:
            continue
        found += 1
        live_models[answer.get("model") or f"({answer.get('status')})"] += 1
        live_result = answer.get("result")
        if answer.get("status") != "ok" or not isinstance(live_result, Mapping) or result is None:
            continue
        compared += 1
        agreed += _label(result) == _label(live_result)
    return Comparison(len(replayed), found, compared, agreed, live_models)


async def replay(
    settings: Settings,
    model: Model,
    name: str,
    records: Iterable[ArchivedRequest],
    *,
    speed: float = 0.0,
    limit: int | None = None,
    out: BinaryIO | None = None,
    keep_results: bool = False,
    progress_every: int = 10_000,
    on_progress: Callable[[ReplaySummary], None] | None = None,
) -> ReplaySummary:
    """Score archived requests with ``model`` and send the Scores to the replays topic."""
    topic = settings.topic("replays")
    summary = ReplaySummary(topic, name, str(getattr(model, "version", "unknown")))
    await ensure_topics(settings)
    producer = AIOKafkaProducer(bootstrap_servers=settings.bootstrap_servers, linger_ms=5)
    await producer.start()
    started = time.monotonic()
    try:
        partitions = sorted(await producer.partitions_for(topic))
        in_flight: list[asyncio.Future[Any]] = []
        first_ms: int | None = None
        for record in records:
            if limit is not None and summary.replayed >= limit:
                break
            summary.read += 1
            try:
                request = decode(Request, record.value)
            except DecodeError:
                summary.invalid += 1
                continue
            first_ms = record.timestamp_ms if first_ms is None else first_ms
            wait = due_in(first_ms, record.timestamp_ms, time.monotonic() - started, speed)
            if wait:
                await asyncio.sleep(wait)  # pacing the replay, not synchronisation
            score = replayed_score(model, name, request, time.time())
            value = encode(score)
            partition = partitions[record.partition % len(partitions)]
            key = request.request_id.encode()
            in_flight.append(await producer.send(topic, value, key=key, partition=partition))
            if out is not None:
                out.write(value + b"\n")
            if keep_results:
                summary.results[request.request_id] = score.result
            summary.replayed += 1
            if len(in_flight) >= _IN_FLIGHT:
                await asyncio.gather(*in_flight)  # surfaces delivery errors, bounds memory
                in_flight.clear()
            if on_progress is not None and summary.replayed % progress_every == 0:
                summary.elapsed_s = time.monotonic() - started
                on_progress(summary)
        await asyncio.gather(*in_flight)
    finally:
        await producer.stop()
    summary.elapsed_s = time.monotonic() - started
    return summary


async def live_answers(settings: Settings, *, timeout_s: float) -> dict[str, dict[str, Any]]:
    """The first answer per request id on the default answers topic, read up to its end.

    Reading stops at the end offsets seen when it began, or after ``timeout_s``.
    """
    topic = settings.topic("answers")
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=settings.bootstrap_servers,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        group_id=None,
    )
    await consumer.start()  # without a group, this assigns every partition of the topic
    answers: dict[str, dict[str, Any]] = {}
    try:
        assigned = sorted(consumer.assignment())
        await consumer.seek_to_beginning(*assigned)
        ends = await consumer.end_offsets(assigned)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            positions = {tp: await consumer.position(tp) for tp in ends}
            if all(positions[tp] >= end for tp, end in ends.items()):
                break
            batches = await consumer.getmany(timeout_ms=200)
            for messages in batches.values():
                for message in messages:
                    answer = _json_object(message.value)
                    if answer is not None and isinstance(answer.get("request_id"), str):
                        answers.setdefault(answer["request_id"], answer)
    finally:
        await consumer.stop()
    return answers


def _json_object(raw: bytes | None) -> dict[str, Any] | None:
    try:
        value = json.loads(raw) if raw is not None else None
    except ValueError:
        return None
    return value if isinstance(value, dict) else None
