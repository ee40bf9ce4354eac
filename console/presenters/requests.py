"""The latest answers table and its filter options, from ``/v1/requests`` and ``/v1/stats``.

The table is Markdown text for one ``dcc.Markdown``: a hundred rows of Dash components would be
a thousand components for the browser to keep in step on every refresh, where one Markdown
component turns the text into the same table and updates its cells in place.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from dash import no_update

from console.api import Reply
from console.components import DASH, millis, page_problem
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


def literal(value: Any) -> str:
    """A value as Markdown text that shows exactly as written, in one table cell: each ASCII
    punctuation mark as a character reference, so none of them can mean Markdown."""
    text = " ".join(str(value).split())  # a line break would end the row
    return re.sub(r"[!-/:-@\[-`{-~]", lambda mark: f"&#{ord(mark[0])};", text) or " "


def answer_row(answer: dict[str, Any]) -> list[str]:
    """One answer as Markdown cells; the request id links to its inspector page."""
    request_id = str(answer.get("request_id", ""))
    link = f'[{literal(request_id)}]({inspect_href(request_id)} "inspect")'
    cells = [
        answered_clock(answer.get("answered_at")),
        answer.get("status") or DASH,
        answer.get("rule") or DASH,
        answer.get("model") or DASH,
        millis(answer.get("e2e_ms")),
        str(answer.get("scores", DASH)),
        "late" if answer.get("late") else "",
    ]
    return [link, *(literal(cell) for cell in cells)]


def markdown_table(headers: list[str], rows: list[list[str]]) -> str:
    """A Markdown table, one line per row."""
    lines = [headers, ["---"] * len(headers), *rows]
    return "\n".join(f"| {' | '.join(cells)} |" for cells in lines)


def answers_table(answers: Reply) -> str:
    """The answers, newest first, as a Markdown table, or what is missing."""
    rows = [as_dict(a) for a in as_list(answers.body.get("answers"))]
    if not rows:
        return "no answers match (yet)"
    return markdown_table(HEADERS, [answer_row(a) for a in rows])


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
