"""Agreement page: how often models give the same label, and their score Q-Q plot vs canary."""

from __future__ import annotations

from typing import Any

import dash
from dash import Input, Output, State, callback, dcc, html, no_update

from console import ids
from console.api import worker_api
from console.components import page_problem, since_ms, window_picker
from console.figures import agreement_heatmap, empty_figure, qq_plot
from console.unchanged import changed_only

# dash ships register_page without annotations, so strict mypy sees an untyped call
dash.register_page(__name__, path="/agreement", name="Agreement", order=4)  # type: ignore[no-untyped-call]

layout = html.Div(
    [
        html.H2("Agreement"),
        window_picker(ids.AGREEMENT_WINDOW),
        html.Div(id=ids.AGREEMENT_MESSAGE),
        dcc.Store(id=ids.AGREEMENT_SHOWN),
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
    output={
        "heatmap": Output(ids.AGREEMENT_HEATMAP, "figure"),
        "qq": Output(ids.AGREEMENT_QQ, "figure"),
        "message": Output(ids.AGREEMENT_MESSAGE, "children"),
        "shown": Output(ids.AGREEMENT_SHOWN, "data"),
    },
    inputs={
        "tick": Input(ids.REFRESH, "n_intervals"),
        "minutes": Input(ids.AGREEMENT_WINDOW, "value"),
        "shown": State(ids.AGREEMENT_SHOWN, "data"),
    },
)
def refresh_agreement(
    tick: int | None, minutes: int | None, shown: dict[str, str] | None
) -> dict[str, Any]:
    """Read the window's agreement matrix and Q-Q quantiles; send only what changed."""
    stats = worker_api().stats(since=since_ms(minutes))
    if stats.ok:
        figures = {"heatmap": agreement_heatmap(stats.body), "qq": qq_plot(stats.body)}
    else:  # the last figures stay
        figures = {"heatmap": no_update, "qq": no_update}
    values, digests = changed_only(figures | {"message": page_problem(stats, "stats")}, shown)
    return values | {"shown": digests}
