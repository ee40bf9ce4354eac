"""Overview page: throughput, answers by rule, deadline misses, pending mailboxes, live models."""

from __future__ import annotations

from typing import Any

import dash
from dash import Input, Output, callback, dcc, html

from console import ids
from console.api import worker_api
from console.components import tile
from console.figures import empty_figure
from console.presenters.overview import TILES, overview_values

# dash ships register_page without annotations, so strict mypy sees an untyped call
dash.register_page(__name__, path="/", name="Overview", order=0)  # type: ignore[no-untyped-call]


layout = html.Div(
    [
        html.H2("Overview"),
        html.P("worker: -", id=ids.OVERVIEW_WORKER),
        html.Div(id=ids.OVERVIEW_MESSAGE),
        html.Div([tile(label, ids.overview_tile(key)) for key, label in TILES.items()]),
        dcc.Graph(id=ids.OVERVIEW_ANSWERS_BY_RULE, figure=empty_figure("Answers by rule")),
    ]
)

OUTPUTS = {key: Output(ids.overview_tile(key), "children") for key in TILES} | {
    "worker": Output(ids.OVERVIEW_WORKER, "children"),
    "message": Output(ids.OVERVIEW_MESSAGE, "children"),
    "answers_by_rule": Output(ids.OVERVIEW_ANSWERS_BY_RULE, "figure"),
}


@callback(output=OUTPUTS, inputs={"tick": Input(ids.REFRESH, "n_intervals")})
def refresh_overview(tick: int | None) -> dict[str, Any]:
    """Read health and stats on every refresh tick."""
    api = worker_api()
    return overview_values(api.health(), api.stats())
