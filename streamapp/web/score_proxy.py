"""``POST /v1/score``: the book's proxy. Send a request into the stream, wait for its answer.

Each worker owns a reply topic (``<prefix>-replies-<worker id>``) used as the return address;
a listener task reads it and hands each answer to the HTTP request waiting for it.
"""

from __future__ import annotations

import asyncio
import json
import math
import uuid
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from faust.web import Request, Response, View

from streamapp.app import app, settings
from streamapp.core.admission import refusal
from streamapp.core.codec import DecodeError, decode, encode, validate
from streamapp.core.records import Answer
from streamapp.core.records import Request as RequestRecord
from streamapp.core.rendezvous import is_in_use
from streamapp.kafka_admin import TopicSpec, ensure_topics
from streamapp.web.problems import (
    HTTPProblem,
    json_body,
    problem_response,
    require_json_content,
)
from streamapp.worker import engine, state
from streamapp.worker.clock import now_ms

REPLY_TOPIC = settings.topic(f"replies-{settings.worker_id}")
REPLY_MARGIN_S = 3.0
#: The reply consumer's fetch wait with ``RENDEZVOUS_IDLE_FETCH_WAIT_MS=0``.
SHORT_FETCH_WAIT_MS = 50
_waiting: dict[str, asyncio.Future[Answer]] = {}
_listening = asyncio.Event()


@app.task  # type: ignore[untyped-decorator]  # Faust's task decorator is untyped
async def listen_for_replies() -> None:
    """Read this worker's reply topic and resolve the HTTP requests waiting for answers."""
    await ensure_topics(settings, [TopicSpec(REPLY_TOPIC, 1)])
    # It reads one partition, so every fetch lists it and the broker answers at the first
    # answer: the long idle wait only makes an idle worker ask every half second, not 20 times.
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.bootstrap_servers,
        enable_auto_commit=False,
        fetch_max_wait_ms=max(SHORT_FETCH_WAIT_MS, settings.idle_fetch_wait_ms),
    )
    await consumer.start()
    try:
        consumer.assign([TopicPartition(REPLY_TOPIC, 0)])
        await consumer.seek_to_end()
        _listening.set()
        while True:
            batch = await consumer.getmany(timeout_ms=500)
            for messages in batch.values():
                for message in messages:
                    _deliver(message.value)
    finally:
        _listening.clear()
        await consumer.stop()


def _deliver(raw: bytes | None) -> None:
    try:
        answer = decode(Answer, raw)
    except DecodeError:
        return
    waiting = _waiting.get(answer.request_id)
    if waiting is not None and not waiting.done():
        waiting.set_result(answer)


def request_from_body(data: Any) -> RequestRecord:
    """Build the stream request from the HTTP body (request_id is generated when absent)."""
    if not isinstance(data, dict):
        raise HTTPProblem(422, "the body must be a JSON object", field="body")
    if "return_topic" in data:
        raise HTTPProblem(
            422, "return_topic is set by the proxy; leave it out", field="return_topic"
        )
    body = {"request_id": uuid.uuid4().hex, **data, "return_topic": REPLY_TOPIC}
    try:
        request = validate(RequestRecord, body)
    except DecodeError as error:
        field = str(error).split(":", 1)[0]
        raise HTTPProblem(422, str(error), field=field) from None
    reason = refusal(request, len(json.dumps(body).encode()), state.limits)
    if reason:
        raise HTTPProblem(422, reason)
    return request


def too_far_behind(stream_request: RequestRecord) -> Response | None:
    """503 with Retry-After when this worker is so far behind its requests that the request's
    deadline cannot be met (its answer would only come late); else None."""
    behind = state.request_positions.behind_ms(now_ms())
    budget = stream_request.deadline_ms or settings.default_deadline_ms
    if behind <= budget:
        return None
    body = {
        "error": f"the rendezvous is {behind} ms behind its requests; a {budget} ms deadline "
        "cannot be met now",
        "behind_ms": behind,
    }
    retry_after = str(max(1, math.ceil(behind / 1000)))
    response: Response = ScoreProxy.json_response(body, status=503, retry_after=retry_after)
    return response


@app.page("/v1/score")
class ScoreProxy(View):
    """Send a request into the stream and answer with its official answer (bounded wait)."""

    @staticmethod
    def json_response(body: dict[str, Any], *, status: int, retry_after: str) -> Response:
        """A JSON error with a Retry-After header."""
        response: Response = app.web.json(body, status=status, headers={"Retry-After": retry_after})
        return response

    async def post(self, request: Request) -> Response:
        """200 with the Answer (ok or no_result), 422 rejected/invalid, 504 on timeout."""
        try:
            require_json_content(request)
            stream_request = request_from_body(await json_body(request))
            refused = admit(stream_request)
            if refused is not None:
                return refused
            answer = await round_trip(stream_request)
        except HTTPProblem as problem:
            return problem_response(self, problem)
        if answer.status == "rejected" and is_in_use(answer.reason):
            return problem_response(self, HTTPProblem(409, answer.reason or "request id in use"))
        return self.json(answer.asdict(), status=422 if answer.status == "rejected" else 200)


def listening() -> bool:
    """True once this worker reads its reply topic (it can take requests)."""
    return _listening.is_set()


def admit(stream_request: RequestRecord) -> Response | None:
    """Whether this worker can take the request now: None, or the error to answer with (409
    if the id is in flight here, 503 when not listening yet or too far behind). Raises
    HTTPProblem for the 409 and the first 503."""
    if stream_request.request_id in _waiting:
        raise HTTPProblem(409, f"request {stream_request.request_id!r} is in flight")
    if not _listening.is_set():
        raise HTTPProblem(503, "the reply listener is not ready yet; retry shortly")
    return too_far_behind(stream_request)


async def round_trip(stream_request: RequestRecord) -> Answer:
    """Send the request into the stream with this worker's reply topic, and wait (bounded)
    for its official answer (504 when it does not come)."""
    request_id = stream_request.request_id
    waiting: asyncio.Future[Answer] = asyncio.get_running_loop().create_future()
    _waiting[request_id] = waiting
    budget_ms = stream_request.deadline_ms or settings.default_deadline_ms
    try:
        await engine.outbox.emit(settings.topic("requests"), request_id, encode(stream_request))
        return await asyncio.wait_for(waiting, budget_ms / 1000 + REPLY_MARGIN_S)
    except TimeoutError:
        raise HTTPProblem(
            504,
            f"no answer for {request_id!r} within the deadline "
            f"({budget_ms} ms) plus {REPLY_MARGIN_S:g}s",
        ) from None
    finally:
        _waiting.pop(request_id, None)
