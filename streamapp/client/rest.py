"""The same interface over REST (``POST /v1/score``), for clients without Kafka access.

A retry (after a 504, a 503 or a lost connection) sends the same request id and payload: the
worker answers it with the stored answer. Retries must reach the same worker, whose reply
topic is the request's return address (another worker refuses the id as in use).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from streamapp.client.answer import (
    Answer,
    MalformedAnswer,
    RequestIdInUse,
    RequestInvalid,
    ScoreTimeout,
    Unavailable,
    rejection,
)


@dataclass(frozen=True)
class Retry:
    """Try again after ``after_s`` (same request id); ``why`` if it was the last try."""

    after_s: float
    why: str
    timed_out: bool


def score_body(
    payload: Mapping[str, Any], request_id: str, deadline_ms: int | None
) -> dict[str, Any]:
    """The ``POST /v1/score`` body."""
    if not isinstance(payload, Mapping):
        raise TypeError(f"payload must be a JSON object (a mapping), not {type(payload).__name__}")
    body: dict[str, Any] = {"request_id": request_id, "payload": dict(payload)}
    if deadline_ms is not None:
        body["deadline_ms"] = deadline_ms
    return body


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text


def interpret(response: httpx.Response, *, request_id: str, max_wait_s: float) -> Answer | Retry:
    """What a ``POST /v1/score`` response means: an Answer, a Retry, or a raised error."""
    body = _json(response)
    status = response.status_code
    if status == 200:
        return Answer.from_json(body)
    if status == 422 and isinstance(body, Mapping) and body.get("status") == "rejected":
        raise rejection(Answer.from_json(body))
    error = str(body.get("error", body)) if isinstance(body, Mapping) else str(body)
    if status == 409 and "in flight" in error:
        return Retry(0.05, f"HTTP 409: {error}", timed_out=True)
    if status == 409:
        raise RequestIdInUse(request_id, error)
    if status == 504:
        return Retry(0.0, f"HTTP 504: {error}", timed_out=True)
    if status == 503:
        after = response.headers.get("Retry-After", "")
        wait = min(float(after), max_wait_s) if after.isdigit() else 0.2
        return Retry(wait, f"HTTP 503: {error}", timed_out=False)
    raise RequestInvalid(status, body)


class _Attempts:
    """The retry loop's bookkeeping, shared by the sync and asyncio clients."""

    def __init__(self, request_id: str, retries: int) -> None:
        self.request_id = request_id
        self.left = 1 + retries
        self.made = 0
        self.started = time.monotonic()
        self.last: Retry | None = None

    def failed(self, retry: Retry) -> None:
        self.left -= 1
        self.made += 1
        self.last = retry

    def give_up(self) -> Exception:
        waited = time.monotonic() - self.started
        if self.last is not None and not self.last.timed_out:
            return Unavailable(f"request {self.request_id!r}: {self.last.why}", self.last.after_s)
        return ScoreTimeout(self.request_id, waited, self.made)


def _lost(error: httpx.HTTPError) -> Retry:
    timed_out = isinstance(error, httpx.TimeoutException)
    return Retry(0.1, f"{type(error).__name__}: {error}", timed_out=timed_out)


class AsyncRestClient:
    """``await client.score(payload)`` over ``POST /v1/score`` (asyncio)."""

    def __init__(
        self,
        base_url: str = "http://127.0.0.1:6066",
        *,
        retries: int = 1,
        reply_margin_s: float = 3.0,
        default_deadline_ms: int = 200,
        max_retry_after_s: float = 5.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.retries = retries
        self.reply_margin_s = reply_margin_s
        self.default_deadline_ms = default_deadline_ms
        self.max_retry_after_s = max_retry_after_s
        self._http = httpx.AsyncClient(
            base_url=base_url, transport=transport, limits=httpx.Limits(max_connections=256)
        )

    async def __aenter__(self) -> AsyncRestClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the connections."""
        await self._http.aclose()

    async def score(
        self,
        payload: Mapping[str, Any],
        *,
        deadline_ms: int | None = None,
        request_id: str | None = None,
    ) -> Answer:
        """As :meth:`AsyncKafkaClient.score`; RequestInvalid for a request the API refuses."""
        request_id = request_id or uuid.uuid4().hex
        body = score_body(payload, request_id, deadline_ms)
        budget_s = (deadline_ms or self.default_deadline_ms) / 1000 + self.reply_margin_s + 1
        attempts = _Attempts(request_id, self.retries)
        while attempts.left:
            try:
                response = await self._http.post("/v1/score", json=body, timeout=budget_s)
                outcome = interpret(
                    response, request_id=request_id, max_wait_s=self.max_retry_after_s
                )
            except httpx.HTTPError as error:
                outcome = _lost(error)
            except MalformedAnswer as error:
                raise RequestInvalid(200, str(error)) from None
            if isinstance(outcome, Answer):
                return outcome
            attempts.failed(outcome)
            if attempts.left:
                await asyncio.sleep(outcome.after_s)
        raise attempts.give_up()


class RestClient:
    """``client.score(payload)`` over ``POST /v1/score`` (blocking; thread-safe)."""

    def __init__(
        self,
        base_url: str = "http://127.0.0.1:6066",
        *,
        retries: int = 1,
        reply_margin_s: float = 3.0,
        default_deadline_ms: int = 200,
        max_retry_after_s: float = 5.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.retries = retries
        self.reply_margin_s = reply_margin_s
        self.default_deadline_ms = default_deadline_ms
        self.max_retry_after_s = max_retry_after_s
        self._http = httpx.Client(base_url=base_url, transport=transport)

    def __enter__(self) -> RestClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connections."""
        self._http.close()

    def score(
        self,
        payload: Mapping[str, Any],
        *,
        deadline_ms: int | None = None,
        request_id: str | None = None,
    ) -> Answer:
        """As :meth:`AsyncRestClient.score`, blocking."""
        request_id = request_id or uuid.uuid4().hex
        body = score_body(payload, request_id, deadline_ms)
        budget_s = (deadline_ms or self.default_deadline_ms) / 1000 + self.reply_margin_s + 1
        attempts = _Attempts(request_id, self.retries)
        while attempts.left:
            try:
                response = self._http.post("/v1/score", json=body, timeout=budget_s)
                outcome = interpret(
                    response, request_id=request_id, max_wait_s=self.max_retry_after_s
                )
            except httpx.HTTPError as error:
                outcome = _lost(error)
            except MalformedAnswer as error:
                raise RequestInvalid(200, str(error)) from None
            if isinstance(outcome, Answer):
                return outcome
            attempts.failed(outcome)
            if attempts.left:
                time.sleep(outcome.after_s)
        raise attempts.give_up()
