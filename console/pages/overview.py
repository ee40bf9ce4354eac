"""Overview page: throughput, answers by rule, deadline misses, pending mailboxes, live models."""

from __future__ import annotations

from typing import Any

import dash
from dash import Input, Output, callback, dcc, html

from console.api import worker_api
from console.components import tile
from console.figures import empty_figure
from console.panels.overview import TILES, overview_values

dash.register_page(__name__, path="/", name="Overview", order=0)


def tile_id(key: str) -> str:
    """The element id of an overview number, e.g. ``overview-deadline-misses``."""
    return "overview-" + key.replace("_", "-")


layout = html.Div(
    [
        html.H2("Overview"),
        html.P("worker: -", id="overview-worker"),
        html.Div(id="overview-message"),
        html.Div([tile(label, tile_id(key)) for key, label in TILES.items()]),
        dcc.Graph(id="overview-answers-by-rule", figure=empty_figure("Answers by rule")),
    ]
)

OUTPUTS = {key: Output(tile_id(key), "children") for key in TILES} | {
    "worker": Output("overview-worker", "children"),
    "message": Output("overview-message", "children"),
    "answers_by_rule": Output("overview-answers-by-rule", "figure"),
}


@callback(output=OUTPUTS, inputs={"tick": Input("refresh", "n_intervals")})
def refresh_overview(tick: int | None) -> dict[str, Any]:
    """Read health and stats on every refresh tick."""
    api = worker_api()
    return overview_values(api.health(), api.stats())
