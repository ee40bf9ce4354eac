"""Tools of the fault suite: how big a run is, an open-loop load, every copy of every answer on
the wire, what they add up to, and the one JSON line each case reports."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from tests.helpers import eventually
from tests.integration.harness import System, request_body

T = TypeVar("T")

#: ``short`` (the default pytest run, CI) or ``full`` (``make faults``).
SCALE = os.environ.get("RENDEZVOUS_FAULTS_SCALE", "short").strip().lower() or "short"
if SCALE not in {"short", "full"}:
    raise ValueError(f"RENDEZVOUS_FAULTS_SCALE must be 'short' or 'full', not {SCALE!r}")
FULL = SCALE == "full"


def scaled(short: T, full: T) -> T:
    """The short value in the default run, the full one under ``make faults``."""
    return full if FULL else short


# --- the report -------------------------------------------------------------------------------

#: Every case's row, in the order they ran (printed as a table at the end of the session).
RESULTS: list[dict[str, Any]] = []
COLUMNS = ("sent", "missing", "conflicting", "duplicates", "late")


def report(case: str, tally: Tally | None = None, **extra: Any) -> dict[str, Any]:
    """Record and print this case's JSON line (before its assertions, so a failure has one)."""
    row: dict[str, Any] = {"case": case, "scale": SCALE}
    if tally is not None:
        row.update(tally.summary())
    row.update(extra)
    RESULTS.append(row)
    print(f"FAULTS_JSON {json.dumps(row, default=str)}")
    return row


# --- the load ---------------------------------------------------------------------------------


@dataclass
class Sent:
    """One request handed to the producer: when, and what became of it."""

    request_id: str
    at: float
    delivery: asyncio.Future[Any] | None
    error: str | None = None
    #: The broker's stamp (LogAppendTime on the requests topic), once delivered.
    stamped_ms: int | None = None


class OpenLoop:
    """Requests on a wall-clock schedule: request n leaves at start + n / rate, whatever the
    answers do (a send the producer cannot take at once delays the ones behind it, which then
    leave as soon as they can)."""

    def __init__(
        self,
        bootstrap: str,
        requests_topic: str,
        *,
        prefix: str,
        rate_per_s: float,
        deadline_ms: int,
        return_topic: str,
    ) -> None:
        self.requests_topic = requests_topic
        self.prefix = prefix
        self.rate_per_s = rate_per_s
        self.deadline_ms = deadline_ms
        self.return_topic = return_topic
        self.producer = AIOKafkaProducer(
            bootstrap_servers=bootstrap, linger_ms=0, request_timeout_ms=60_000
        )
        self.sent: list[Sent] = []
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> OpenLoop:
        await self.producer.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()
        await self.producer.stop()

    @property
    def count(self) -> int:
        return len(self.sent)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        self._stopping.set()
        if self._task is not None:
            await self._task
            self._task = None

    async def _run(self) -> None:
        began = time.monotonic()
        n = 0
        while not self._stopping.is_set():
            delay = began + n / self.rate_per_s - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)  # pacing the load on its schedule
                if self._stopping.is_set():
                    return
            request_id = f"{self.prefix}-{n:05d}"
            body = request_body(
                request_id,
                return_topic=self.return_topic,
                deadline_ms=self.deadline_ms,
                malignant=n % 2 == 0,
            )
            at = time.time()
            try:
                delivery = await self.producer.send(
                    self.requests_topic, json.dumps(body).encode(), key=request_id.encode()
                )
            except Exception as error:  # refused outright (no metadata in time, closed)
                self.sent.append(Sent(request_id, at, None, repr(error)))
            else:
                self.sent.append(Sent(request_id, at, delivery))
            n += 1

    async def sent_at_least(self, n: int, *, what: str = "") -> None:
        """Wait (bounded) until ``n`` requests have been sent."""

        async def reached() -> bool:
            if self._task is not None and self._task.done():
                self._task.result()  # a sender that died says why
            return self.count >= n

        timeout = max(30.0, 3 * n / self.rate_per_s)
        await eventually(reached, timeout_s=timeout, what=what or f"{n} requests sent")

    async def run_for(self, requests: int) -> None:
        """Let ``requests`` more requests go out (the load paces the fault schedule)."""
        await self.sent_at_least(self.count + requests, what=f"{requests} more requests sent")

    async def delivered(self, timeout_s: float = 90.0) -> list[Sent]:
        """The sends that reached the broker (waiting, bounded, for those still in flight);
        the others carry their error."""
        pending = [s.delivery for s in self.sent if s.delivery is not None]
        if pending:
            await asyncio.wait(pending, timeout=timeout_s)
        ok = []
        for sent in self.sent:
            if sent.delivery is None:
                continue
            if not sent.delivery.done():
                sent.error = "not delivered in time"
                continue
            error = sent.delivery.exception()
            if error is not None:
                sent.error = repr(error)
                continue
            meta = sent.delivery.result()
            sent.stamped_ms = meta.timestamp
            ok.append(sent)
        return ok


