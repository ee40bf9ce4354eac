"""Overview numbers and the answers-by-rule chart, computed from ``/health`` and ``/v1/stats``."""

from __future__ import annotations

from typing import Any

from dash import no_update

from console.api import Reply
from console.components import DASH, amount, page_problem
from console.figures import answers_by_rule
from console.values import as_dict

TILES = {
    "requests_per_s": "requests/s (last minute)",
    "requests": "requests (last hour)",
    "deadline_misses": "deadline misses",
    "pending_mailboxes": "pending mailboxes",
    "live": "live models",
}


def worker_line(health: Reply) -> str:
    """One line about the worker: its id, readiness, registry version and wake-ups."""
    if health.unreachable:
        return "worker: unreachable"
    body = health.body
    return (
        f"worker {body.get('worker', '?')}: {body.get('status', 'unknown')}, "
        f"policy version {body.get('policy_version', DASH)}, "
        f"pending wake-ups {body.get('pending_wakeups', DASH)}"
    )


def live_models(models: dict[str, Any]) -> str:
    """How many models are live, and which."""
    live = sorted(name for name, entry in models.items() if as_dict(entry).get("state") == "live")
    return f"{len(live)}: {', '.join(live)}" if live else "none"


def overview_values(health: Reply, stats: Reply) -> dict[str, Any]:
    """Every overview output; on a failed stats read the last numbers stay (no_update)."""
    values: dict[str, Any] = {
        "worker": worker_line(health),
        "message": page_problem(stats, "stats"),
    }
    if not stats.ok:
        return values | {key: no_update for key in [*TILES, "answers_by_rule"]}
    totals = as_dict(stats.body.get("totals"))
    return values | {
        "requests_per_s": amount(totals.get("throughput_per_s"), digits=1),
        "requests": amount(totals.get("requests")),
        "deadline_misses": amount(totals.get("deadline_misses")),
        "pending_mailboxes": amount(totals.get("pending_mailboxes")),
        "live": live_models(as_dict(stats.body.get("models"))),
        "answers_by_rule": answers_by_rule(stats.body),
    }
