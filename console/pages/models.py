"""Models page: one row per model with live controls, and the control history below."""

from __future__ import annotations

from typing import Any

import dash
from dash import ALL, Input, Output, State, callback, ctx, dcc, html, no_update

from console.api import worker_api
from console.components import banner
from console.panels.models import (
    HISTORY_LIMIT,
    apply_change,
    change_feedback,
    load_models,
    render_models,
    requested_change,
)

dash.register_page(__name__, path="/models", name="Models", order=1)

layout = html.Div(
    [
        html.H2("Models"),
        dcc.Store(id="models-data"),
        dcc.Store(id="models-names"),
        dcc.Store(id="models-changed", data=0),
        html.Div(id="models-message"),
        html.Div(id="models-feedback"),
        html.Div(html.P("loading..."), id="models-table"),
        html.H3(f"Control history (last {HISTORY_LIMIT} changes)"),
        html.Div(id="models-history"),
    ]
)


@callback(
    Output("models-data", "data"),
    Output("models-history", "children"),
    Output("models-message", "children"),
    Input("refresh", "n_intervals"),
    Input("models-changed", "data"),
)
def refresh_models(_tick: int | None, _changed: int | None) -> tuple[Any, Any, list[Any]]:
    """Read the registry, the stats and the history on every tick and after each change."""
    api = worker_api()
    return load_models(api.models(), api.stats(), api.history(limit=HISTORY_LIMIT))


@callback(
    Output("models-table", "children"),
    Output("models-names", "data"),
    Output({"type": "model-cell", "model": ALL, "field": ALL}, "children"),
    Input("models-data", "data"),
    State("models-names", "data"),
)
def show_models(rows: list[dict[str, Any]] | None, shown: list[str] | None) -> tuple[Any, ...]:
    """Rebuild the table when models come or go, else update its cells in place."""
    cell_ids = [output["id"] for output in ctx.outputs_list[2]]
    return render_models(rows, shown, cell_ids)


@callback(
    Output("models-feedback", "children"),
    Output("models-changed", "data"),
    Input({"type": "model-action", "model": ALL, "action": ALL}, "n_clicks"),
    Input({"type": "model-priority-apply", "model": ALL}, "n_clicks"),
    Input({"type": "model-backstop", "model": ALL}, "n_clicks"),
    State({"type": "model-priority", "model": ALL}, "value"),
    State("admin-token", "data"),
    State("models-data", "data"),
    State("models-changed", "data"),
    prevent_initial_call=True,
)
def change_model(
    _actions: list[int | None],
    _applies: list[int | None],
    _toggles: list[int | None],
    _priorities: list[Any],
    token: str | None,
    rows: list[dict[str, Any]] | None,
    changed: int | None,
) -> tuple[Any, Any]:
    """Send the change of the clicked button (state, priority or backstop) with the token."""
    if not ctx.triggered_id or not ctx.triggered[0]["value"]:
        return no_update, no_update
    priorities = {state["id"]["model"]: state.get("value") for state in ctx.states_list[0]}
    change = requested_change(ctx.triggered_id, priorities, rows or [])
    if isinstance(change, str):
        return banner(change), no_update
    model, changes = change
    reply = apply_change(worker_api(), model, changes, token)
    return change_feedback(model, changes, reply), (changed or 0) + 1 if reply.ok else no_update
