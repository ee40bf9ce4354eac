"""Mailboxes: what the rendezvous knows of one request, and the choice of its answer.

Plain values and pure functions over them (no clock: every time is an argument). A mailbox is
opened by its request, collects the scores that reach Kafka before its answer, and is closed by
the policy's choice. Its answer is built once, as the exact bytes every copy on the wire has.

Time is event time: ``opened_ms`` is when the request entered Kafka and ``arrived_ms`` when a
score did (their Kafka timestamps). A request read after its deadline is decided as of its
deadline, on the scores that reached Kafka by then, and marked late.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import orjson

from streamapp.core.policy import Choice, Offer, Registry, choose, next_wakeup


@dataclass(slots=True)
class Arrived:
    """A model's score as its mailbox got it."""

    model: str
    model_version: str
    arrived_ms: int
    read_at: float
    finished_at: float
    result: dict[str, Any] | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        """True when the model gave a result (not an error)."""
        return self.result is not None


class Decision(NamedTuple):
    """The official answer of a mailbox: its facts, and the exact bytes sent for it."""

    status: str
    rule: str
    policy_version: int
    #: The event time the policy chose as of (now, or the deadline for a late decision).
    at_ms: int
    answered_ms: int
    model: str | None
    model_version: str | None
    result: dict[str, Any] | None
    reason: str | None
    late: bool
    wire: bytes


@dataclass(slots=True)
class Mailbox:
    """One request: where it came from, its deadline, the scores so far, its answer."""

    request_id: str
    partition: int
    offset: int
    opened_ms: int
    deadline_ms: int
    return_topic: str
    payload_digest: str
    #: When this worker read the request (wall clock): a wait past the deadline counts from it.
    read_ms: int = 0
    scores: list[Arrived] = field(default_factory=list)
    decision: Decision | None = None
    #: Scores that came after the answer (counted, never used).
    late_scores: list[Arrived] = field(default_factory=list)
    duplicate_scores: int = 0
    #: The registry under which the policy last said "wait", and until when that stands: the
    #: next step or the deadline (see ``still_waiting``).
    waiting_under: Registry | None = None
    waiting_until_ms: int = 0

    @property
    def is_open(self) -> bool:
        """True until the answer is chosen."""
        return self.decision is None

    def has_score_of(self, model: str) -> bool:
        """True if this model's score is already filed (a second one is a duplicate)."""
        return any(a.model == model for a in self.scores)


def end_to_end_ms(mailbox: Mailbox) -> int:
    """From the mailbox opening to its answer (0 if clocks disagree); the mailbox is answered."""
    decided = mailbox.decision
    assert decided is not None
    return max(0, decided.answered_ms - mailbox.opened_ms)


def payload_digest(payload: dict[str, Any]) -> str:
    """A fingerprint of a payload, the same for the same JSON whatever the key order.

    Raises ``TypeError`` for a payload nested deeper than the JSON encoder allows (254 levels).
    """
    canonical = orjson.dumps(payload, option=orjson.OPT_SORT_KEYS)
    return hashlib.blake2b(canonical, digest_size=16).hexdigest()


def offers(mailbox: Mailbox, *, until_ms: int | None = None) -> list[Offer]:
    """The scores as the policy sees them (only those that arrived by ``until_ms``, if given)."""
    return [
        Offer(a.model, a.arrived_ms, a.ok)
        for a in mailbox.scores
        if until_ms is None or a.arrived_ms <= until_ms
    ]


def choose_for(mailbox: Mailbox, registry: Registry, *, at_ms: int) -> Choice | None:
    """The policy's choice for this mailbox as of ``at_ms`` (event time), or None to wait."""
    return choose(
        offers(mailbox, until_ms=at_ms),
        registry,
        opened_ms=mailbox.opened_ms,
        deadline_ms=mailbox.deadline_ms,
        now_ms=at_ms,
        request_id=mailbox.request_id,
    )


def still_waiting(mailbox: Mailbox, model: str, registry: Registry, now_ms: int) -> bool:
    """True if a score of ``model`` arriving now cannot change the policy's "wait": the model is
    not live (the policy looks at live models' scores only), the registry is the one the policy
    last waited under, and neither a schedule step nor the deadline has come since."""
    return (
        mailbox.waiting_under is registry
        and now_ms < mailbox.waiting_until_ms
        and model not in registry.live
    )


def wake_time(mailbox: Mailbox, registry: Registry, now_ms: int) -> int:
    """When the passing of time alone could next change the choice (a step, or the deadline)."""
    return next_wakeup(
        registry, opened_ms=mailbox.opened_ms, deadline_ms=mailbox.deadline_ms, now_ms=now_ms
    )


def decide(
    mailbox: Mailbox,
    choice: Choice,
    registry: Registry,
    *,
    at_ms: int,
    answered_ms: int,
    late_after_ms: int,
) -> Decision:
    """Build the answer the policy chose (``at_ms``: the event time of the choice;
    ``answered_ms``: when it leaves). Late when it leaves ``late_after_ms`` past the deadline."""
    considered = [a for a in mailbox.scores if a.arrived_ms <= at_ms]
    winner = next((a for a in considered if a.model == choice.model), None)
    late = answered_ms > mailbox.deadline_ms + late_after_ms
    if winner is not None:
        status = "ok"
    else:
        status = "rejected" if choice.rule == "rejected" else "no_result"
    body: dict[str, Any] = {
        "request_id": mailbox.request_id,
        "status": status,
        "rule": choice.rule,
        "policy_version": registry.version,
        "opened_at": mailbox.opened_ms,
        "answered_at": answered_ms,
        "model": winner.model if winner else None,
        "model_version": winner.model_version if winner else None,
        "result": winner.result if winner else None,
        "reason": choice.reason,
        "candidates": [
            {
                "model": a.model,
                "model_version": a.model_version,
                "ok": a.ok,
                "arrived_ms": a.arrived_ms,
            }
            for a in considered
        ],
        "deadline_at": mailbox.deadline_ms,
        "late": late,
    }
    return Decision(
        status=status,
        rule=choice.rule,
        policy_version=registry.version,
        at_ms=at_ms,
        answered_ms=answered_ms,
        model=body["model"],
        model_version=body["model_version"],
        result=body["result"],
        reason=choice.reason,
        late=late,
        wire=orjson.dumps(body),
    )


def rejection(request_id: str, reason: str, *, policy_version: int, now_ms: int) -> bytes:
    """The exact bytes of a ``rejected`` answer."""
    return orjson.dumps(
        {
            "request_id": request_id,
            "status": "rejected",
            "rule": "rejected",
            "policy_version": policy_version,
            "opened_at": now_ms,
            "answered_at": now_ms,
            "model": None,
            "model_version": None,
            "result": None,
            "reason": reason,
            "candidates": [],
            "deadline_at": None,
            "late": False,
        }
    )
