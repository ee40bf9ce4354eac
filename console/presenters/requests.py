"""The latest answers table and its filter options, from ``/v1/requests`` and ``/v1/stats``."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from dash import dcc, html, no_update
from dash.development.base_component import Component

from console import ids
from console.api import Reply
from console.components import DASH, millis, page_problem, table
from console.figures import rule_sort_key
from console.values import as_dict, as_list, number

HEADERS = ["request", "answered (UTC)", "status", "rule", "model", "end-to-end", "scores", "late"]
STATUSES = ("ok", "no_result", "rejected")
LIMIT = 100


def inspect_href(request_id: str) -> str:
    """The inspector's address for a request."""
    return f"/inspect?request_id={quote(request_id, safe='')}"


def answered_clock(epoch_ms: Any) -> str:
    """Epoch ms as a UTC time of day with milliseconds."""
    ms = number(epoch_ms)
    if ms is None:
        return DASH
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%H:%M:%S.%f")[:-3]


def answer_row(answer: dict[str, Any]) -> list[Any]:
    """One answer as table cells; the request id links to its inspector page."""
    request_id = str(answer.get("request_id", ""))
    link = dcc.Link(
        request_id, href=inspect_href(request_id), className="request-link", title="inspect"
    )
    return [
        link,
        answered_clock(answer.get("answered_at")),
        answer.get("status") or DASH,
        answer.get("rule") or DASH,
        answer.get("model") or DASH,
        millis(answer.get("e2e_ms")),
        str(answer.get("scores", DASH)),
        "late" if answer.get("late") else "",
    ]


def answers_table(answers: Reply) -> Component:
    """The answers, newest first, or what is missing."""
    rows = [as_dict(a) for a in as_list(answers.body.get("answers"))]
    if not rows:
        return html.P("no answers match (yet)")
    return table(HEADERS, [answer_row(a) for a in rows], id=ids.REQUESTS_GRID)


def filter_options(stats: Reply) -> tuple[list[str], list[str], list[str]]:
    """Rules, statuses and models to filter by: those the window's statistics know."""
    totals = as_dict(stats.body.get("totals"))
    rules = sorted(as_dict(totals.get("by_rule")), key=rule_sort_key)
    statuses = sorted(set(STATUSES) | set(as_dict(totals.get("by_status"))))
    models = sorted(as_dict(stats.body.get("models")))
    return rules, statuses, models


def requests_values(answers: Reply, stats: Reply) -> dict[str, Any]:
    """Every output of the requests page; the last table stays while the worker is away."""
    problems = [page_problem(r, what) for r, what in ((answers, "answers"), (stats, "stats"))]
    options = filter_options(stats) if stats.ok else (no_update,) * 3
    return {
        "table": answers_table(answers) if answers.ok else no_update,
        "message": [p for p in problems if p is not None],
        "rules": options[0],
        "statuses": options[1],
        "models": options[2],
    }
