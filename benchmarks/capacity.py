"""Capacity benchmark: an open-loop rate ladder, then overload and recovery, on real processes.

    python -m benchmarks.capacity [--rates 50,100,200,400,700,1000,1400] [--duration 20]
        [--warmup 3] [--deadline-ms 200] [--models scorecard,linear] [--in-process rules]
        [--registry JSON]
        [--workers 1] [--overload-s 30] [--recover-s 30] [--recover-rate R] [--drain-s 30]
        [--settle-s 30] [--settle-rate 200] [--idle-s 5] [--bootstrap HOST:PORT] [--logs DIR]
        [--json-only]
    python -m benchmarks.capacity --hold-rate 120 --hold-s 40   # one rung, for a profiler
        # [--pin-worker]: the worker alone on one CPU, so py-spy's samples are its CPU time
    python -m benchmarks.capacity --hold-rate 200 --with-console   # the rung twice: as is,
        # then with the console running and a headless browser polling every page
        # [--no-render | --browser-idle]: no browser drawing, or drawing with idle CPU only

Starts a broker (or uses ``--bootstrap``), ``--workers`` workers and one process per
``--models`` entry, each the argv of ``rendezvous model`` (so
``--models "scorecard,linear,mlp forest canary"`` runs mlp, forest and canary in one process),
then offers each rate of the ladder
open-loop (requests leave on a wall-clock schedule whatever the answers do) for a warm-up plus
``--duration`` seconds, and stops climbing at the first rung that does not hold: answered/s >=
95% of offered, >= 99% answered ``ok`` by the preferred model within the deadline (as the
client saw it), none missing after the drain wait. Then it offers twice the highest rate that
held for ``--overload-s``, and the lowest rate for ``--recover-s``.
Before the ladder, ``--settle-s`` of unmeasured traffic at ``--settle-rate`` (or the highest
rate asked for, if lower) gets the processes past their start-up: first-use paths, and the
broker's JIT, which needs thousands of requests (at 200/s a fresh broker's CPU fell from 730 to
260 ms a second over its first 15 s of traffic, and until then its compiler threads compete
with the worker for the two cores). Then ``--idle-s`` with no traffic measures each process's
CPU floor.

Per rung: offered/s, achieved send rate, answered/s, missing, preferred-on-time share, answers
by status/model/rule, end-to-end (send -> answer), direct (send -> preferred Score read from
the scores topic) and rendezvous-added (answer - that Score) p50/p99, and CPU-ms per request
of every process (worker(s), models, broker, this load generator), from /proc/<pid>/stat over
the rung. Prints tables, then one line ``CAPACITY_JSON {...}`` with everything.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from benchmarks import capacity_report as report
from benchmarks.openloop import OpenLoop
from benchmarks.proc_usage import CpuMeter, children_running
from benchmarks.system import BenchSystem, bench_system
from streamapp.dev.demo import ensure_trained, wait_for_worker
from streamapp.dev.ports import free_port
from streamapp.web.reporter import REPORT_MODULE

DEFAULT_RATES = (50.0, 100.0, 200.0, 400.0, 700.0, 1000.0, 1400.0)
DEFAULT_REGISTRY: dict[str, dict[str, Any]] = {
    "scorecard": {"state": "live", "priority": 10},
    "rules": {"state": "live", "priority": 0, "backstop": True},
    "linear": {"state": "shadow", "priority": 5},
}
#: The unmeasured start runs at this rate (or the highest rung, if lower): 6,000 requests in the
#: default 30 s, enough for the broker's JIT to settle. Its backlog, if any, drains unmeasured.
SETTLE_RATE = 200.0


@dataclass(frozen=True)
class Options:
    """What to run: the ladder (or one held rate), the overload and the recovery."""

    rates: tuple[float, ...]
    duration_s: float
    warmup_s: float
    deadline_ms: int
    overload_s: float
    recover_s: float
    recover_rate: float | None
    drain_s: float
    settle_s: float = 30.0
    settle_rate: float = SETTLE_RATE
    idle_s: float = 5.0
    hold_rate: float | None = None
    hold_s: float = 40.0
    with_console: bool = False
    render: bool = True
    browser_idle: bool = False
    pin_worker: bool = False


def preferred_model(registry: dict[str, dict[str, Any]]) -> str:
    """The live, non-backstop model of the highest priority: the one that should answer."""
    live = [
        (seed.get("priority", 0), name)
        for name, seed in registry.items()
        if seed.get("state", "live") == "live" and not seed.get("backstop", False)
    ]
    if not live:
        raise SystemExit("the registry has no live non-backstop model to prefer")
    return max(live)[1]


def start_extra_workers(system: BenchSystem, count: int) -> list[str]:
    """Start ``count`` more workers of the same app (own web port and data dir)."""
    urls = [system.base_url]
    root = system.settings.data_dir.parent
    for n in range(2, count + 2):
        port = free_port()
        process = system.children.spawn(
            f"worker-{n}",
            "worker",
            "--loglevel",
            "warn",
            env={"RENDEZVOUS_WEB_PORT": str(port), "RENDEZVOUS_DATA_DIR": str(root / f"data-{n}")},
        )
        wait_for_worker(f"http://127.0.0.1:{port}/health", process)
        urls.append(f"http://127.0.0.1:{port}")
    return urls


def wait_for_partition_spread(system: BenchSystem, workers: int, timeout_s: float = 120) -> None:
    """Block until ``workers`` workers each hold mailbox partitions (the group has settled)."""
    topic = f"{system.settings.app_id}-closed-mailboxes-changelog"
    wanted = min(workers, system.settings.partitions)
    holding = 0
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            routes = httpx.get(f"{system.base_url}/router/", timeout=2).json()
            holding = sum(1 for tables in routes.values() if tables.get(topic))
        except (httpx.HTTPError, ValueError):
            holding = 0
        if holding >= wanted:
            return
        time.sleep(0.5)
    raise RuntimeError(f"only {holding} of {wanted} workers hold partitions after {timeout_s}s")


def collect_garbage() -> None:
    """Collect now, between measurements, and keep the survivors out of later collections.

    With automatic collection on, a full collection over this process's growing record of
    requests stalls its event loop (sender lag p99 ~100 ms at 1,000/s), which would delay
    sends and the reading of answers, and so inflate the latencies measured.
    """
    gc.collect()
    gc.freeze()


def report_process_of(worker: int, timeout_s: float = 30.0) -> int | None:
    """The worker's statistics-report process, waited for (bounded); None if it has none."""
    deadline = time.monotonic() + timeout_s
    while (
        not (found := children_running(worker, REPORT_MODULE.encode()))
        and time.monotonic() < deadline
    ):
        time.sleep(0.05)
    return found[0] if found else None


