"""Request inspector: one request's timeline, its answer, rule and model, and each score."""

from __future__ import annotations

from typing import Any

import dash
from dash import Input, Output, State, callback, dcc, html

from console.api import worker_api
from console.figures import empty_figure
from console.panels.inspect import inspect_values

dash.register_page(__name__, path="/inspect", name="Inspect a request", order=4)


def layout(request_id: str | None = None, **_: Any) -> html.Div:
    """The inspector; ``/inspect?request_id=r-42`` opens that request directly."""
    return html.Div(
        [
            html.H2("Inspect a request"),
            dcc.Store(id="inspect-selected", data=request_id),
            html.Div(
                [
                    dcc.Input(
                        id="inspect-request-id",
                        type="text",
                        value=request_id or "",
                        placeholder="request id",
                        n_submit=0,
                        style={"width": "24em"},
                    ),
                    html.Button("inspect", id="inspect-submit", n_clicks=0),
                ]
            ),
            html.Div(id="inspect-message"),
            html.Div(id="inspect-summary"),
            dcc.Graph(id="inspect-timeline", figure=empty_figure("Request", "enter a request id")),
            html.H3("Scores"),
            html.Div(id="inspect-scores"),
        ]
    )


@callback(
    Output("inspect-selected", "data"),
    Input("inspect-submit", "n_clicks"),
    Input("inspect-request-id", "n_submit"),
    State("inspect-request-id", "value"),
    prevent_initial_call=True,
)
def select_request(_clicked: int, _submitted: int, typed: str | None) -> str:
    """Inspect the typed id (button or Enter)."""
    return (typed or "").strip()


@callback(
    output={
        "message": Output("inspect-message", "children"),
        "summary": Output("inspect-summary", "children"),
        "scores": Output("inspect-scores", "children"),
        "figure": Output("inspect-timeline", "figure"),
    },
    inputs={
        "request_id": Input("inspect-selected", "data"),
        "tick": Input("refresh", "n_intervals"),
    },
)
def show_request(request_id: str | None, tick: int | None) -> dict[str, Any]:
    """Read the request's timeline when selected and on every tick (scores may still arrive)."""
    reply = worker_api().request_timeline(request_id) if request_id else None
    return inspect_values(request_id, reply)
