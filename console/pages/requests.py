"""Requests page: the latest answers, filtered by rule, status and model, each linked."""

from __future__ import annotations

from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, callback, dcc, html

from console import ids
from console.api import worker_api
from console.presenters.requests import LIMIT, requests_values

# dash ships register_page without annotations, so strict mypy sees an untyped call
dash.register_page(__name__, path="/requests", name="Requests", order=1)  # type: ignore[no-untyped-call]


def picker(component_id: str, placeholder: str) -> dbc.Col:
    """A clearable drop-down filter."""
    return dbc.Col(dcc.Dropdown(id=component_id, placeholder=placeholder, options=[]), md=3)


layout = html.Div(
    [
        html.H2("Requests"),
        html.P(
            f"The latest {LIMIT} answers of all workers, newest first. "
            "Click a request to inspect its timeline.",
            className="text-muted",
        ),
        dbc.Row(
            [
                picker(ids.REQUESTS_RULE, "any rule"),
                picker(ids.REQUESTS_STATUS, "any status"),
                picker(ids.REQUESTS_MODEL, "any winning model"),
            ],
            className="g-2 mb-2",
        ),
        html.Div(id=ids.REQUESTS_MESSAGE),
        html.Div(html.P("loading..."), id=ids.REQUESTS_TABLE),
    ]
)


@callback(
    output={
        "table": Output(ids.REQUESTS_TABLE, "children"),
        "message": Output(ids.REQUESTS_MESSAGE, "children"),
        "rules": Output(ids.REQUESTS_RULE, "options"),
        "statuses": Output(ids.REQUESTS_STATUS, "options"),
        "models": Output(ids.REQUESTS_MODEL, "options"),
    },
    inputs={
        "tick": Input(ids.REFRESH, "n_intervals"),
        "rule": Input(ids.REQUESTS_RULE, "value"),
        "status": Input(ids.REQUESTS_STATUS, "value"),
        "model": Input(ids.REQUESTS_MODEL, "value"),
    },
)
def refresh_requests(
    tick: int | None, rule: str | None, status: str | None, model: str | None
) -> dict[str, Any]:
    """Read the filtered latest answers, and the filter options, on every tick."""
    api = worker_api()
    answers = api.latest_answers(limit=LIMIT, rule=rule, status=status, model=model)
    return requests_values(answers, api.stats())