def process_pids(system: BenchSystem) -> dict[str, int]:
    """Every process to measure: workers (and their report processes), models, the broker and
    this load generator."""
    pids = {name: process.pid for name, process in system.children.started}
    for name, pid in list(pids.items()):
        if name.startswith("worker") and (reports := report_process_of(pid)) is not None:
            pids[f"{name}-reports"] = reports
    if system.broker_pid is not None:
        pids["broker"] = system.broker_pid
    pids["loadgen"] = os.getpid()
    return pids


def pin_worker_alone(pids: dict[str, int]) -> None:
    """The worker's threads alone on the last CPU, every other process measured on the others.

    For profiling: py-spy counts a thread that waits for a CPU as busy, so on two shared cores
    a profile of the worker is weighted by where it gets preempted (right after its socket
    writes, which wake the broker), not by its CPU time. Alone on a CPU it waits for none.
    """
    cpus = sorted(os.sched_getaffinity(0))
    workers = [p for n, p in pids.items() if n.startswith("worker") and not n.endswith("-reports")]
    if len(cpus) < 2 or len(workers) != 1:
        raise SystemExit("--pin-worker needs one worker and at least two CPUs")
    alone, others = {cpus[-1]}, set(cpus[:-1])
    for pid in pids.values():
        for task in Path(f"/proc/{pid}/task").iterdir():  # every thread it has now
            os.sched_setaffinity(int(task.name), alone if pid == workers[0] else others)


