"""Admission of requests: the checks a decodable request must pass before a mailbox opens."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import orjson

from streamapp.core.records import Request

_LEGAL_TOPIC = re.compile(r"^[A-Za-z0-9._-]{1,249}$")


def is_legal_topic_name(name: str) -> bool:
    """Kafka's rule for topic names (and not the reserved ``.``/``..``)."""
    return bool(_LEGAL_TOPIC.match(name)) and name not in {".", ".."}


@dataclass(frozen=True)
class Limits:
    """Bounds on what a request may ask for."""

    max_payload_bytes: int
    min_deadline_ms: int
    max_deadline_ms: int
    default_deadline_ms: int
    default_return_topic: str
    #: Topics of this deployment start with these (``<prefix>-``, ``<app id>-``).
    own_prefixes: tuple[str, ...] = ()
    #: Own topics that do take answers: the REST proxy's reply topics start with this.
    reply_prefix: str | None = None
    #: An operator's narrower rule for return topics (a regular expression, full match).
    allowed_return_topics: str | None = None


def return_topic_refusal(topic: str, limits: Limits) -> str | None:
    """Why answers may not go to ``topic``, or None if they may.

    Never to a topic of the deployment itself (requests, scores, control, dead letters, replays,
    changelogs, anything of the app id) nor to Kafka's own (``__*``): an answer there would be
    read as something else. The default answers topic and the proxy's reply topics are the
    deployment's return addresses.
    """
    if topic == limits.default_return_topic:
        return None
    if topic.startswith("__"):
        return f"return_topic {topic!r} is internal to Kafka"
    is_reply = limits.reply_prefix is not None and topic.startswith(limits.reply_prefix)
    if not is_reply and any(topic.startswith(p) for p in limits.own_prefixes):
        return f"return_topic {topic!r} is one of this deployment's own topics"
    pattern = limits.allowed_return_topics
    if pattern and not is_reply and re.fullmatch(pattern, topic) is None:
        return f"return_topic {topic!r} is not allowed here (RENDEZVOUS_RETURN_TOPICS)"
    return None


def refusal(request: Request, size_bytes: int, limits: Limits) -> str | None:
    """Why this request must be rejected, or None if it may open a mailbox."""
    if not request.request_id or len(request.request_id) > 256:
        return "request_id must be 1 to 256 characters"
    if size_bytes > limits.max_payload_bytes:
        return f"request is {size_bytes} bytes; the limit is {limits.max_payload_bytes}"
    deadline = request.deadline_ms
    if deadline is not None and not limits.min_deadline_ms <= deadline <= limits.max_deadline_ms:
        return (
            f"deadline_ms {deadline} is outside {limits.min_deadline_ms}..{limits.max_deadline_ms}"
        )
    if request.return_topic is not None and not is_legal_topic_name(request.return_topic):
        return f"return_topic {request.return_topic!r} is not a legal Kafka topic name"
    if request.return_topic is not None:
        return return_topic_refusal(request.return_topic, limits)
    return None


def deadline_at(request: Request, *, sent_ms: int, now_ms: int, limits: Limits) -> int:
    """Absolute deadline: from when the request entered Kafka (never later than now)."""
    budget = request.deadline_ms if request.deadline_ms is not None else limits.default_deadline_ms
    start = min(sent_ms, now_ms) if sent_ms > 0 else now_ms
    return start + budget


def return_address(raw: bytes | None, default_topic: str) -> tuple[str, str] | None:
    """Best effort (request id, return topic) from an undecodable request, to reject it."""
    data = _lenient_json(raw or b"")
    if not isinstance(data, dict):
        return None
    request_id, topic = data.get("request_id"), data.get("return_topic", default_topic)
    if not isinstance(request_id, str) or not request_id or len(request_id) > 256:
        return None
    if topic is None:
        topic = default_topic
    if not isinstance(topic, str) or not is_legal_topic_name(topic):
        return None
    return request_id, topic


def _lenient_json(raw: bytes) -> Any:
    """The value of ``raw`` read as leniently as JSON allows: orjson first, then the standard
    library, which also reads ``NaN``, ``Infinity`` and ``1e309`` (the strict codec refuses them,
    but the request id and return topic beside them are still readable). None if neither can:
    not JSON, not UTF-8, or nested too deep (orjson stops at 1,024 levels, ``json`` at the
    recursion limit)."""
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        pass
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        return None
