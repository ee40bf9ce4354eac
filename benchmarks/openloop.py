"""Open-loop load for the capacity benchmark: send on a wall-clock schedule, never wait on answers.

One :class:`OpenLoop` holds one producer and one consumer (answers and scores topics) in the
benchmark's own process. ``send_at(rate, seconds, phase)`` sends requests on schedule without
awaiting delivery per message (it catches up in batches when the event loop was busy) and a
reader task records, per request, when the preferred model's Score and the first Answer
arrived. All times are ``time.perf_counter()`` seconds of this process.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from streamapp.dev.demo import DemoTraffic
from streamapp.settings import Settings

#: Shortest pause between two sending bursts: at 1000+/s each burst carries a few requests.
MIN_TICK_S = 0.002


@dataclass(slots=True)
class Outcome:
    """What happened to one request, as the benchmark saw it."""

    phase: str
    scheduled: float
    sent: float
    score_at: float | None = None  # the preferred model's Score received
    answered: float | None = None  # the first Answer received
    status: str | None = None
    model: str | None = None
    rule: str | None = None
    late_flag: bool = False  # the worker marked the answer late (decided after an outage)
    reason: str | None = None  # why, for no_result and rejected
    duplicates: int = 0  # further answers with the same request id


@dataclass(frozen=True)
class SendWindow:
    """One paced sending window: what was asked and what the sender managed."""

    phase: str
    rate: float
    began: float
    ended: float
    sent: int
    send_errors: int
    lag_ms: list[float] = field(repr=False)  # actual minus scheduled send time, per request


class OpenLoop:
    """Sends requests on schedule and records each one's Score and Answer arrivals."""

    def __init__(self, settings: Settings, *, preferred: str, deadline_ms: int, run: str) -> None:
        self.settings = settings
        self.preferred = preferred
        self.deadline_ms = deadline_ms
        self.run = run
        self.outcomes: dict[str, Outcome] = {}
        self.foreign_answers = 0
        self._payloads = _encoded_payloads()
        self._producer = AIOKafkaProducer(
            bootstrap_servers=settings.bootstrap_servers, linger_ms=0, acks=1
        )
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=settings.bootstrap_servers,
            enable_auto_commit=False,
            fetch_max_wait_ms=100,
        )
        self._reading: asyncio.Task[None] | None = None
        self._needle = f'"{preferred}"'.encode()

    async def start(self) -> None:
        """Connect, and read answers and scores from their current ends."""
        await self._producer.start()
        await self._consumer.start()
        topics = (self.settings.topic("answers"), self.settings.topic("scores"))
        self._consumer.assign(
            [TopicPartition(t, p) for t in topics for p in range(self.settings.partitions)]
        )
        await self._consumer.seek_to_end()
        for partition in self._consumer.assignment():
            await self._consumer.position(partition)  # fix "end" now, not at the first fetch
        self._reading = asyncio.create_task(self._read())

    async def stop(self) -> None:
        """Stop reading and close both clients."""
        if self._reading is not None:
            self._reading.cancel()
            await asyncio.gather(self._reading, return_exceptions=True)
        await self._producer.stop()
        await self._consumer.stop()

    async def send_at(self, rate: float, seconds: float, phase: str) -> SendWindow:
        """Send ``rate`` requests/s for ``seconds`` by the wall clock, whatever the answers do."""
        producer, topic = self._producer, self.settings.topic("requests")
        deliveries: list[asyncio.Future[Any]] = []
        lags: list[float] = []
        self._check_reader()
        began = time.perf_counter()
        end, n = began + seconds, 0
        total = round(rate * seconds)
        while (now := time.perf_counter()) < end:
            due = min(total, int((now - began) * rate) + 1)
            while n < due:
                request_id = f"{self.run}-{phase}-{n}"
                scheduled = began + n / rate
                sent = time.perf_counter()
                deliveries.append(
                    await producer.send(topic, self._body(request_id, n), key=request_id.encode())
                )
                self.outcomes[request_id] = Outcome(phase, scheduled, sent)
                lags.append((sent - scheduled) * 1000)
                n += 1
            await asyncio.sleep(max(MIN_TICK_S, began + n / rate - time.perf_counter()))
        ended = time.perf_counter()
        results = await asyncio.gather(*deliveries, return_exceptions=True)
        errors = sum(isinstance(result, BaseException) for result in results)
        return SendWindow(phase, rate, began, ended, n, errors, lags)

    async def drain(self, phases: set[str], timeout_s: float) -> float:
        """Wait (bounded) until every request of ``phases`` has an answer; return seconds."""
        began = time.perf_counter()
        waiting = [o for o in self.outcomes.values() if o.phase in phases]
        while time.perf_counter() - began < timeout_s:
            self._check_reader()
            waiting = [o for o in waiting if o.answered is None]
            if not waiting:
                break
            await asyncio.sleep(0.05)
        return time.perf_counter() - began

    def _check_reader(self) -> None:
        """Fail loudly if the reader task died (its answers would otherwise look missing)."""
        if self._reading is not None and self._reading.done() and not self._reading.cancelled():
            error = self._reading.exception()
            raise RuntimeError(f"the benchmark's reader stopped: {error!r}") from error

    def _body(self, request_id: str, n: int) -> bytes:
        payload = self._payloads[n % len(self._payloads)]
        head = json.dumps({"request_id": request_id, "deadline_ms": self.deadline_ms})
        return head[:-1].encode() + b', "payload": ' + payload + b"}"

    async def _read(self) -> None:
        answers_topic = self.settings.topic("answers")
        while True:
            batch = await self._consumer.getmany(timeout_ms=100)
            now = time.perf_counter()
            for partition, messages in batch.items():
                if partition.topic == answers_topic:
                    for message in messages:
                        self._on_answer(json.loads(message.value), now)
                else:
                    for message in messages:
                        if self._needle in message.value:  # skip other models' scores cheaply
                            self._on_score(message.key, message.value, now)

    def _on_answer(self, answer: dict[str, Any], now: float) -> None:
        outcome = self.outcomes.get(answer["request_id"])
        if outcome is None:
            self.foreign_answers += 1
        elif outcome.answered is not None:
            outcome.duplicates += 1
        else:
            outcome.answered = now
            outcome.status = answer["status"]
            outcome.model = answer.get("model")
            outcome.rule = answer["rule"]
            outcome.late_flag = bool(answer.get("late"))
            outcome.reason = answer.get("reason")

    def _on_score(self, key: bytes | None, value: bytes, now: float) -> None:
        """The preferred model's Score for a request is in Kafka (a single Score, or one entry
        of a ScoreBatch): the direct path ends here."""
        message = json.loads(value)
        if message.get("model") != self.preferred:
            return
        entries = message.get("scores", [message])
        for entry in entries:
            outcome = self.outcomes.get(entry.get("request_id", ""))
            if outcome is not None and outcome.score_at is None:
                outcome.score_at = now


def _encoded_payloads() -> list[bytes]:
    """The held-out rows as JSON, encoded once (the sender only glues bytes together)."""
    traffic = DemoTraffic()
    return [json.dumps(traffic.payload()).encode() for _ in range(512)]