async def run_rung(
    loop: OpenLoop, meter: CpuMeter, options: Options, rate: float, seconds: float, tag: str
) -> dict[str, Any]:
    """Warm up, measure ``seconds`` at ``rate``, drain; return the rung's figures."""
    collect_garbage()
    if options.warmup_s > 0:
        await loop.send_at(rate, options.warmup_s, f"{tag}w")
    meter.start()
    window = await loop.send_at(rate, seconds, tag)
    usage = meter.read()
    await loop.drain({f"{tag}w", tag}, options.drain_s)
    everything = list(loop.outcomes.values())
    return report.summarize_rung(
        window,
        [o for o in everything if o.phase == tag],
        everything,
        preferred=loop.preferred,
        deadline_ms=options.deadline_ms,
        usage=usage,
    )


async def run_capacity(
    system: BenchSystem, options: Options, preferred: str, *, quiet: bool
) -> dict[str, Any]:
    """The ladder (or one held rate), then overload and recovery; return the report."""
    pids = process_pids(system)
    if options.pin_worker:
        pin_worker_alone(pids)
    meter = CpuMeter(pids)
    loop = OpenLoop(
        system.settings, preferred=preferred, deadline_ms=options.deadline_ms, run=_run_id()
    )
    await loop.start()
    result: dict[str, Any] = {"processes": pids, "worker_pinned": options.pin_worker, "rungs": []}
    gc.disable()  # collected between phases only: see collect_garbage
    try:
        rates = (options.hold_rate,) if options.hold_rate else options.rates
        if options.settle_s > 0:  # past process start-up and the broker's JIT warm-up
            await loop.send_at(min(options.settle_rate, max(rates)), options.settle_s, "settle")
            await loop.drain({"settle"}, options.drain_s)
        if options.idle_s > 0:
            collect_garbage()
            meter.start()
            await asyncio.sleep(options.idle_s)
            result["idle"] = report.summarize_idle(meter.read())
        seconds = options.hold_s if options.hold_rate else options.duration_s
        plan = [(rate, False) for rate in rates]
        if options.with_console:  # the same rate side by side: as is, then polled
            plan = [(rates[0], False), (rates[0], True)]
        with ExitStack() as polling:
            for n, (rate, polled) in enumerate(plan):
                poll: dict[str, Any] = {}
                if polled:
                    poll = polling.enter_context(
                        console_polled(system, render=options.render, idle=options.browser_idle)
                    )
                if not quiet:
                    print(
                        f"[capacity] {rate:g}/s{' with the console polled' if polled else ''}: "
                        f"{options.warmup_s:g} s warm-up, then {seconds:g} s measured "
                        f"(from {time.strftime('%H:%M:%S')})",
                        flush=True,
                    )
                row = await run_rung(loop, meter, options, rate, seconds, f"r{n}")
                row["console_polled"] = polled
                if polled:
                    polling.close()  # the browser's own count arrives as it stops
                    row["poller"] = poll
                result["rungs"].append(row)
                if not quiet:
                    print(_rung_line(row), flush=True)
                if not row["held"] and not options.with_console:
                    break
        held = [r for r in result["rungs"] if r["held"]]
        capacity = held[-1] if held else None
        result["capacity"] = {
            "held_rate_per_s": capacity["offered_per_s"] if capacity else None,
            "answered_per_s": capacity["answered_per_s"] if capacity else None,
            "first_failed_rate_per_s": next(
                (r["offered_per_s"] for r in result["rungs"] if not r["held"]), None
            ),
        }
        if options.hold_rate is None and options.overload_s > 0:
            result.update(await _overload_and_recovery(loop, meter, options, capacity))
        result["foreign_answers"] = loop.foreign_answers
    finally:
        gc.enable()
        await loop.stop()
    return result


