"""``GET /v1/stats`` (JSON report) and ``GET /metrics`` (Prometheus text)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any

import orjson
from faust.web import Request, Response, View
from prometheus_client import generate_latest

from streamapp.app import app, settings, stats_table
from streamapp.stats import metrics
from streamapp.stats.buckets import BUCKET_MS, bucket_of
from streamapp.stats.folding import bucket_key, unwritten_buckets
from streamapp.stats.report import report
from streamapp.web.openapi import MAX_EPOCH_MS
from streamapp.web.peers import ask_all_peers, forwarded_headers
from streamapp.web.problems import HTTPProblem, problem_response, query_int
from streamapp.worker import registry_cache, state
from streamapp.worker.clock import now_ms

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
    thread."""
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


def local_buckets(
    stored: Mapping[tuple[int, int], bytes],
    unwritten: Mapping[tuple[int, int], Mapping[str, Any]],
    since: int,
    until: int,
) -> list[dict[str, Any]]:
    """The window's buckets decoded (``unwritten``: folded in memory but not written back yet,
    newer than what is stored), each marked with its partition. Pure: runs in the report
    thread."""
    first, last = bucket_of(since), bucket_of(until)
    found = {key: orjson.loads(value) for key, value in stored.items()}
    for (partition, minute), bucket in unwritten.items():
        if first <= minute <= last:
            found[(partition, minute)] = dict(bucket)
    for (partition, _), bucket in found.items():
        bucket["partition"] = partition
    return list(found.values())


#: One thread builds reports (its sketch cache is not shared between threads).
_REPORTS = ThreadPoolExecutor(1, thread_name_prefix="stats-report")


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
        loop = asyncio.get_running_loop()
        stored = await stored_buckets(since, until, now=now)
        unwritten = unwritten_buckets()  # the loop's own state: copied here, read there
        buckets = await loop.run_in_executor(
            _REPORTS, partial(local_buckets, stored, unwritten, since, until)
        )
        here = worker_state(now)
        if request.query.get("local") == "1":  # a peer asks: this worker's part only
            return self.json({"raw_buckets": buckets, "worker": here})
        workers = [here]
        path = f"/v1/stats?since={since}&until={until}&local=1"
        for reply in await ask_all_peers(path, headers=forwarded_headers(request)):
            buckets.extend(reply.get("raw_buckets", []))
            workers.append(reply.get("worker", {}))
        wanted = request.query.get("model")
        # Decoding sketches is heavy: off the event loop, where the deadline clock runs.
        body = await loop.run_in_executor(
            _REPORTS,
            partial(
                report,
                buckets,
                registry_cache.current_registry(),
                now_ms=now,
                since_ms=since,
                until_ms=until,
                pending=sum(int(w.get("pending_mailboxes", 0)) for w in workers),
                canary=registry_cache.canary_name(),
                models=[m for m in wanted.split(",") if m] if wanted else None,
                with_buckets=request.query.get("buckets") in ("1", "true"),
            ),
        )
        body["workers"] = {str(w.get("worker_id")): w for w in workers}
        return self.json(body)


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
