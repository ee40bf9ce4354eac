"""Observations: plain dicts made when a mailbox closes or a score comes late.

A decision's observation holds every score present, the winner, the rule, and which shadow
models would have won; the statistics fold them into per-minute buckets.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from streamapp.core.mailbox import Mailbox, end_to_end_ms, offers
from streamapp.core.policy import LIVE, Registry, choose, outranks

SCORE_TOLERANCE = 0.05
MISS_GRACE_MS = 50


def agree(a: Mapping[str, Any] | None, b: Mapping[str, Any] | None) -> bool | None:
    """Same label (classifiers) or scores within the tolerance; None if not comparable."""
    if not a or not b:
        return None
    if "label" in a and "label" in b:
        return bool(a["label"] == b["label"])
    x, y = a.get("score"), b.get("score")
    if isinstance(x, int | float) and isinstance(y, int | float):
        return abs(x - y) <= SCORE_TOLERANCE
    return None


def would_have_won(mailbox: Mailbox, registry: Registry, model: str) -> bool:
    """Had ``model`` been live (with its priority), would the policy, seeing the same answers
    at the same moment, have chosen it?"""
    decided = mailbox.decision
    if decided is None:
        return False
    if decided.status == "ok" and decided.model and outranks(registry, decided.model, model):
        return False  # the common case, known without asking the policy again
    choice = choose(
        offers(mailbox, until_ms=decided.at_ms),
        registry.with_live(model),
        opened_ms=mailbox.opened_ms,
        deadline_ms=mailbox.deadline_ms,
        now_ms=decided.at_ms,
        request_id=mailbox.request_id,
    )
    return choice is not None and choice.model == model


def decision(mailbox: Mailbox, registry: Registry) -> dict[str, Any]:
    """The observation of a closed mailbox."""
    decided = mailbox.decision
    assert decided is not None
    opened = mailbox.opened_ms
    scores = []
    for arrival in mailbox.scores:
        rule = registry.rule_for(arrival.model)  # an unregistered model's rule is shadow
        result = arrival.result
        scores.append(
            {
                "model": arrival.model,
                "state": rule.state,
                "ok": result is not None,
                "result": result,
                "eval_ms": max(0.0, (arrival.finished_at - arrival.read_at) * 1000),
                "rtt_ms": max(0, arrival.arrived_ms - opened),
                "would_have_won": (
                    rule.state != LIVE
                    and result is not None
                    and would_have_won(mailbox, registry, arrival.model)
                ),
            }
        )
    return {
        "kind": "decision",
        "at": decided.answered_ms,
        "status": decided.status,
        "rule": decided.rule,
        "winner": decided.model,
        "result": decided.result,
        "late": decided.late,
        "e2e_ms": end_to_end_ms(mailbox),
        "deadline_missed": decided.answered_ms > mailbox.deadline_ms + MISS_GRACE_MS,
        "scores": scores,
    }


def late_score(model: str, *, at_ms: int, eval_ms: float, rtt_ms: int) -> dict[str, Any]:
    """The observation of a score that came after its answer."""
    return {"kind": "late", "at": at_ms, "model": model, "eval_ms": eval_ms, "rtt_ms": rtt_ms}
