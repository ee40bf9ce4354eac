"""Request inspector: one request's timeline, its answer, rule and model, and each score."""

from __future__ import annotations

from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, dcc, html

from console import ids
from console.api import worker_api
from console.figures import empty_figure
from console.presenters.inspect import inspect_values
from console.unchanged import changed_only

# dash ships register_page without annotations, so strict mypy sees an untyped call
dash.register_page(__name__, path="/inspect", name="Inspect", order=5)  # type: ignore[no-untyped-call]


def layout(request_id: str | None = None, **_: Any) -> html.Div:
    """The inspector; ``/inspect?request_id=r-42`` opens that request directly."""
    return html.Div(
        [
            html.H2("Inspect a request"),
            dcc.Store(id=ids.INSPECT_SELECTED, data=request_id),
            dcc.Store(id=ids.INSPECT_SHOWN),
            html.Div(
                [
                    dcc.Input(
                        id=ids.INSPECT_REQUEST_ID,
                        type="text",
                        value=request_id or "",
                        placeholder="request id",
                        n_submit=0,
                        className="form-control",
                        style={"width": "24em"},
                    ),
                    dbc.Button("inspect", id=ids.INSPECT_SUBMIT, n_clicks=0),
                ],
                className="d-flex gap-2 mb-2",
            ),
            html.Div(id=ids.INSPECT_MESSAGE),
            html.Div(id=ids.INSPECT_SUMMARY),
            dcc.Graph(
                id=ids.INSPECT_TIMELINE, figure=empty_figure("Request", "enter a request id")
            ),
            html.H4("Scores"),
            html.Div(id=ids.INSPECT_SCORES),
            html.H4("Payload"),
            html.Div(id=ids.INSPECT_PAYLOAD_BOX),
        ]
    )


@callback(
    Output(ids.INSPECT_SELECTED, "data"),
    Input(ids.INSPECT_SUBMIT, "n_clicks"),
    Input(ids.INSPECT_REQUEST_ID, "n_submit"),
    State(ids.INSPECT_REQUEST_ID, "value"),
    prevent_initial_call=True,
)
def select_request(_clicked: int, _submitted: int, typed: str | None) -> str:
    """Inspect the typed id (button or Enter)."""
    return (typed or "").strip()


@callback(
    output={
        "message": Output(ids.INSPECT_MESSAGE, "children"),
        "summary": Output(ids.INSPECT_SUMMARY, "children"),
        "scores": Output(ids.INSPECT_SCORES, "children"),
        "payload": Output(ids.INSPECT_PAYLOAD_BOX, "children"),
        "figure": Output(ids.INSPECT_TIMELINE, "figure"),
        "shown": Output(ids.INSPECT_SHOWN, "data"),
    },
    inputs={
        "request_id": Input(ids.INSPECT_SELECTED, "data"),
        "tick": Input(ids.REFRESH, "n_intervals"),
        "shown": State(ids.INSPECT_SHOWN, "data"),
    },
)
def show_request(
    request_id: str | None, tick: int | None, shown: dict[str, str] | None
) -> dict[str, Any]:
    """Read the request's timeline when selected and on every tick (scores may still arrive);
    send only what changed."""
    reply = worker_api().request_timeline(request_id) if request_id else None
    values, digests = changed_only(inspect_values(request_id, reply), shown)
    return values | {"shown": digests}
