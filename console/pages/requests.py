"""Requests page: the latest answers, filtered by rule, status and model, each linked."""

from __future__ import annotations

from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, clientside_callback, dcc, html

from console import ids
from console.api import worker_api
from console.presenters.requests import LIMIT, requests_values
from console.unchanged import changed_only

# dash ships register_page without annotations, so strict mypy sees an untyped call
dash.register_page(__name__, path="/requests", name="Requests", order=1)  # type: ignore[no-untyped-call]


def picker(component_id: str, placeholder: str) -> dbc.Col:
    """A clearable drop-down filter."""
    return dbc.Col(dcc.Dropdown(id=component_id, placeholder=placeholder, options=[]), md=3)


layout = html.Div(
    [
        html.H2("Requests"),
        html.P(
            f"The latest {LIMIT} answers of all workers, newest first. "
            "Click a request to inspect its timeline.",
            className="text-muted",
        ),
        dbc.Row(
            [
                picker(ids.REQUESTS_RULE, "any rule"),
                picker(ids.REQUESTS_STATUS, "any status"),
                picker(ids.REQUESTS_MODEL, "any winning model"),
            ],
            className="g-2 mb-2",
        ),
        html.Div(id=ids.REQUESTS_MESSAGE),
        dcc.Store(id=ids.REQUESTS_SHOWN),
        dcc.Store(id=ids.REQUESTS_LATEST),
        # One Markdown component, its cells updated in place: a link stays the same element
        # across refreshes, so a click on it is not lost (``.in-app-links``: see console.static).
        # It holds still while the pointer is over it (``HOLD_STILL``), so the row a user
        # points at is the row they click.
        html.Div(
            dcc.Markdown("loading...", id=ids.REQUESTS_GRID, className="in-app-links"),
            id=ids.REQUESTS_TABLE,
            className="console-table",
        ),
    ]
)


@callback(
    output={
        "table": Output(ids.REQUESTS_LATEST, "data"),
        "message": Output(ids.REQUESTS_MESSAGE, "children"),
        "rules": Output(ids.REQUESTS_RULE, "options"),
        "statuses": Output(ids.REQUESTS_STATUS, "options"),
        "models": Output(ids.REQUESTS_MODEL, "options"),
        "shown": Output(ids.REQUESTS_SHOWN, "data"),
    },
    inputs={
        "tick": Input(ids.REFRESH, "n_intervals"),
        "rule": Input(ids.REQUESTS_RULE, "value"),
        "status": Input(ids.REQUESTS_STATUS, "value"),
        "model": Input(ids.REQUESTS_MODEL, "value"),
        "shown": State(ids.REQUESTS_SHOWN, "data"),
    },
)
def refresh_requests(
    tick: int | None,
    rule: str | None,
    status: str | None,
    model: str | None,
    shown: dict[str, str] | None,
) -> dict[str, Any]:
    """Read the filtered latest answers, and the filter options, on every tick; send only
    what changed."""
    api = worker_api()
    answers = api.latest_answers(limit=LIMIT, rule=rule, status=status, model=model)
    values, digests = changed_only(requests_values(answers, api.stats()), shown)
    return values | {"shown": digests}


#: The latest table goes on screen unless the pointer is over the table: newer answers come in
#: on top at every refresh, and would move another request under the pointer. It comes once
#: the pointer leaves (at the next refresh).
HOLD_STILL = """
function (latest, _tick, shown) {
    var grid = document.getElementById("GRID");
    if (latest == null || latest === shown || (grid && grid.matches(":hover"))) {
        return window.dash_clientside.no_update;
    }
    return latest;
}
""".replace("GRID", ids.REQUESTS_GRID)

clientside_callback(
    HOLD_STILL,
    Output(ids.REQUESTS_GRID, "children"),
    Input(ids.REQUESTS_LATEST, "data"),
    Input(ids.REFRESH, "n_intervals"),
    State(ids.REQUESTS_GRID, "children"),
)
