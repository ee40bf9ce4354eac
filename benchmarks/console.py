"""Console page load and callback latency with 8 models and 24 hours of per-minute buckets.

    python -m benchmarks.console [--hours 24] [--per-minute 30] [--repeat 5]

A throwaway broker and worker; ``--hours`` of synthetic observations for 8 models are folded by
the worker's own statistics code into one bucket a minute, written to the statistics table's
changelog, and recovered by a restarted worker; then ``rendezvous console``. Headless Chromium times
each page until its figures are drawn, then picks the page's widest window (24 hours) and times
that too; every Dash callback the pages made (the last of each, so the widest window) is then
replayed 20 times to time it alone.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import statistics
import time
from typing import Any

import httpx
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient

from benchmarks.system import BenchSystem, bench_system, percentiles
from streamapp.dev.demo import wait_for_worker
from streamapp.stats.buckets import BUCKET_MS, Accumulator, bucket_of

MODELS = [f"model-{n}" for n in range(8)]
PAGES = ["/", "/requests", "/models", "/latency", "/agreement", "/inspect"]
#: Pages with a window picker, whose widest window is timed too.
WINDOWED = ("/", "/latency", "/agreement")
WIDEST = "last 24 hours"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def launch_chromium(playwright: Any, *extra_args: str) -> Any:
    """Debian's headless Chromium, as the browser tests run it."""
    return playwright.chromium.launch(
        executable_path=CHROMIUM, headless=True, args=[*CHROMIUM_ARGS, *extra_args]
    )


def observation(at: int, n: int) -> dict[str, Any]:
    scores = []
    for i, model in enumerate(MODELS):
        score = ((n * 31 + i * 17) % 100) / 100
        scores.append(
            {
                "model": model,
                "state": "live" if i < 4 else "shadow",
                "ok": i != 7 or n % 9,
                "result": {"label": "malignant" if score > 0.5 else "benign", "score": score},
                "eval_ms": 0.5 + (i + 1) * ((n * 7 + i) % 30),
                "rtt_ms": 3 + (n + i) % 90,
                "would_have_won": i >= 4 and n % 5 == 0,
            }
        )
    return {
        "kind": "decision",
        "at": at,
        "status": "ok",
        "rule": "top_priority",
        "winner": MODELS[n % 4],
        "result": scores[n % 4]["result"],
        "late": False,
        "deadline_missed": n % 97 == 0,
        "scores": scores,
    }


def buckets(hours: int, per_minute: int, now_ms: int) -> list[tuple[int, dict[str, Any]]]:
    """One bucket a minute for the last ``hours``, each folded from ``per_minute``
    observations by the worker's own pure code (``Accumulator``)."""
    minutes = hours * 60
    folded = []
    count = 0
    for step in range(minutes):
        minute = bucket_of(now_ms - (minutes - 1 - step) * BUCKET_MS)
        accumulator = Accumulator(None, minute)
        for n in range(per_minute):
            at = minute + (n * BUCKET_MS) // per_minute
            accumulator.add({**observation(at, count), "e2e_ms": 5 + count % 40}, None)
            count += 1
        folded.append((minute, accumulator.dump()))
    return folded


async def stats_changelog(bootstrap: str, app_id: str) -> str:
    """The statistics table's changelog topic (Faust names it after the app id)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        topics = await admin.list_topics()
    finally:
        await admin.close()
    (topic,) = [t for t in topics if t.startswith(app_id) and t.endswith("stats-buckets-changelog")]
    return str(topic)


async def feed(bootstrap: str, topic: str, folded: list[tuple[int, dict[str, Any]]]) -> None:
    """Write the buckets to partition 0 of the statistics changelog, as the worker would."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5)
    await producer.start()
    try:
        for n, (minute, bucket) in enumerate(folded):
            key = f"0:{minute}".encode()
            await producer.send(topic, json.dumps(bucket).encode(), key=key, partition=0)
            if n % 240 == 239:
                print(f"[console] wrote {n + 1} of {len(folded)} minute buckets", flush=True)
        await producer.flush()
    finally:
        await producer.stop()


def restart_worker(system: BenchSystem) -> None:
    """Stop the worker and start another: it recovers the statistics table from its changelog."""
    worker = next(p for name, p in system.children.started if name == "worker")
    worker.send_signal(signal.SIGTERM)
    worker.wait(timeout=60)
    again = system.children.spawn("worker", "worker", "--loglevel", "warn")
    wait_for_worker(f"{system.base_url}/health", again)


