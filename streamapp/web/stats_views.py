"""``GET /v1/stats`` (JSON report) and ``GET /metrics`` (Prometheus text)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from faust.web import Request, Response, View
from prometheus_client import generate_latest

from streamapp.app import app, settings, stats_table
from streamapp.stats import metrics
from streamapp.stats.buckets import BUCKET_MS, bucket_of
from streamapp.stats.folding import bucket_key, unwritten_buckets
from streamapp.web.openapi import MAX_EPOCH_MS
from streamapp.web.peers import ask_all_peers, forwarded_headers
from streamapp.web.problems import HTTPProblem, problem_response, query_int
from streamapp.web.reporter import Reporter, ReportFailed
from streamapp.worker import registry_cache, state
from streamapp.worker.clock import now_ms

log = logging.getLogger(__name__)
DEFAULT_WINDOW_MS = 60 * 60_000


def window(request: Request, now: int) -> tuple[int, int]:
    """``since``/``until`` from the query (epoch ms; default: the last hour), checked."""
    until = query_int(request, "until", default=now, minimum=0, maximum=MAX_EPOCH_MS)
    default_since = max(0, until - DEFAULT_WINDOW_MS)
    since = query_int(request, "since", default=default_since, minimum=0, maximum=MAX_EPOCH_MS)
    if since > until:
        raise HTTPProblem(422, "since must not be after until", field="since")
    return since, until


#: Table lookups between two yields to the event loop while reading a window's buckets.
LOOKUPS_PER_YIELD = 200


async def stored_buckets(since: int, until: int, *, now: int) -> dict[tuple[int, int], bytes]:
    """The stored bucket bytes of this worker's partitions that overlap the window.

    Looked up key by key, minute by minute, so the cost follows the window asked for (never
    more than the retention), not the size of the table; and the loop, where the deadline clock
    runs, gets a turn every ``LOOKUPS_PER_YIELD`` lookups. Decoding happens in the report
    process."""
    oldest = bucket_of(max(0, now - int(settings.stats_retention_s * 1000)))
    first, last = max(bucket_of(since), oldest), bucket_of(until)
    found: dict[tuple[int, int], bytes] = {}
    lookups = 0
    for partition in range(settings.partitions):
        for minute in range(first, last + 1, BUCKET_MS):
            value = stats_table.get(bucket_key(partition, minute))
            if value is not None:
                found[(partition, minute)] = value
            lookups += 1
            if lookups % LOOKUPS_PER_YIELD == 0:
                await asyncio.sleep(0)
    return found


#: Reports are built in a process of their own (decoding sketches is heavy, and the worker's
#: event loop runs the deadline clock).
reporter = Reporter()


@app.task  # type: ignore[untyped-decorator]  # Faust's decorator is untyped
async def start_reporter() -> None:
    """Start the report process with the worker: the first report does not wait for it."""
    try:
        await reporter.start()
    except OSError as error:  # the first report tries again, and answers 500 if it cannot
        log.warning("could not start the statistics report process: %s", error)


@app.on_before_shutdown.connect  # type: ignore[arg-type]  # a union of callables mypy cannot match
async def stop_reporter(sender: Any, *args: Any, signal: Any, **kwargs: Any) -> None:
    """End the report process with the worker."""
    await reporter.close()


def worker_state(now: int) -> dict[str, Any]:
    """This worker's live state for the report: open mailboxes and consumer lag."""
    return {
        "worker_id": settings.worker_id,
        "pending_mailboxes": state.rendezvous.pending(),
        "lag": state.consumer_lag(now),
    }


@app.page("/v1/stats")
class Stats(View):
    """Per-model latency quantiles, win rates, agreement, Q-Q, and per-minute buckets."""

    async def get(self, request: Request) -> Response:
        """The report for ``since``..``until`` (epoch ms), optionally one ``model`` list."""
        now = now_ms()
        try:
            since, until = window(request, now)
        except HTTPProblem as problem:
            return problem_response(self, problem)
        stored = await stored_buckets(since, until, now=now)
        window_buckets = {  # unwritten: the loop's own state, copied here, read there
            "stored": stored,
            "unwritten": unwritten_buckets(),
            "since": since,
            "until": until,
        }
        here = worker_state(now)
        try:
            if request.query.get("local") == "1":  # a peer asks: this worker's part only
                body = await reporter.build("local", **window_buckets, worker=here)
                return self.bytes(body, content_type="application/json")
            workers, peer_buckets = [here], []
            path = f"/v1/stats?since={since}&until={until}&local=1"
            for reply in await ask_all_peers(path, headers=forwarded_headers(request)):
                peer_buckets.extend(reply.get("raw_buckets", []))
                workers.append(reply.get("worker", {}))
            wanted = request.query.get("model")
            body = await reporter.build(
                "report",
                **window_buckets,
                peer_buckets=peer_buckets,
                workers=workers,
                registry=registry_cache.current_registry(),
                now_ms=now,
                canary=registry_cache.canary_name(),
                models=[m for m in wanted.split(",") if m] if wanted else None,
                with_buckets=request.query.get("buckets") in ("1", "true"),
            )
        except ReportFailed as failure:
            return problem_response(self, HTTPProblem(500, f"the report failed: {failure}"))
        return self.bytes(body, content_type="application/json")


metrics.registry.register(
    metrics.LiveState(
        pending=state.rendezvous.pending,
        lag=lambda: state.consumer_lag(now_ms()),
        policy_version=lambda: registry_cache.current_doc().version,
    )
)


@app.page("/metrics")
class Metrics(View):
    """Prometheus text exposition of this worker's counters, histograms and gauges."""

    async def get(self, request: Request) -> Response:
        """The metrics: cheap to read (counted as mailboxes close, not computed here)."""
        text = generate_latest(metrics.registry).decode()
        return self.text(text, content_type="text/plain; version=0.0.4")
