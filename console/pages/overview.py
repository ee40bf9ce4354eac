"""Overview page: live tiles and time series of throughput, rules, outcomes and latency."""

from __future__ import annotations

from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, callback, dcc, html

from console import ids
from console.api import worker_api
from console.components import since_ms, tile, tiles, window_picker
from console.figures import empty_figure
from console.presenters.overview import FIGURES, TILES, overview_values

# dash ships register_page without annotations, so strict mypy sees an untyped call
dash.register_page(__name__, path="/", name="Overview", order=0)  # type: ignore[no-untyped-call]

GRAPH_IDS = {
    "throughput": ids.OVERVIEW_THROUGHPUT,
    "outcome_rates": ids.OVERVIEW_OUTCOME_RATES,
    "rules_over_time": ids.OVERVIEW_RULES_OVER_TIME,
    "e2e_latency": ids.OVERVIEW_E2E_LATENCY,
    "answers_by_rule": ids.OVERVIEW_ANSWERS_BY_RULE,
}


def graph(key: str) -> dbc.Col:
    """One chart in a half-width column."""
    return dbc.Col(
        dcc.Graph(id=GRAPH_IDS[key], figure=empty_figure(), style={"height": "320px"}), lg=6
    )


layout = html.Div(
    [
        html.Div(
            [
                html.H2("Overview", className="me-auto"),
                window_picker(ids.OVERVIEW_WINDOW),
            ],
            className="d-flex align-items-center gap-3 mb-2",
        ),
        html.P("worker: -", id=ids.OVERVIEW_WORKER, className="text-muted"),
        html.Div(id=ids.OVERVIEW_MESSAGE),
        tiles([tile(label, ids.overview_tile(key), help) for key, (label, help) in TILES.items()]),
        dbc.Row([graph(key) for key in FIGURES], className="g-2"),
    ]
)

OUTPUTS = (
    {key: Output(ids.overview_tile(key), "children") for key in TILES}
    | {key: Output(GRAPH_IDS[key], "figure") for key in FIGURES}
    | {
        "worker": Output(ids.OVERVIEW_WORKER, "children"),
        "message": Output(ids.OVERVIEW_MESSAGE, "children"),
    }
)


@callback(
    output=OUTPUTS,
    inputs={
        "tick": Input(ids.REFRESH, "n_intervals"),
        "minutes": Input(ids.OVERVIEW_WINDOW, "value"),
    },
)
def refresh_overview(tick: int | None, minutes: int | None) -> dict[str, Any]:
    """Read health and the window's stats (with its buckets) on every refresh tick."""
    api = worker_api()
    return overview_values(api.health(), api.stats(since=since_ms(minutes), buckets=True))