def main() -> None:
    from playwright.sync_api import sync_playwright

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=int, default=24, help="hours of statistics to hold")
    parser.add_argument("--per-minute", type=int, default=30)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with bench_system([]) as system:
        settings = system.settings
        folded = buckets(args.hours, args.per_minute, int(time.time() * 1000))
        total = args.hours * 60 * args.per_minute
        changelog = asyncio.run(stats_changelog(settings.bootstrap_servers, settings.app_id))
        asyncio.run(feed(settings.bootstrap_servers, changelog, folded))
        restart_worker(system)
        deadline = time.monotonic() + 120 + total / 200
        window = {"since": int(time.time() * 1000) - args.hours * 3_600_000 - 120_000}
        while time.monotonic() < deadline:
            body = httpx.get(f"{system.base_url}/v1/stats", params=window, timeout=30).json()
            if body["totals"]["answers"] >= total:
                break
            time.sleep(0.5)
        else:
            print(f"[console] only {body['totals']['answers']} of {total} folded in time")
        stats_ms = []
        for _ in range(30):
            started = time.perf_counter()
            httpx.get(
                f"{system.base_url}/v1/stats", params={**window, "buckets": 1}, timeout=30
            ).raise_for_status()
            stats_ms.append((time.perf_counter() - started) * 1000)
        console = system.start_console()
        loads: dict[str, list[float]] = {p: [] for p in PAGES}
        widest: dict[str, list[float]] = {p: [] for p in WINDOWED}
        calls: list[tuple[str, str]] = []
        with sync_playwright() as playwright:
            browser = launch_chromium(playwright)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.on(
                "request",
                lambda r: (
                    calls.append((r.url, r.post_data or ""))
                    if "_dash-update-component" in r.url
                    else None
                ),
            )
            for _ in range(args.repeat):
                for path in PAGES:
                    started = time.perf_counter()
                    page.goto(console + path)
                    page.wait_for_load_state("networkidle")
                    if path in ("/latency", "/agreement", "/"):
                        page.wait_for_selector(".js-plotly-plot .main-svg", timeout=60_000)
                    loads[path].append((time.perf_counter() - started) * 1000)
                    if path in WINDOWED:
                        started = time.perf_counter()
                        with page.expect_response(
                            lambda r: "_dash-update-component" in r.url, timeout=60_000
                        ):
                            page.click(f"text={WIDEST}")
                        widest[path].append((time.perf_counter() - started) * 1000)
            browser.close()
        callback_ms: dict[str, list[float]] = {}
        seen: dict[str, str] = {}
        for _url, body in calls:
            output = json.loads(body).get("output", "?")
            seen[output] = body  # the last: after the widest window was picked
        with httpx.Client(timeout=30) as client:
            for output, body in seen.items():
                for _ in range(20):
                    started = time.perf_counter()
                    client.post(
                        console + "/_dash-update-component",
                        content=body,
                        headers={"Content-Type": "application/json"},
                    )
                    callback_ms.setdefault(output, []).append(
                        (time.perf_counter() - started) * 1000
                    )
    report = {
        "models": len(MODELS),
        "buckets": args.hours * 60,
        "observations": total,
        "worker_stats_ms": percentiles(stats_ms),
        "page_load_ms": {p: round(statistics.median(v), 1) for p, v in loads.items()},
        "widest_window_ms": {p: round(statistics.median(v), 1) for p, v in widest.items()},
        "callback_ms": {
            o[:60]: {"p50": round(statistics.median(v), 1), "p99": round(max(v), 1)}
            for o, v in callback_ms.items()
        },
    }
    print(
        f"GET /v1/stats?buckets=1 (8 models x {args.hours * 60} minutes): p50 "
        f"{report['worker_stats_ms']['p50']} ms, p99 {report['worker_stats_ms']['p99']} ms"
    )
    for path, value in report["page_load_ms"].items():
        print(f"page {path:<11} median load {value} ms (until figures are drawn)")
    for path, value in report["widest_window_ms"].items():
        print(f"page {path:<11} median {value} ms to redraw with {WIDEST}")
    slowest = sorted(report["callback_ms"].items(), key=lambda kv: -kv[1]["p50"])[:6]
    for output, figures in slowest:
        print(f"callback {output:<60} p50 {figures['p50']} ms, max {figures['p99']} ms")
    print(json.dumps(report))


if __name__ == "__main__":
    main()
