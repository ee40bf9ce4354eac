"""The Answer as the client sees it (a frozen dataclass) and the client's exceptions."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

#: Statuses of an official answer.
STATUSES = ("ok", "no_result", "rejected")
#: What a refusal's reason says when the request id belongs to another request.
IN_USE = " in use ("


class ClientError(Exception):
    """Something the rendezvous client could not do (the base of its exceptions)."""


class MalformedAnswer(ClientError, ValueError):
    """A message on the reply topic, or an HTTP body, that is not an Answer."""


@dataclass(frozen=True)
class Candidate:
    """A model whose score counted when the answer was chosen."""

    model: str
    model_version: str
    ok: bool
    arrived_ms: int


@dataclass(frozen=True)
class Answer:
    """The one official answer to a request (README, Wire contracts); times in epoch ms."""

    request_id: str
    status: str
    rule: str
    policy_version: int
    opened_at: int
    answered_at: int
    model: str | None = None
    model_version: str | None = None
    result: Mapping[str, Any] | None = None
    reason: str | None = None
    candidates: tuple[Candidate, ...] = ()
    deadline_at: int | None = None
    late: bool = False
    #: Fields a newer rendezvous added (the contract is extended, never renamed).
    extra: Mapping[str, Any] = field(default_factory=dict, compare=False)

    @property
    def ok(self) -> bool:
        """True for an answer with a result."""
        return self.status == "ok"

    @classmethod
    def from_json(cls, data: Any) -> Answer:
        """An Answer from its JSON object; MalformedAnswer names what is missing or wrong."""
        if not isinstance(data, Mapping):
            raise MalformedAnswer("an answer must be a JSON object")
        for name, kind in (("request_id", str), ("status", str), ("rule", str)):
            if not isinstance(data.get(name), kind):
                raise MalformedAnswer(f"answer.{name} must be a string")
        for name in ("policy_version", "opened_at", "answered_at"):
            if isinstance(data.get(name), bool) or not isinstance(data.get(name), int):
                raise MalformedAnswer(f"answer.{name} must be an integer")
        if data["status"] not in STATUSES:
            raise MalformedAnswer(f"answer.status {data['status']!r} is not one of {STATUSES}")
        candidates = tuple(_candidate(c) for c in data.get("candidates") or [])
        known = {f for f in cls.__dataclass_fields__ if f != "extra"}
        return cls(
            **{k: v for k, v in data.items() if k in known and k != "candidates"},
            candidates=candidates,
            extra={k: v for k, v in data.items() if k not in known},
        )


def _candidate(data: Any) -> Candidate:
    names = ("model", "model_version", "ok", "arrived_ms")
    if not isinstance(data, Mapping) or any(name not in data for name in names):
        raise MalformedAnswer(f"answer.candidates: each needs {', '.join(names)}")
    return Candidate(*(data[name] for name in names))


class RequestRejected(ClientError):
    """The rendezvous answered ``rejected``: the request was invalid or not allowed."""

    def __init__(self, request_id: str, reason: str | None, answer: Answer | None = None) -> None:
        super().__init__(f"request {request_id!r} rejected: {reason}")
        self.request_id = request_id
        self.reason = reason
        #: The rejected Answer (None when the REST API refused it as 409 without one).
        self.answer = answer


class RequestIdInUse(RequestRejected):
    """The request id belongs to another request (another payload or return address)."""


def rejection(answer: Answer) -> RequestRejected:
    """The exception for a rejected answer."""
    in_use = answer.reason is not None and IN_USE in answer.reason
    kind = RequestIdInUse if in_use else RequestRejected
    return kind(answer.request_id, answer.reason, answer)


class ScoreTimeout(ClientError, TimeoutError):
    """No answer came in time, after every retry with the same request id."""

    def __init__(self, request_id: str, waited_s: float, attempts: int) -> None:
        super().__init__(
            f"no answer for request {request_id!r} after {waited_s:.2f}s "
            f"({attempts} attempt{'s' if attempts != 1 else ''} with the same request id)"
        )
        self.request_id = request_id
        self.waited_s = waited_s
        self.attempts = attempts


class RequestInvalid(ClientError):
    """The REST API refused the request before it entered the stream (400, 413, 415, 422)."""

    def __init__(self, status: int, body: Any) -> None:
        error = body.get("error") if isinstance(body, Mapping) else None
        super().__init__(f"HTTP {status}: {error or body}")
        self.status = status
        self.body = body


class Unavailable(ClientError):
    """The REST API cannot take the request now (503: not ready, or too far behind)."""

    def __init__(self, message: str, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s
