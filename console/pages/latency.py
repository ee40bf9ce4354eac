"""Latency page: per-model quantile curves over time and the evaluation-time distribution."""

from __future__ import annotations

from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, dcc, html, no_update

from console import ids
from console.api import worker_api
from console.components import page_problem, since_ms, window_picker
from console.figures import empty_figure, latency_distribution, quantile_curves
from console.unchanged import changed_only
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
        dcc.Store(id=ids.LATENCY_SHOWN),
        dcc.Graph(id=ids.LATENCY_QUANTILES, figure=empty_figure("Evaluation latency")),
        dcc.Graph(id=ids.LATENCY_DISTRIBUTION, figure=empty_figure("Evaluation time distribution")),
    ]
)


@callback(
    output={
        "quantiles": Output(ids.LATENCY_QUANTILES, "figure"),
        "distribution": Output(ids.LATENCY_DISTRIBUTION, "figure"),
        "message": Output(ids.LATENCY_MESSAGE, "children"),
        "models": Output(ids.LATENCY_MODELS, "options"),
        "shown": Output(ids.LATENCY_SHOWN, "data"),
    },
    inputs={
        "tick": Input(ids.REFRESH, "n_intervals"),
        "minutes": Input(ids.LATENCY_WINDOW, "value"),
        "metric": Input(ids.LATENCY_METRIC, "value"),
        "models": Input(ids.LATENCY_MODELS, "value"),
        "shown": State(ids.LATENCY_SHOWN, "data"),
    },
)
def refresh_latency(
    tick: int | None,
    minutes: int | None,
    metric: str | None,
    models: list[str] | None,
    shown: dict[str, str] | None,
) -> dict[str, Any]:
    """Read the window's per-minute buckets of the picked models (all when none is picked);
    keep the last figures while the worker is away, and send only what changed."""
    api = worker_api()
    stats = api.stats(since=since_ms(minutes), buckets=True, models=models or None)
    values: dict[str, Any] = {"message": page_problem(stats, "stats")}
    if stats.ok:
        registry = api.models()
        known = [as_dict(m).get("name") for m in as_list(registry.body.get("models"))]
        names = {*as_dict(stats.body.get("models")), *(n for n in known if isinstance(n, str))}
        values |= {
            "quantiles": quantile_curves(stats.body, metric or "eval_ms"),
            "distribution": latency_distribution(stats.body),
            "models": sorted(names),
        }
    else:  # the last figures stay
        values |= dict.fromkeys(("quantiles", "distribution", "models"), no_update)
    values, digests = changed_only(values, shown)
    return values | {"shown": digests}
