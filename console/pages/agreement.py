"""Agreement page: how often models give the same label, and their score Q-Q plot vs canary."""

from __future__ import annotations

from typing import Any

import dash
from dash import Input, Output, callback, dcc, html, no_update

from console import ids
from console.api import worker_api
from console.components import page_problem, since_ms, window_picker
from console.figures import agreement_heatmap, empty_figure, qq_plot

# dash ships register_page without annotations, so strict mypy sees an untyped call
dash.register_page(__name__, path="/agreement", name="Agreement", order=4)  # type: ignore[no-untyped-call]

layout = html.Div(
    [
        html.H2("Agreement"),
        window_picker(ids.AGREEMENT_WINDOW),
        html.Div(id=ids.AGREEMENT_MESSAGE),
        html.Div(
            [
                dcc.Graph(id=ids.AGREEMENT_HEATMAP, figure=empty_figure("Agreement (same label)")),
                dcc.Graph(id=ids.AGREEMENT_QQ, figure=empty_figure("Score Q-Q")),
            ],
            style={"display": "grid", "gridTemplateColumns": "1fr 1fr", "gap": "1em"},
        ),
    ]
)


@callback(
    Output(ids.AGREEMENT_HEATMAP, "figure"),
    Output(ids.AGREEMENT_QQ, "figure"),
    Output(ids.AGREEMENT_MESSAGE, "children"),
    Input(ids.REFRESH, "n_intervals"),
    Input(ids.AGREEMENT_WINDOW, "value"),
)
def refresh_agreement(_: int | None, minutes: int | None) -> tuple[Any, ...]:
    """Read the window's agreement matrix and Q-Q quantiles."""
    stats = worker_api().stats(since=since_ms(minutes))
    if not stats.ok:
        return no_update, no_update, page_problem(stats, "stats")
    return agreement_heatmap(stats.body), qq_plot(stats.body), None
