"""The latest answers, as short summaries for ``GET /v1/requests``: pure functions."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from streamapp.core.mailbox import Mailbox, end_to_end_ms

#: Summaries each worker keeps in memory (the newest; older ones are in the inspector only).
KEPT = 1000


def summary(mailbox: Mailbox) -> dict[str, Any]:
    """One answered mailbox in a line: who won by which rule, when, and how fast."""
    decided = mailbox.decision
    assert decided is not None
    return {
        "request_id": mailbox.request_id,
        "partition": mailbox.partition,
        "opened_at": mailbox.opened_ms,
        "answered_at": decided.answered_ms,
        "e2e_ms": end_to_end_ms(mailbox),
        "status": decided.status,
        "rule": decided.rule,
        "model": decided.model,
        "model_version": decided.model_version,
        "late": decided.late,
        "scores": len(mailbox.scores),
    }


def select(
    summaries: Iterable[Mapping[str, Any]],
    *,
    limit: int,
    rule: str | None = None,
    status: str | None = None,
    model: str | None = None,
) -> list[dict[str, Any]]:
    """The newest ``limit`` summaries matching every filter given, newest first."""
    wanted = {"rule": rule, "status": status, "model": model}
    found = [
        dict(s)
        for s in summaries
        if all(value is None or s.get(key) == value for key, value in wanted.items())
    ]
    found.sort(key=lambda s: (s.get("answered_at", 0), s.get("request_id", "")), reverse=True)
    return found[:limit]
