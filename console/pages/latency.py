"""Latency page: per-model quantile curves over time and the evaluation-time distribution."""

from __future__ import annotations

from typing import Any

import dash
from dash import Input, Output, callback, dcc, html, no_update

from console import ids
from console.api import worker_api
from console.components import page_problem, since_ms, window_picker
from console.figures import empty_figure, latency_distribution, quantile_curves

# dash ships register_page without annotations, so strict mypy sees an untyped call
dash.register_page(__name__, path="/latency", name="Latency", order=2)  # type: ignore[no-untyped-call]

METRICS = [
    {"label": "evaluation time", "value": "eval_ms"},
    {"label": "round trip (opened -> score arrived)", "value": "rtt_ms"},
]

layout = html.Div(
    [
        html.H2("Latency"),
        html.Div(
            [
                window_picker(ids.LATENCY_WINDOW),
                dcc.RadioItems(
                    id=ids.LATENCY_METRIC, options=METRICS, value="eval_ms", inline=True
                ),
            ],
            style={"display": "flex", "gap": "2em", "alignItems": "center"},
        ),
        html.Div(id=ids.LATENCY_MESSAGE),
        dcc.Graph(id=ids.LATENCY_QUANTILES, figure=empty_figure("Evaluation latency")),
        dcc.Graph(id=ids.LATENCY_DISTRIBUTION, figure=empty_figure("Evaluation time distribution")),
    ]
)


@callback(
    Output(ids.LATENCY_QUANTILES, "figure"),
    Output(ids.LATENCY_DISTRIBUTION, "figure"),
    Output(ids.LATENCY_MESSAGE, "children"),
    Input(ids.REFRESH, "n_intervals"),
    Input(ids.LATENCY_WINDOW, "value"),
    Input(ids.LATENCY_METRIC, "value"),
)
def refresh_latency(_: int | None, minutes: int | None, metric: str | None) -> tuple[Any, ...]:
    """Read the window's per-minute buckets; keep the last figures while the worker is away."""
    stats = worker_api().stats(since=since_ms(minutes), buckets=True)
    if not stats.ok:
        return no_update, no_update, page_problem(stats, "stats")
    curves = quantile_curves(stats.body, metric or "eval_ms")
    return curves, latency_distribution(stats.body), None
