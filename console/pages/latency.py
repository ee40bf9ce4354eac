"""Latency page: per-model quantile curves over time and the evaluation-time distribution."""

from __future__ import annotations

from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, callback, dcc, html, no_update

from console import ids
from console.api import worker_api
from console.components import page_problem, since_ms, window_picker
from console.figures import empty_figure, latency_distribution, quantile_curves
from console.values import as_dict, as_list

# dash ships register_page without annotations, so strict mypy sees an untyped call
dash.register_page(__name__, path="/latency", name="Latency", order=3)  # type: ignore[no-untyped-call]

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
                dbc.RadioItems(
                    id=ids.LATENCY_METRIC, options=METRICS, value="eval_ms", inline=True
                ),
                dcc.Dropdown(
                    id=ids.LATENCY_MODELS,
                    multi=True,
                    placeholder="all models (pick one or a few)",
                    options=[],
                    style={"minWidth": "22em"},
                ),
            ],
            className="d-flex flex-wrap gap-3 align-items-center mb-2",
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
    Output(ids.LATENCY_MODELS, "options"),
    Input(ids.REFRESH, "n_intervals"),
    Input(ids.LATENCY_WINDOW, "value"),
    Input(ids.LATENCY_METRIC, "value"),
    Input(ids.LATENCY_MODELS, "value"),
)
def refresh_latency(
    _: int | None, minutes: int | None, metric: str | None, models: list[str] | None
) -> tuple[Any, ...]:
    """Read the window's per-minute buckets of the picked models (all when none is picked);
    keep the last figures while the worker is away."""
    api = worker_api()
    stats = api.stats(since=since_ms(minutes), buckets=True, models=models or None)
    if not stats.ok:
        return no_update, no_update, page_problem(stats, "stats"), no_update
    curves = quantile_curves(stats.body, metric or "eval_ms")
    registry = api.models()
    known = [as_dict(m).get("name") for m in as_list(registry.body.get("models"))]
    names = sorted({*as_dict(stats.body.get("models")), *(n for n in known if isinstance(n, str))})
    return curves, latency_distribution(stats.body), None, names
