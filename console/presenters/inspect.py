"""The request inspector: a request's timeline figure, its answer and each score."""

from __future__ import annotations

import json
from typing import Any

from dash import html, no_update
from dash.development.base_component import Component

from console import ids
from console.api import Reply
from console.components import DASH, banner, millis, table
from console.figures import empty_figure, request_timeline
from console.values import as_dict, as_list, number

SCORE_HEADERS = [
    "model",
    "version",
    "arrived (ms after open)",
    "evaluation",
    "ok",
    "result / error",
]


def since(at: Any, origin: Any) -> str:
    """Milliseconds from ``origin`` to ``at`` (both epoch ms), or "-"."""
    a, o = number(at), number(origin)
    return DASH if a is None or o is None else millis(a - o)


def answer_summary(timeline: dict[str, Any]) -> html.Div:
    """The answer's status, rule, model and timing (or that there is no answer yet)."""
    answer = as_dict(timeline.get("answer"))
    state = html.P(
        f"mailbox {timeline.get('state', DASH)} on partition "
        f"{timeline.get('partition', DASH)} of worker {timeline.get('worker', DASH)}"
    )
    if not answer:
        return html.Div([state, html.P("no answer yet", id=ids.INSPECT_STATUS)])
    opened = timeline.get("opened_at")
    facts = [
        ("status", answer.get("status"), ids.INSPECT_STATUS),
        ("rule", answer.get("rule"), ids.INSPECT_RULE),
        ("model", answer.get("model"), ids.INSPECT_MODEL),
        ("model version", answer.get("model_version"), None),
        ("result", answer.get("result"), None),
        ("reason", answer.get("reason"), None),
        ("answered after", since(answer.get("answered_at"), opened), None),
        ("deadline after", since(answer.get("deadline_at"), opened), None),
        ("late", answer.get("late"), None),
        ("policy version", answer.get("policy_version"), None),
        (
            "late / duplicate scores",
            f"{len(as_list(timeline.get('late_scores')))} / {timeline.get('duplicate_scores', 0)}",
            None,
        ),
    ]
    rows = [
        [name, html.Span(shown(value), id=key) if key else shown(value)]
        for name, value, key in facts
    ]
    return html.Div([state, table(["answer", ""], rows)])


def shown(value: Any) -> str:
    """A value as table text; results and other JSON values as compact JSON."""
    if value is None or value == "":
        return DASH
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


def scores_table(timeline: dict[str, Any]) -> Any:
    """Each score, late ones last: who, when it arrived, how long the model took, what it said."""
    scores = [(as_dict(s), "") for s in as_list(timeline.get("scores"))]
    scores += [(as_dict(s), " (late)") for s in as_list(timeline.get("late_scores"))]
    if not scores:
        return html.P("no scores yet")
    rows = [
        [
            shown(s.get("model")) + late,
            shown(s.get("model_version")),
            since(s.get("arrived_at"), timeline.get("opened_at")),
            evaluation_time(s),
            "yes" if s.get("ok") else "no",
            shown(s.get("result") if s.get("ok") else s.get("error")),
        ]
        for s, late in scores
    ]
    return table(SCORE_HEADERS, rows, id=ids.INSPECT_SCORES_TABLE)


def payload_view(timeline: dict[str, Any]) -> Component:
    """The request as read back from Kafka, pretty-printed (or why it is not shown)."""
    request = timeline.get("request")
    if not isinstance(request, dict):
        return html.P("the request could no longer be read from Kafka", className="text-muted")
    text = json.dumps(request, indent=2, sort_keys=True)
    return html.Pre(text, id=ids.INSPECT_PAYLOAD, className="bg-light p-2 border rounded")


def evaluation_time(score: dict[str, Any]) -> str:
    """How long the model took (finished_at - read_at, epoch seconds)."""
    read, finished = number(score.get("read_at")), number(score.get("finished_at"))
    return DASH if read is None or finished is None else millis((finished - read) * 1000)


def inspect_values(request_id: str | None, reply: Reply | None) -> dict[str, Any]:
    """Every inspector output for a request id and its ``/v1/requests/{id}`` reply."""
    if not request_id or reply is None:
        prompt = "enter a request id"
        return {
            "message": html.P(prompt),
            "summary": None,
            "scores": None,
            "payload": None,
            "figure": empty_figure("Request", prompt),
        }
    if reply.status == 404:
        error = reply.body.get("error") or "unknown request"
        message = banner(f"unknown request id {request_id!r}: {error}")
        return {
            "message": message,
            "summary": None,
            "scores": None,
            "payload": None,
            "figure": empty_figure(f"Request {request_id}", "unknown request id"),
        }
    if not reply.ok:
        stale = dict.fromkeys(("summary", "scores", "payload", "figure"), no_update)
        return stale | {"message": None if reply.unreachable else banner(reply.error or "")}
    return {
        "message": None,
        "summary": answer_summary(reply.body),
        "scores": scores_table(reply.body),
        "payload": payload_view(reply.body),
        "figure": request_timeline(reply.body),
    }
