"""Overview tiles and time series, computed from ``/health`` and ``/v1/stats?buckets=1``."""

from __future__ import annotations

from typing import Any

from dash import no_update

from console.api import Reply
from console.components import DASH, amount, millis, page_problem, percent
from console.figures import answers_by_rule
from console.timeseries import (
    e2e_latency_figure,
    outcome_rates_figure,
    rules_over_time_figure,
    throughput_figure,
)
from console.values import as_dict, number

#: key -> (label, what the tooltip explains)
TILES = {
    "requests_per_s": (
        "requests/s",
        "Answers in the last complete 10 seconds, per second, over all workers. "
        "Not a minute's average: it shows the real rate from the first 10 seconds on.",
    ),
    "requests": ("requests in window", "Requests answered in the chosen window."),
    "no_result_rate": (
        "no_result rate",
        "Share of the window's answers that were no_result: no live model answered in time.",
    ),
    "error_rate": (
        "model error rate",
        "Share of the window's scores that were errors (a model failed or refused the payload).",
    ),
    "e2e": (
        "p50 / p99 end-to-end",
        "Time from a request entering its mailbox to its official answer, over the window.",
    ),
    "deadline_misses": (
        "deadline misses",
        "Answers sent more than 50 ms after their request's deadline, in the window.",
    ),
    "pending_mailboxes": (
        "pending mailboxes",
        "Requests open right now on all workers: waiting for scores, a schedule step or "
        "their deadline.",
    ),
    "pending_wakeups": (
        "pending wake-ups",
        "Mailboxes this worker's deadline clock will wake (at a schedule step or the "
        "deadline). Counted on the worker the console reads, not on all workers.",
    ),
    "live": ("live models", "Models whose scores can become the official answer."),
}
FIGURES = ("throughput", "outcome_rates", "rules_over_time", "e2e_latency", "answers_by_rule")


def worker_line(health: Reply) -> str:
    """One line about the worker: its id, readiness and registry version."""
    if health.unreachable:
        return "worker: unreachable"
    body = health.body
    return (
        f"worker {body.get('worker', '?')}: {body.get('status', 'unknown')}, "
        f"policy version {body.get('policy_version', DASH)}"
    )


def live_models(models: dict[str, Any]) -> str:
    """How many models are live, and which."""
    live = sorted(name for name, entry in models.items() if as_dict(entry).get("state") == "live")
    return f"{len(live)}: {', '.join(live)}" if live else "none"


def share(part: Any, whole: Any) -> str:
    """part / whole as a percentage; "-" without data."""
    p, w = number(part), number(whole)
    return percent(p / w) if p is not None and w else DASH


def model_errors(models: dict[str, Any]) -> tuple[float, float]:
    """Failed scores and all scores, summed over the models."""
    entries = [as_dict(entry) for entry in models.values()]
    errors = sum(number(e.get("errors")) or 0 for e in entries)
    return errors, sum(number(e.get("scores")) or 0 for e in entries)


def overview_values(health: Reply, stats: Reply) -> dict[str, Any]:
    """Every overview output; on a failed stats read the last numbers stay (no_update)."""
    wakeups = health.body.get("pending_wakeups") if health.ok else None
    values: dict[str, Any] = {
        "worker": worker_line(health),
        "message": page_problem(stats, "stats"),
        "pending_wakeups": amount(wakeups) if health.ok else no_update,
    }
    if not stats.ok:
        return values | {key: no_update for key in [*TILES, *FIGURES] if key not in values}
    body = stats.body
    totals = as_dict(body.get("totals"))
    e2e = as_dict(totals.get("e2e_ms"))
    models = as_dict(body.get("models"))
    return values | {
        "requests_per_s": amount(totals.get("throughput_per_s"), digits=1),
        "requests": amount(totals.get("requests")),
        "no_result_rate": share(
            as_dict(totals.get("by_status")).get("no_result", 0), totals.get("answers")
        ),
        "error_rate": share(*model_errors(models)),
        "e2e": f"{millis(e2e.get('p50'))} / {millis(e2e.get('p99'))}",
        "deadline_misses": amount(totals.get("deadline_misses")),
        "pending_mailboxes": amount(totals.get("pending_mailboxes")),
        "live": live_models(models),
        "throughput": throughput_figure(body),
        "outcome_rates": outcome_rates_figure(body),
        "rules_over_time": rules_over_time_figure(body),
        "e2e_latency": e2e_latency_figure(body),
        "answers_by_rule": answers_by_rule(body),
    }