async def _overload_and_recovery(
    loop: OpenLoop, meter: CpuMeter, options: Options, capacity: dict[str, Any] | None
) -> dict[str, Any]:
    """Twice the capacity that held (or the lowest rate), then the recovery rate."""
    base = capacity["offered_per_s"] if capacity else options.rates[0]
    recover_rate = options.recover_rate or options.rates[0]
    collect_garbage()
    meter.start()
    overload = await loop.send_at(2 * base, options.overload_s, "overload")
    overload_usage = meter.read()
    recovery = None
    if options.recover_s > 0:
        recovery = await loop.send_at(recover_rate, options.recover_s, "recovery")
    await loop.drain({"overload", "recovery"}, options.drain_s + 2 * options.overload_s)
    everything = list(loop.outcomes.values())
    found: dict[str, Any] = {
        "overload": report.summarize_overload(
            overload,
            [o for o in everything if o.phase == "overload"],
            everything,
            capacity_per_s=capacity["answered_per_s"] if capacity else None,
            deadline_ms=options.deadline_ms,
            usage=overload_usage,
        ),
        "recovery": None,
    }
    if recovery is not None:
        found["recovery"] = report.summarize_recovery(
            recovery,
            [o for o in everything if o.phase == "recovery"],
            everything,
            overload_ended=overload.ended,
            deadline_ms=options.deadline_ms,
        )
    return found


@contextmanager
def console_polled(
    system: BenchSystem, *, render: bool = True, idle: bool = False
) -> Iterator[dict[str, Any]]:
    """The console and a headless browser polling every page of it while the block runs; the
    dict yielded gets the browser's count of callbacks (``POLLED``) when it stops. Without
    ``render``, the pages' callbacks are sent on the same schedule with no browser drawing;
    with ``idle``, the browser draws with only the CPU nothing else wants."""
    console = system.start_console()
    poller = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "benchmarks.console_poller",
            console,
            *([] if render else ["--no-render"]),
            *(["--browser-idle"] if idle else []),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert poller.stdout is not None
    first = poller.stdout.readline()  # the poller prints POLLING once every page has drawn
    if "POLLING" not in first:
        poller.kill()
        raise RuntimeError(f"the console poller did not start: {first!r}")
    polled: dict[str, Any] = {}
    try:
        yield polled
    finally:
        poller.send_signal(signal.SIGTERM)
        out, _ = poller.communicate(timeout=60)
        for line in out.splitlines():
            if line.startswith("POLLED "):
                polled.update(json.loads(line.removeprefix("POLLED ")))


def _run_id() -> str:
    return f"cap-{uuid.uuid4().hex[:6]}"


