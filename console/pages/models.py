"""Models page: one row per model with live controls, and the control history below."""

from __future__ import annotations

from typing import Any

import dash
from dash import ALL, Input, Output, State, callback, ctx, dcc, html, no_update

from console import ids
from console.api import worker_api
from console.components import banner
from console.presenters.models import (
    HISTORY_LIMIT,
    apply_change,
    change_feedback,
    load_models,
    render_models,
    requested_change,
)

# dash ships register_page without annotations, so strict mypy sees an untyped call
dash.register_page(__name__, path="/models", name="Models", order=1)  # type: ignore[no-untyped-call]

layout = html.Div(
    [
        html.H2("Models"),
        dcc.Store(id=ids.MODELS_DATA),
        dcc.Store(id=ids.MODELS_NAMES),
        dcc.Store(id=ids.MODELS_CHANGED, data=0),
        html.Div(id=ids.MODELS_MESSAGE),
        html.Div(id=ids.MODELS_FEEDBACK),
        html.Div(html.P("loading..."), id=ids.MODELS_TABLE),
        html.H3(f"Control history (last {HISTORY_LIMIT} changes)"),
        html.Div(id=ids.MODELS_HISTORY),
    ]
)


@callback(
    Output(ids.MODELS_DATA, "data"),
    Output(ids.MODELS_HISTORY, "children"),
    Output(ids.MODELS_MESSAGE, "children"),
    Input(ids.REFRESH, "n_intervals"),
    Input(ids.MODELS_CHANGED, "data"),
)
def refresh_models(_tick: int | None, _changed: int | None) -> tuple[Any, Any, list[Any]]:
    """Read the registry, the stats and the history on every tick and after each change."""
    api = worker_api()
    return load_models(api.models(), api.stats(), api.history(limit=HISTORY_LIMIT))


@callback(
    Output(ids.MODELS_TABLE, "children"),
    Output(ids.MODELS_NAMES, "data"),
    Output(ids.model_cell(ALL, ALL), "children"),
    Input(ids.MODELS_DATA, "data"),
    State(ids.MODELS_NAMES, "data"),
)
def show_models(rows: list[dict[str, Any]] | None, shown: list[str] | None) -> tuple[Any, ...]:
    """Rebuild the table when models come or go, else update its cells in place."""
    cell_ids = [output["id"] for output in ctx.outputs_list[2]]
    return render_models(rows, shown, cell_ids)


@callback(
    Output(ids.MODELS_FEEDBACK, "children"),
    Output(ids.MODELS_CHANGED, "data"),
    Input(ids.model_action(ALL, ALL), "n_clicks"),
    Input(ids.model_priority_apply(ALL), "n_clicks"),
    Input(ids.model_backstop(ALL), "n_clicks"),
    State(ids.model_priority(ALL), "value"),
    State(ids.ADMIN_TOKEN, "data"),
    State(ids.MODELS_DATA, "data"),
    State(ids.MODELS_CHANGED, "data"),
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