# --- the wire ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class WireRecord:
    """One message as it is on the wire: raw bytes, and its JSON when it parses."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes
    timestamp_ms: int
    data: Any = None

    @property
    def request_id(self) -> str | None:
        return self.data.get("request_id") if isinstance(self.data, dict) else None


def _decoded(value: bytes | None) -> Any:
    try:
        return json.loads(value or b"")
    except ValueError:
        return None


def answered_ids(ids: Iterable[str]) -> Callable[[list[WireRecord]], bool]:
    """A condition for ``read_wire``: every id has at least one message."""
    wanted = set(ids)

    def check(records: list[WireRecord]) -> bool:
        return wanted <= {r.request_id for r in records}

    return check


async def read_wire(
    bootstrap: str,
    topics: list[str],
    *,
    until: Callable[[list[WireRecord]], bool],
    timeout_s: float = 60.0,
    idle_s: float = 2.0,
) -> list[WireRecord]:
    """Every message on ``topics`` from the beginning, raw, until ``until(records)`` holds; then
    ``idle_s`` more, and on to the end of every partition, so extra copies are caught too."""
    consumer = AIOKafkaConsumer(
        *topics,
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        group_id=None,
        max_partition_fetch_bytes=2 * 1024 * 1024,
    )
    await consumer.start()
    records: list[WireRecord] = []
    try:
        deadline = time.monotonic() + timeout_s
        satisfied_at: float | None = None
        while time.monotonic() < deadline:
            for messages in (await consumer.getmany(timeout_ms=200)).values():
                records.extend(
                    WireRecord(
                        m.topic,
                        m.partition,
                        m.offset,
                        m.key,
                        m.value or b"",
                        m.timestamp,
                        _decoded(m.value),
                    )
                    for m in messages
                )
            if satisfied_at is None and until(records):
                satisfied_at = time.monotonic()
            if satisfied_at is not None and time.monotonic() - satisfied_at >= idle_s:
                assigned = list(consumer.assignment())
                ends = await consumer.end_offsets(assigned)
                positions = [await consumer.position(tp) for tp in assigned]
                if all(p >= ends[tp] for tp, p in zip(assigned, positions, strict=True)):
                    return records
        return records
    finally:
        await consumer.stop()


@dataclass
class Tally:
    """What a set of requests got on the wire."""

    sent: int
    missing: list[str]
    conflicting: list[str]
    duplicates: int
    late: int
    statuses: Counter[str]
    #: The first copy per request id (what a reader keeping the first answer sees).
    kept: dict[str, dict[str, Any]] = field(default_factory=dict)
    copies: dict[str, list[WireRecord]] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        return {
            "sent": self.sent,
            "missing": len(self.missing),
            "conflicting": len(self.conflicting),
            "duplicates": self.duplicates,
            "late": self.late,
            "statuses": dict(sorted(self.statuses.items())),
        }

    def ok_share(self) -> float:
        answered = sum(self.statuses.values())
        return self.statuses.get("ok", 0) / answered if answered else 0.0


def tally(ids: Iterable[str], records: list[WireRecord]) -> Tally:
    """Missing (no copy), conflicting (copies whose bytes differ), duplicates (extra identical
    copies) and late (the kept answer says ``late``) for the requests ``ids``."""
    wanted = list(dict.fromkeys(ids))
    wanted_set = set(wanted)
    copies: dict[str, list[WireRecord]] = defaultdict(list)
    for record in records:
        if record.request_id in wanted_set:
            copies[record.request_id].append(record)
    missing = [i for i in wanted if i not in copies]
    conflicting = [i for i in wanted if len({r.value for r in copies.get(i, [])}) > 1]
    duplicates = sum(len(c) - len({r.value for r in c}) for c in copies.values())
    kept = {i: c[0].data for i, c in copies.items()}
    late = sum(1 for answer in kept.values() if answer.get("late"))
    statuses = Counter(str(answer.get("status")) for answer in kept.values())
    return Tally(len(wanted), missing, conflicting, duplicates, late, statuses, kept, dict(copies))


def explain(tally: Tally, system: System, *process_names: str) -> str:
    """Why a case failed: which requests, their copies, and what the processes logged."""
    lines = []
    if tally.missing:
        lines.append(f"{len(tally.missing)} missing, e.g. {tally.missing[:8]}")
    for request_id in tally.conflicting[:3]:
        lines.append(f"conflicting copies of {request_id}:")
        lines.extend(
            f"  {r.topic}[{r.partition}]@{r.offset}: {r.value!r}" for r in tally.copies[request_id]
        )
    needles = [*tally.missing[:5], *tally.conflicting[:5], "ERROR", "Traceback", "WARNING"]
    for name in process_names:
        logged = system.log_lines(name, *needles)
        if logged:
            lines.append(f"{name} log ({len(logged)} lines, last 30):")
            lines.extend(f"  {line}" for line in logged[-30:])
    return "\n".join(lines)


def assert_whole(tally: Tally, system: System, *process_names: str) -> None:
    """None missing and none conflicting, or a message that shows why."""
    if tally.missing or tally.conflicting:
        raise AssertionError(explain(tally, system, *process_names or ("worker",)))


# --- processes and topics ---------------------------------------------------------------------


def alive(system: System, name: str) -> bool:
    process = system.processes.get(name)
    return process is not None and process.poll() is None


def log_errors(system: System, name: str) -> int:
    """How many ERROR lines and tracebacks a process logged."""
    return len(system.log_lines(name, "ERROR", "Traceback"))


async def health(system: System, port: int | None = None) -> dict[str, Any] | None:
    """A worker's /health, or None when it does not answer 200."""
    try:
        async with httpx.AsyncClient(timeout=2.0) as http:
            response = await http.get(system.url("/health", port))
    except httpx.HTTPError:
        return None
    return response.json() if response.status_code == 200 else None