def _rung_line(row: dict[str, Any]) -> str:
    e2e = row["e2e_ms"] or {"p50": 0.0, "p99": 0.0}
    return (
        f"[capacity] {row['offered_per_s']:g}/s: sent {row['sent_per_s']}/s, answered "
        f"{row['answered_per_s']}/s, missing {row['missing']}, preferred on time "
        f"{100 * row['preferred_on_time_share']:.2f}%, e2e p50 {e2e['p50']} p99 {e2e['p99']} ms, "
        f"held {row['held']}"
    )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line (see the module docstring)."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--models",
        default="scorecard,linear",
        help="model processes, comma-separated, each the argv of 'rendezvous model' "
        "('mlp forest canary': three models in one process)",
    )
    parser.add_argument(
        "--in-process",
        default="rules",
        help="models the worker runs itself as each mailbox opens (the backstop); '' for none",
    )
    parser.add_argument("--registry", default=None, help="RENDEZVOUS_MODELS JSON override")
    parser.add_argument("--rates", default=",".join(f"{r:g}" for r in DEFAULT_RATES))
    parser.add_argument("--duration", type=float, default=20.0, help="seconds measured per rung")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds before each rung")
    parser.add_argument("--deadline-ms", type=int, default=200)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--overload-s", type=float, default=30.0, help="0: no overload phase")
    parser.add_argument("--recover-s", type=float, default=30.0, help="0: no recovery phase")
    parser.add_argument("--recover-rate", type=float, default=None, help="default: lowest rate")
    parser.add_argument(
        "--settle-s", type=float, default=30.0, help="unmeasured traffic first; 0: none"
    )
    parser.add_argument(
        "--settle-rate",
        type=float,
        default=SETTLE_RATE,
        help="rate of the unmeasured traffic (capped at the highest rate asked for)",
    )
    parser.add_argument("--idle-s", type=float, default=5.0, help="CPU with no traffic")
    parser.add_argument("--drain-s", type=float, default=30.0, help="wait for answers per rung")
    parser.add_argument("--hold-rate", type=float, default=None, help="run just this one rate")
    parser.add_argument("--hold-s", type=float, default=40.0, help="seconds at --hold-rate")
    parser.add_argument(
        "--with-console",
        action="store_true",
        help="with --hold-rate: run it again with the console polled by a headless browser",
    )
    parser.add_argument(
        "--no-render",
        action="store_true",
        help="with --with-console: send the pages' callbacks, with no browser drawing them",
    )
    parser.add_argument(
        "--browser-idle",
        action="store_true",
        help="with --with-console: the browser draws with only the CPU nothing else wants "
        "(SCHED_IDLE, its session at the lowest priority), standing in for another computer",
    )
    parser.add_argument(
        "--pin-worker",
        action="store_true",
        help="the worker alone on one CPU, the other processes on the rest (for profiling it: "
        "py-spy counts time spent waiting for a CPU as busy)",
    )
    parser.add_argument("--bootstrap", default=None, help="use this broker instead of starting one")
    parser.add_argument("--logs", type=Path, default=None, help="keep the processes' logs here")
    parser.add_argument("--json-only", action="store_true", help="print only the JSON line")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark and print the tables and the ``CAPACITY_JSON`` line."""
    args = parse_args(argv)
    registry = json.loads(args.registry) if args.registry else DEFAULT_REGISTRY
    preferred = preferred_model(registry)
    models = [tuple(shlex.split(spec)) for spec in args.models.split(",") if spec.strip()]
    options = Options(
        rates=tuple(float(r) for r in args.rates.split(",")),
        duration_s=args.duration,
        warmup_s=args.warmup,
        deadline_ms=args.deadline_ms,
        overload_s=args.overload_s,
        recover_s=args.recover_s,
        recover_rate=args.recover_rate,
        drain_s=args.drain_s,
        settle_s=args.settle_s,
        settle_rate=args.settle_rate,
        idle_s=args.idle_s,
        hold_rate=args.hold_rate,
        hold_s=args.hold_s,
        with_console=args.with_console,
        render=not args.no_render,
        browser_idle=args.browser_idle,
        pin_worker=args.pin_worker,
    )
    if args.with_console and args.hold_rate is None:
        raise SystemExit("--with-console needs --hold-rate (one rate, run twice side by side)")
    if args.no_render and args.browser_idle:
        raise SystemExit("--no-render draws nothing: --browser-idle applies to a browser drawing")
    with bench_system(
        models,
        bootstrap=args.bootstrap,
        prepare=ensure_trained,
        models=json.dumps(registry),
        default_deadline_ms=str(args.deadline_ms),
        in_process_models=args.in_process,
    ) as system:
        if args.workers > 1:
            start_extra_workers(system, args.workers - 1)
            wait_for_partition_spread(system, args.workers)
        pids = process_pids(system)
        print(f"CAPACITY_PIDS {json.dumps(pids)}", flush=True)
        try:
            result = asyncio.run(run_capacity(system, options, preferred, quiet=args.json_only))
        finally:
            if args.logs is not None:  # the system's own folder goes when it stops
                shutil.copytree(system.children.log_dir, args.logs, dirs_exist_ok=True)
        cold_start = system.cold_start_s
    result = {
        "options": {**vars(args), "rates": list(options.rates), "logs": str(args.logs or "")},
        "registry": registry,
        "preferred": preferred,
        "cpus": os.cpu_count(),
        "broker_cold_start_s": round(cold_start, 2),
        **result,
    }
    if not args.json_only:
        print()
        print(report.rung_table(result["rungs"], result.get("idle")))
        for name in ("overload", "recovery"):
            if result.get(name):
                print(report.phase_text(name, result[name]))
        print(f"capacity: {result['capacity']}")
    print(f"CAPACITY_JSON {json.dumps(result)}", flush=True)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
