"""``GET /v1/requests/{request_id}``: a mailbox's timeline, served by the worker that holds it;
``GET /v1/requests``: the latest answers of every worker, filtered.

An open or recently closed mailbox is read from the worker's memory, an older one from the
table. The payload is not kept in the mailbox: it is read from the requests topic at the
offset the mailbox records, only when a timeline is asked for.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any
from urllib.parse import quote

import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition
from faust.web import Request, Response, View

from streamapp.app import app, settings
from streamapp.stats.folding import recent_answers
from streamapp.stats.recent import KEPT, select
from streamapp.web.peers import ask_all_peers, ask_peers_for, forwarded_headers
from streamapp.web.problems import HTTPProblem, problem_response, query_int, require_reader
from streamapp.worker import registry_cache
from streamapp.worker.closed_store import mailbox_record
from streamapp.worker.state import rendezvous, store

log = logging.getLogger(__name__)
PAYLOAD_TIMEOUT_S = 2.0
DEFAULT_LATEST = 50
FILTERS = ("rule", "status", "model")


def timeline(record: dict[str, Any], state: str) -> dict[str, Any]:
    """The request, each score with its arrival, the schedule, and the answer with its rule."""
    opened = record["opened_ms"]

    def score(entry: dict[str, Any]) -> dict[str, Any]:
        return {
            "model": entry["model"],
            "model_version": entry["model_version"],
            "arrived_at": entry["arrived_ms"],
            "since_open_ms": entry["arrived_ms"] - opened,
            "ok": entry["result"] is not None,
            "result": entry["result"],
            "error": entry["error"],
            "read_at": entry["read_at"],
            "finished_at": entry["finished_at"],
        }

    return {
        "request_id": record["request_id"],
        "state": state,
        "partition": record["partition"],
        "offset": record["offset"],
        "worker": settings.worker_id,
        "return_topic": record["return_topic"],
        "opened_at": opened,
        "deadline_at": record["deadline_ms"],
        "schedule": [
            {"at": opened + step.after_ms, "min_priority": step.min_priority}
            for step in registry_cache.current_registry().steps
        ],
        "scores": [score(entry) for entry in record["scores"]],
        "late_scores": [score(entry) for entry in record.get("late_scores", [])],
        "duplicate_scores": record["duplicate_scores"],
        "answer": orjson.loads(record["answer"]) if record["answer"] else None,
    }


def find_local(request_id: str) -> tuple[dict[str, Any], str] | None:
    """This worker's record of a request (memory first, then the table), with its state."""
    for partition in store.partitions():
        mailbox = rendezvous.mailbox((partition, request_id))
        if mailbox is not None:
            return mailbox_record(mailbox), "open" if mailbox.is_open else "answered"
    found = store.find(request_id)
    return (found, "answered") if found is not None else None


async def read_payload(partition: int, offset: int) -> dict[str, Any] | None:
    """The request as it is in Kafka (None if it can no longer be read)."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.bootstrap_servers, enable_auto_commit=False
    )
    await consumer.start()
    try:
        tp = TopicPartition(settings.topic("requests"), partition)
        consumer.assign([tp])
        consumer.seek(tp, offset)
        message = await asyncio.wait_for(consumer.getone(), PAYLOAD_TIMEOUT_S)
        data = orjson.loads(message.value) if message.offset == offset else None
    except (TimeoutError, orjson.JSONDecodeError) as error:
        log.info("request at %s@%d could not be read: %r", partition, offset, error)
        data = None
    finally:
        await consumer.stop()
    return data if isinstance(data, dict) else None


async def ask_peers(request_id: str, request: Request) -> dict[str, Any] | None:
    """Ask the other workers for this request's timeline (with the caller's token).

    The mailbox lives on the partition its request was produced to, and the client's
    partitioner is not known here (kcat's differs from Java's), so the owner cannot be
    computed from the key; asking the few peers is exact.
    """
    path = f"/v1/requests/{quote(request_id, safe='')}?local=1"
    return await ask_peers_for(path, headers=forwarded_headers(request))


@app.page("/v1/requests/{request_id}")
class RequestTimeline(View):
    """One request's mailbox; any worker answers (it asks its peers when it does not hold it).

    It shows the payload: with ``RENDEZVOUS_READ_TOKEN`` set, it needs that token (or the
    admin token) before it tells anything, even whether the request exists.
    """

    async def get(self, request: Request, request_id: str) -> Response:
        """The timeline; 401/403 without the read token (when one is set); 404 when this
        request is unknown or has expired."""
        try:
            require_reader(request, settings)
        except HTTPProblem as problem:
            return problem_response(self, problem)
        found = find_local(request_id)
        if found is not None:
            body = timeline(*found)
            body["request"] = await read_payload(body["partition"], body["offset"])
            return self.json(body)
        if request.query.get("local") != "1":
            from_peer = await ask_peers(request_id, request)
            if from_peer is not None:
                return self.json(from_peer)
        return self.json(
            {
                "error": f"no mailbox for request {request_id!r} (unknown, or expired after "
                f"{settings.mailbox_retention_s:g}s)"
            },
            status=404,
        )


@app.page("/v1/requests")
class LatestAnswers(View):
    """The latest answers (kept in memory, the newest 1000 per worker), newest first."""

    async def get(self, request: Request) -> Response:
        """Up to ``limit`` answers, only those matching ``rule``, ``status`` and ``model`` (the
        winner) when given; every worker's unless ``local=1``. Needs the read token when set."""
        try:
            require_reader(request, settings)
            limit = query_int(request, "limit", default=DEFAULT_LATEST, minimum=1, maximum=KEPT)
        except HTTPProblem as problem:
            return problem_response(self, problem)
        wanted = {key: request.query.get(key) or None for key in FILTERS}
        found = recent_answers()
        if request.query.get("local") != "1":
            query = "&".join(f"{k}={quote(v, safe='')}" for k, v in wanted.items() if v)
            path = f"/v1/requests?local=1&limit={limit}" + (f"&{query}" if query else "")
            for reply in await ask_all_peers(path, headers=forwarded_headers(request)):
                found.extend(reply.get("answers", []))
        latest = select(
            found, limit=limit, rule=wanted["rule"], status=wanted["status"], model=wanted["model"]
        )
        return self.json({"answers": latest})