async def start_worker(system: System, name: str = "worker", **settings: str) -> None:
    """``System.start_worker`` off the event loop (it blocks until /health is ready)."""
    await asyncio.to_thread(system.start_worker, name, **settings)


async def stop_process(system: System, name: str, sig: int = signal.SIGTERM) -> int:
    """``System.stop`` off the event loop; returns the exit code."""
    return await asyncio.to_thread(system.stop, name, sig)


async def create_topics(
    bootstrap: str, *names: str, partitions: int = 2, configs: dict[str, str] | None = None
) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics(
            [NewTopic(n, partitions, 1, topic_configs=dict(configs or {})) for n in names]
        )
    finally:
        await admin.close()


async def delete_topics(bootstrap: str, *names: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.delete_topics(list(names))
    finally:
        await admin.close()


async def topic_names(bootstrap: str) -> set[str]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        return set(await admin.list_topics())
    finally:
        await admin.close()


async def end_offsets(bootstrap: str, topic: str) -> dict[int, int]:
    """The end offset of every partition of ``topic``."""
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False
    )
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        ends = await consumer.end_offsets(partitions)
    finally:
        await consumer.stop()
    return {tp.partition: offset for tp, offset in ends.items()}


async def holds_within(check: Callable[[], Awaitable[bool]], timeout_s: float) -> bool:
    """Whether ``check`` comes to hold within ``timeout_s`` (a bounded wait that reports
    instead of failing, for what a case measures rather than asserts)."""
    try:
        await eventually(check, timeout_s=timeout_s, what="")
    except AssertionError:
        return False
    return True
