"""Floor benchmark: the capacity ladder through the same Kafka hops, with plain aiokafka relays.

    python -m benchmarks.floor [--rates 100,200,400,700,1000,1400] [--duration 20] [--warmup 3]
        [--models 2] [--fetch-max-wait-ms 100] [--fetch-min-bytes 1] [--linger-ms 0]
        [--p99-ms 200] [--settle-s 10] [--idle-s 5] [--drain-s 30]
        [--bootstrap HOST:PORT] [--logs DIR] [--json-only]

What the machine can do *at all* with the rendezvous's message path, and so how far the real
system is from it. The path is the one of ``benchmarks.capacity``: this load generator
(``benchmarks.openloop.OpenLoop``) -> ``<prefix>-requests`` -> model processes, each its own
consumer group, writing one ScoreBatch per partition batch to ``<prefix>-scores`` on the
request's partition -> a worker that reads requests and scores and writes one Answer per
request to ``<prefix>-answers`` -> this load generator. Here every process is the least that
can carry those messages, a plain aiokafka loop in its own OS process:

- ``relay-model --name N`` (``--models`` of them: scorecard, linear, model-3, ...): decodes each
  request (orjson) for its id, no model call, a constant result; auto-committed offsets.
- ``relay-worker``: decodes requests and scores; answers a request as soon as it has seen both
  the request and the ``scorecard`` score for it. No tables, no persistence, no policy, no
  deadline clock: a request whose score never comes is simply never answered (``missing``).

``--fetch-max-wait-ms``, ``--fetch-min-bytes`` and ``--linger-ms`` apply to every relay (the
load generator keeps OpenLoop's own settings). The broker is a throwaway dev broker started
like ``benchmarks.system.bench_system`` does (or ``--bootstrap``: an existing broker, fresh
topic prefix, the broker then not measured).

After ``--settle-s`` of unmeasured traffic and ``--idle-s`` without traffic, each rate of the
ladder is offered open-loop for a warm-up plus ``--duration`` seconds; the ladder stops at the
first rung that does not hold: answered/s >= 95% of offered, none missing after the drain
wait, end-to-end p99 <= ``--p99-ms``. Prints the capacity benchmark's tables (throughput and
latency, CPU-ms per request of every process incl. broker and load generator, machine busy%)
and one line ``FLOOR_JSON {...}``. The relays themselves run as::

    python -m benchmarks.floor relay-model --name scorecard --bootstrap H:P --topic-prefix P
    python -m benchmarks.floor relay-worker --bootstrap H:P --topic-prefix P
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from aiokafka.structs import ConsumerRecord

from benchmarks import capacity_report as report
from benchmarks.capacity import Options, collect_garbage, run_rung
from benchmarks.openloop import OpenLoop
from benchmarks.proc_usage import CpuMeter
from benchmarks.system import REPO
from streamapp.dev import kafka as devkafka
from streamapp.dev.ports import free_port
from streamapp.kafka_admin import ensure_topics
from streamapp.settings import Settings

DEFAULT_RATES = (100.0, 200.0, 400.0, 700.0, 1000.0, 1400.0)
#: The relay models, in order (``--models 3`` adds ``model-3``); the first one answers.
MODEL_NAMES = ("scorecard", "linear")
PREFERRED = "scorecard"
#: The unmeasured start runs at this rate (or the lowest rung, if lower).
SETTLE_RATE = 25.0
#: What every relay model "scores".
RESULT = {"label": "benign", "score": 0.1}
RELAY_VERSION = "floor-relay"
#: A worker relay keeps at most this many unmatched requests (or scores); the oldest go first.
MAX_WAITING = 200_000
READY_TIMEOUT_S = 60.0
STATS_PREFIX = "FLOOR_RELAY_STATS "


# --------------------------------------------------------------------------------------------
# The relays (each runs as its own OS process)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RelayConfig:
    """Where a relay reads and writes, and its Kafka client tuning."""

    bootstrap: str
    topic_prefix: str
    fetch_max_wait_ms: int
    fetch_min_bytes: int
    linger_ms: float

    def topic(self, role: str) -> str:
        """The topic of a role, named as ``Settings.topic`` names it."""
        return f"{self.topic_prefix}-{role}"

    def consumer(self, group_id: str) -> AIOKafkaConsumer:
        """A consumer in its own group, from the end, auto-committing."""
        return AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap,
            group_id=group_id,
            auto_offset_reset="latest",
            enable_auto_commit=True,
            auto_commit_interval_ms=1000,
            fetch_max_wait_ms=self.fetch_max_wait_ms,
            fetch_min_bytes=self.fetch_min_bytes,
        )

    def producer(self) -> AIOKafkaProducer:
        """A producer with the configured linger (acks=1, aiokafka's default)."""
        return AIOKafkaProducer(bootstrap_servers=self.bootstrap, linger_ms=self.linger_ms)


class ReadyWhenAssigned(ConsumerRebalanceListener):  # type: ignore[misc]
    """Fixes each assigned partition's position, then prints ``<label> ready: ...`` (the
    benchmark waits for that line: requests sent after it are never skipped)."""

    def __init__(self, consumer: AIOKafkaConsumer, label: str) -> None:
        self._consumer = consumer
        self._label = label

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        """Nothing to do: offsets are auto-committed."""

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        """Resolve "latest" now rather than at the first fetch, then report readiness."""
        for partition in assigned:
            await self._consumer.position(partition)
        names = sorted(f"{tp.topic}[{tp.partition}]" for tp in assigned)
        print(f"{self._label} ready: {' '.join(names)}", flush=True)


def request_id_of(raw: bytes | None) -> str | None:
    """The request id of a request message (decoded as a real process must), or None."""
    try:
        data = orjson.loads(raw or b"")
    except orjson.JSONDecodeError:
        return None
    request_id = data.get("request_id") if isinstance(data, dict) else None
    return request_id if isinstance(request_id, str) and request_id else None


def stop_event() -> asyncio.Event:
    """An event set by SIGTERM or SIGINT."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    return stop


@dataclass
class RelayStats:
    """What a relay did, printed as one ``FLOOR_RELAY_STATS`` line when it stops."""

    role: str
    name: str
    counts: dict[str, int] = field(default_factory=dict)

    def add(self, key: str, n: int = 1) -> None:
        """Count ``n`` more of ``key``."""
        self.counts[key] = self.counts.get(key, 0) + n

    def delivered(self, delivery: asyncio.Future[Any]) -> None:
        """A producer delivery finished: count it, or its failure."""
        failed = delivery.cancelled() or delivery.exception() is not None
        self.add("send_errors" if failed else "delivered")

    def print(self) -> None:
        """The stats line the benchmark collects from the relay's log."""
        line = json.dumps({"role": self.role, "name": self.name, **self.counts})
        print(f"{STATS_PREFIX}{line}", flush=True)


async def relay_model(config: RelayConfig, name: str) -> None:
    """Read requests in group ``<prefix>-floor-model-<name>``; per poll batch of a partition,
    write one ScoreBatch (a constant result for each request) on the same partition number."""
    stop = stop_event()
    stats = RelayStats("model", name)
    consumer = config.consumer(f"{config.topic_prefix}-floor-model-{name}")
    producer = config.producer()
    scores_topic, key = config.topic("scores"), name.encode()
    await producer.start()
    await consumer.start()
    consumer.subscribe(
        [config.topic("requests")], listener=ReadyWhenAssigned(consumer, f"model-relay {name}")
    )
    try:
        while not stop.is_set():
            fetched = await consumer.getmany(timeout_ms=100)
            for tp, records in fetched.items():
                read_at = time.time()
                ids = [rid for r in records if (rid := request_id_of(r.value)) is not None]
                stats.add("requests", len(records))
                stats.add("unreadable", len(records) - len(ids))
                if not ids:
                    continue
                finished_at = time.time()
                value = orjson.dumps(
                    {
                        "model": name,
                        "model_version": RELAY_VERSION,
                        "scores": [
                            {
                                "request_id": rid,
                                "read_at": read_at,
                                "finished_at": finished_at,
                                "result": RESULT,
                            }
                            for rid in ids
                        ],
                    }
                )
                delivery = await producer.send(scores_topic, value, key=key, partition=tp.partition)
                delivery.add_done_callback(stats.delivered)
                stats.add("batches")
    finally:
        await producer.stop()
        await consumer.stop()
        stats.print()


class WorkerRelay:
    """Pairs each request with the preferred model's score and answers it, nothing more."""

    def __init__(self, config: RelayConfig, preferred: str) -> None:
        self.config = config
        self.preferred = preferred
        self.stats = RelayStats("worker", "worker")
        self.answers_topic = config.topic("answers")
        #: request id -> the partition it came on, waiting for its score
        self.waiting_requests: dict[str, int] = {}
        #: request id -> (score entry, model version), waiting for its request
        self.waiting_scores: dict[str, tuple[dict[str, Any], str]] = {}
        #: request ids answered (bounded: ids are never reused, so forgetting old ones is safe)
        self.answered: dict[str, None] = {}
        self._producer = config.producer()

    async def run(self) -> None:
        """Consume requests and scores in group ``<prefix>-floor-worker`` until stopped."""
        stop = stop_event()
        consumer = self.config.consumer(f"{self.config.topic_prefix}-floor-worker")
        requests_topic = self.config.topic("requests")
        await self._producer.start()
        await consumer.start()
        consumer.subscribe(
            [requests_topic, self.config.topic("scores")],
            listener=ReadyWhenAssigned(consumer, "worker-relay worker"),
        )
        try:
            while not stop.is_set():
                fetched = await consumer.getmany(timeout_ms=100)
                for tp, records in fetched.items():
                    if tp.topic == requests_topic:
                        await self.on_requests(tp.partition, records)
                    else:
                        await self.on_scores(tp.partition, records)
        finally:
            await self._producer.stop()
            await consumer.stop()
            self.stats.add("requests_without_score", len(self.waiting_requests))
            self.stats.add("scores_without_request", len(self.waiting_scores))
            self.stats.print()

    async def on_requests(
        self, partition: int, records: list[ConsumerRecord[bytes, bytes]]
    ) -> None:
        """Answer the requests whose score is in; keep the others waiting."""
        self.stats.add("requests", len(records))
        for record in records:
            request_id = request_id_of(record.value)
            if request_id is None:
                self.stats.add("unreadable")
            elif request_id in self.answered or request_id in self.waiting_requests:
                self.stats.add("repeated_requests")
            elif (found := self.waiting_scores.pop(request_id, None)) is not None:
                await self.answer(request_id, partition, *found)
            else:
                _bounded_put(self.waiting_requests, request_id, partition, self.stats)

    async def on_scores(self, partition: int, records: list[ConsumerRecord[bytes, bytes]]) -> None:
        """Answer the requests (already read) that the preferred model's scores are for."""
        for record in records:
            try:
                batch = orjson.loads(record.value or b"")
                model, entries = batch["model"], batch.get("scores", [batch])
            except (orjson.JSONDecodeError, KeyError, TypeError):
                self.stats.add("unreadable")
                continue
            self.stats.add("score_batches")
            if model != self.preferred:
                self.stats.add("other_scores", len(entries))
                continue
            self.stats.add("preferred_scores", len(entries))
            version = str(batch.get("model_version", ""))
            for entry in entries:
                request_id = entry.get("request_id")
                if not isinstance(request_id, str) or request_id in self.answered:
                    self.stats.add("scores_ignored")
                elif self.waiting_requests.pop(request_id, None) is not None:
                    await self.answer(request_id, partition, entry, version)
                else:
                    _bounded_put(self.waiting_scores, request_id, (entry, version), self.stats)

    async def answer(
        self, request_id: str, partition: int, entry: dict[str, Any], version: str
    ) -> None:
        """Write the request's one Answer, on the request's partition number."""
        now = time.time()
        value = orjson.dumps(
            {
                "request_id": request_id,
                "status": "ok",
                "model": self.preferred,
                "model_version": version,
                "result": entry.get("result"),
                "rule": "top_priority",
                "policy_version": 0,
                "late": False,
                "answered_at": now,
            }
        )
        delivery = await self._producer.send(
            self.answers_topic, value, key=request_id.encode(), partition=partition
        )
        delivery.add_done_callback(self.stats.delivered)
        _bounded_put(self.answered, request_id, None, self.stats)
        self.stats.add("answered")


async def relay_worker(config: RelayConfig, preferred: str) -> None:
    """Run a :class:`WorkerRelay` (its clients need the running event loop)."""
    await WorkerRelay(config, preferred).run()


def _bounded_put(store: dict[str, Any], key: str, value: Any, stats: RelayStats) -> None:
    """Add to a bounded store, dropping the oldest entry when it is full."""
    store[key] = value
    if len(store) > MAX_WAITING:
        store.pop(next(iter(store)))
        stats.add("evicted")


# --------------------------------------------------------------------------------------------
# The benchmark (this process: broker, relays, load generator)
# --------------------------------------------------------------------------------------------


@dataclass
class FloorSystem:
    """The broker's settings and the relay processes the ladder runs through."""

    settings: Settings
    cold_start_s: float
    broker_pid: int | None  # None when the benchmark uses a broker it did not start
    log_dir: Path
    relays: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    #: each relay's ``FLOOR_RELAY_STATS`` line, collected once they stopped
    relay_stats: dict[str, Any] = field(default_factory=dict)

    def pids(self) -> dict[str, int]:
        """Every process to measure: relays, the broker and this load generator."""
        pids = {name: process.pid for name, process in self.relays.items()}
        if self.broker_pid is not None:
            pids["broker"] = self.broker_pid
        pids["loadgen"] = os.getpid()
        return pids


def model_names(count: int) -> list[str]:
    """``count`` relay model names: scorecard, linear, then model-3, model-4, ..."""
    return [MODEL_NAMES[n] if n < len(MODEL_NAMES) else f"model-{n + 1}" for n in range(count)]


def relay_argv(role: str, settings: Settings, args: argparse.Namespace) -> list[str]:
    """The command line of one relay process."""
    return [
        sys.executable,
        "-m",
        "benchmarks.floor",
        role,
        *("--bootstrap", settings.bootstrap_servers, "--topic-prefix", settings.topic_prefix),
        *("--fetch-max-wait-ms", str(args.fetch_max_wait_ms)),
        *("--fetch-min-bytes", str(args.fetch_min_bytes)),
        *("--linger-ms", f"{args.linger_ms:g}"),
    ]


def spawn(system: FloorSystem, name: str, argv: list[str]) -> subprocess.Popen[bytes]:
    """Start one relay in its own session, logging to ``<name>.log``."""
    with (system.log_dir / f"{name}.log").open("ab") as log:  # the child keeps its own copy
        process = subprocess.Popen(
            argv,
            cwd=REPO,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    system.relays[name] = process
    return process


def wait_ready(system: FloorSystem, name: str, timeout_s: float = READY_TIMEOUT_S) -> None:
    """Block until relay ``name`` logs ``ready:`` (bounded); raise if it exits first."""
    process, log = system.relays[name], system.log_dir / f"{name}.log"
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if " ready: " in log.read_text(errors="replace"):
            return
        if process.poll() is not None:
            raise RuntimeError(f"relay {name} exited ({process.returncode}) during start-up")
        time.sleep(0.1)
    raise RuntimeError(f"relay {name} was not ready within {timeout_s:.0f}s")


def stop_relays(system: FloorSystem) -> dict[str, Any]:
    """SIGTERM every relay (the worker first), reap them; return their stats lines."""
    for process in reversed(system.relays.values()):
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in system.relays.values():
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    found: dict[str, Any] = {}
    for name in system.relays:
        lines = (system.log_dir / f"{name}.log").read_text(errors="replace").splitlines()
        stats = [line for line in lines if line.startswith(STATS_PREFIX)]
        found[name] = json.loads(stats[-1].removeprefix(STATS_PREFIX)) if stats else None
    return found


@contextmanager
def floor_system(args: argparse.Namespace) -> Iterator[FloorSystem]:
    """A broker (started as ``bench_system`` starts it, or ``--bootstrap``), the topics, and
    the relays, ready; everything this started is stopped on exit."""
    root = Path(tempfile.mkdtemp(prefix="rendezvous-floor-"))
    kafka_port = free_port()
    prefix = f"floor-{uuid.uuid4().hex[:8]}"
    settings = Settings(
        kafka_dir=root / "kafka",
        kafka_libs_dir=REPO / ".cache" / "kafka" / "libs",
        kafka_port=kafka_port,
        kafka_controller_port=free_port(),
        bootstrap_servers=args.bootstrap or f"127.0.0.1:{kafka_port}",
        topic_prefix=prefix,
        app_id=prefix,
        data_dir=root / "data",
    )
    log_dir = root / "logs"
    log_dir.mkdir()
    system = FloorSystem(settings, 0.0, None, log_dir)
    try:
        if args.bootstrap is None:
            system.cold_start_s = devkafka.start(settings, timeout_s=120, quiet=True)
            system.broker_pid = devkafka.running_pid(devkafka.BrokerPaths.from_settings(settings))
        asyncio.run(ensure_topics(settings))
        spawn(system, "worker", relay_argv("relay-worker", settings, args))
        for name in model_names(args.models):
            spawn(
                system,
                f"model-{name}",
                [*relay_argv("relay-model", settings, args), "--name", name],
            )
        for name in system.relays:
            wait_ready(system, name)
        yield system
    except RuntimeError:
        for log in sorted(log_dir.glob("*.log")):
            print(f"--- {log.name}\n{log.read_text(errors='replace')[-3000:]}")
        raise
    finally:
        system.relay_stats = stop_relays(system)
        if args.logs is not None:
            shutil.copytree(log_dir, args.logs, dirs_exist_ok=True)
        if args.bootstrap is None:
            devkafka.stop(settings)
        shutil.rmtree(root, ignore_errors=True)


def held(row: dict[str, Any], p99_ms: float) -> bool:
    """The floor's rule: answered/s >= 95% of offered, none missing, e2e p99 <= ``p99_ms``."""
    e2e = row["e2e_ms"]
    return (
        row["answered_per_s"] >= report.HOLD_THROUGHPUT * row["offered_per_s"]
        and row["missing"] == 0
        and e2e is not None
        and e2e["p99"] <= p99_ms
    )


async def run_floor(system: FloorSystem, options: Options, *, quiet: bool) -> dict[str, Any]:
    """Settle, measure idle, then climb the ladder until a rung does not hold."""
    meter = CpuMeter(system.pids())
    loop = OpenLoop(
        system.settings,
        preferred=PREFERRED,
        deadline_ms=options.deadline_ms,
        run=f"floor-{uuid.uuid4().hex[:6]}",
    )
    await loop.start()
    result: dict[str, Any] = {"processes": system.pids(), "rungs": []}
    gc.disable()  # collected between phases only: see benchmarks.capacity.collect_garbage
    try:
        if options.settle_s > 0:
            await loop.send_at(min(SETTLE_RATE, *options.rates), options.settle_s, "settle")
            await loop.drain({"settle"}, options.drain_s)
        if options.idle_s > 0:
            collect_garbage()
            meter.start()
            await asyncio.sleep(options.idle_s)
            result["idle"] = report.summarize_idle(meter.read())
        for n, rate in enumerate(options.rates):
            if not quiet:
                print(
                    f"[floor] {rate:g}/s: {options.warmup_s:g} s warm-up, then "
                    f"{options.duration_s:g} s measured (from {time.strftime('%H:%M:%S')})",
                    flush=True,
                )
            row = await run_rung(loop, meter, options, rate, options.duration_s, f"r{n}")
            row["held_capacity_rule"] = row["held"]  # also >= 99% within --p99-ms
            row["held"] = held(row, options.deadline_ms)
            result["rungs"].append(row)
            if not quiet:
                print(_rung_line(row), flush=True)
            if not row["held"]:
                break
        rungs = result["rungs"]
        top = next((r for r in reversed(rungs) if r["held"]), None)
        result["floor"] = {
            "held_rate_per_s": top["offered_per_s"] if top else None,
            "answered_per_s": top["answered_per_s"] if top else None,
            "first_failed_rate_per_s": next(
                (r["offered_per_s"] for r in rungs if not r["held"]), None
            ),
        }
        result["foreign_answers"] = loop.foreign_answers
    finally:
        gc.enable()
        await loop.stop()
    return result


def _rung_line(row: dict[str, Any]) -> str:
    e2e = row["e2e_ms"] or {"p50": 0.0, "p99": 0.0}
    cpu = ", ".join(
        f"{name} {ms:.3f}" for name, ms in row["cpu_ms_per_request"].items() if ms is not None
    )
    return (
        f"[floor] {row['offered_per_s']:g}/s: sent {row['sent_per_s']}/s, answered "
        f"{row['answered_per_s']}/s, missing {row['missing']}, e2e p50 {e2e['p50']} p99 "
        f"{e2e['p99']} ms, busy {row['machine_busy_pct']:.1f}%, held {row['held']}; "
        f"CPU ms/request: {cpu}"
    )


def run_benchmark(args: argparse.Namespace) -> None:
    """Run the ladder and print the tables and the ``FLOOR_JSON`` line."""
    options = Options(
        rates=tuple(float(r) for r in args.rates.split(",")),
        duration_s=args.duration,
        warmup_s=args.warmup,
        deadline_ms=args.p99_ms,
        overload_s=0.0,
        recover_s=0.0,
        recover_rate=None,
        drain_s=args.drain_s,
        settle_s=args.settle_s,
        idle_s=args.idle_s,
    )
    with floor_system(args) as system:
        print(f"FLOOR_PIDS {json.dumps(system.pids())}", flush=True)
        result = asyncio.run(run_floor(system, options, quiet=args.json_only))
    result["relay_stats"] = system.relay_stats
    result = {
        "options": {
            **{k: v for k, v in vars(args).items() if k != "command"},
            "rates": list(options.rates),
            "logs": str(args.logs or ""),
        },
        "preferred": PREFERRED,
        "models": model_names(args.models),
        "cpus": os.cpu_count(),
        "broker_cold_start_s": round(system.cold_start_s, 2),
        **result,
    }
    if not args.json_only:
        print()
        print(report.rung_table(result["rungs"], result.get("idle")))
        print(f"floor: {result['floor']}")
    print(f"FLOOR_JSON {json.dumps(result)}", flush=True)


def _tuning(parser: argparse.ArgumentParser) -> None:
    """The Kafka client options every relay takes."""
    parser.add_argument("--fetch-max-wait-ms", type=int, default=100)
    parser.add_argument("--fetch-min-bytes", type=int, default=1)
    parser.add_argument("--linger-ms", type=float, default=0.0)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line (see the module docstring)."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rates", default=",".join(f"{r:g}" for r in DEFAULT_RATES))
    parser.add_argument("--duration", type=float, default=20.0, help="seconds measured per rung")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds before each rung")
    parser.add_argument("--models", type=int, default=2, help="relay model processes")
    parser.add_argument("--p99-ms", type=int, default=200, help="e2e p99 a rung may not exceed")
    parser.add_argument("--settle-s", type=float, default=10.0, help="unmeasured start")
    parser.add_argument("--idle-s", type=float, default=5.0, help="CPU with no traffic")
    parser.add_argument("--drain-s", type=float, default=30.0, help="wait for answers per rung")
    parser.add_argument("--bootstrap", default=None, help="use this broker instead of starting one")
    parser.add_argument("--logs", type=Path, default=None, help="keep the relays' logs here")
    parser.add_argument("--json-only", action="store_true", help="print only the JSON line")
    _tuning(parser)
    roles = parser.add_subparsers(dest="command")
    for role in ("relay-model", "relay-worker"):
        relay = roles.add_parser(role, help=f"run one {role.removeprefix('relay-')} relay")
        relay.add_argument("--bootstrap", required=True)
        relay.add_argument("--topic-prefix", required=True)
        _tuning(relay)
        if role == "relay-model":
            relay.add_argument("--name", required=True)
        else:
            relay.add_argument("--preferred", default=PREFERRED)
    args = parser.parse_args(argv)
    if args.command is None and args.models < 1:
        parser.error("--models must be at least 1 (the first one answers)")
    return args


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark, or one relay (``relay-model`` / ``relay-worker``)."""
    args = parse_args(argv)
    if args.command is None:
        run_benchmark(args)
        return
    config = RelayConfig(
        bootstrap=args.bootstrap,
        topic_prefix=args.topic_prefix,
        fetch_max_wait_ms=args.fetch_max_wait_ms,
        fetch_min_bytes=args.fetch_min_bytes,
        linger_ms=args.linger_ms,
    )
    if args.command == "relay-model":
        asyncio.run(relay_model(config, args.name))
    else:
        asyncio.run(relay_worker(config, args.preferred))


if __name__ == "__main__":
    main()
