"""Models page: one row per model with live controls, and the control history below."""

from __future__ import annotations

from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash import ALL, Input, Output, State, callback, ctx, dcc, html, no_update

from console import ids
from console.api import worker_api
from console.components import banner
from console.presenters.models import (
    HISTORY_LIMIT,
    apply_change,
    change_feedback,
    confirmation_text,
    load_models,
    model_change,
    render_models,
)
from console.unchanged import changed_only

# dash ships register_page without annotations, so strict mypy sees an untyped call
dash.register_page(__name__, path="/models", name="Models", order=2)  # type: ignore[no-untyped-call]

confirm = dbc.Modal(
    [
        dbc.ModalHeader(dbc.ModalTitle("Change a live model?")),
        dbc.ModalBody(id=ids.MODELS_CONFIRM_TEXT),
        dbc.ModalFooter(
            [
                dbc.Button("cancel", id=ids.MODELS_CONFIRM_NO, color="secondary", n_clicks=0),
                dbc.Button(
                    "apply the change", id=ids.MODELS_CONFIRM_YES, color="danger", n_clicks=0
                ),
            ]
        ),
    ],
    id=ids.MODELS_CONFIRM,
    is_open=False,
)

layout = html.Div(
    [
        html.H2("Models"),
        dcc.Store(id=ids.MODELS_DATA),
        dcc.Store(id=ids.MODELS_NAMES),
        dcc.Store(id=ids.MODELS_CHANGED, data=0),
        dcc.Store(id=ids.MODELS_PENDING),
        dcc.Store(id=ids.MODELS_SHOWN),
        confirm,
        html.Div(id=ids.MODELS_MESSAGE),
        html.Div(id=ids.MODELS_FEEDBACK),
        html.Div(html.P("loading..."), id=ids.MODELS_TABLE),
        html.H4(f"Control history (last {HISTORY_LIMIT} changes)", className="mt-4"),
        html.Div(id=ids.MODELS_HISTORY),
    ]
)


@callback(
    output={
        "rows": Output(ids.MODELS_DATA, "data"),
        "history": Output(ids.MODELS_HISTORY, "children"),
        "message": Output(ids.MODELS_MESSAGE, "children"),
        "shown": Output(ids.MODELS_SHOWN, "data"),
    },
    inputs={
        "tick": Input(ids.REFRESH, "n_intervals"),
        "changed": Input(ids.MODELS_CHANGED, "data"),
        "shown": State(ids.MODELS_SHOWN, "data"),
    },
)
def refresh_models(
    tick: int | None, changed: int | None, shown: dict[str, str] | None
) -> dict[str, Any]:
    """Read the registry, the stats and the history on every tick and after each change;
    send only what changed (unchanged rows leave the table as it is)."""
    api = worker_api()
    rows, history, message = load_models(
        api.models(), api.stats(), api.history(limit=HISTORY_LIMIT)
    )
    values, digests = changed_only({"rows": rows, "history": history, "message": message}, shown)
    return values | {"shown": digests}


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
    output={
        "feedback": Output(ids.MODELS_FEEDBACK, "children"),
        "changed": Output(ids.MODELS_CHANGED, "data"),
        "pending": Output(ids.MODELS_PENDING, "data"),
        "confirm": Output(ids.MODELS_CONFIRM, "is_open"),
        "question": Output(ids.MODELS_CONFIRM_TEXT, "children"),
    },
    inputs={
        "clicks": (
            Input(ids.model_action(ALL, ALL), "n_clicks"),
            Input(ids.model_priority_apply(ALL), "n_clicks"),
            Input(ids.model_backstop(ALL), "n_clicks"),
            Input(ids.MODELS_CONFIRM_YES, "n_clicks"),
            Input(ids.MODELS_CONFIRM_NO, "n_clicks"),
        ),
        "priorities": State(ids.model_priority(ALL), "value"),
        "token": State(ids.ADMIN_TOKEN, "data"),
        "rows": State(ids.MODELS_DATA, "data"),
        "changed": State(ids.MODELS_CHANGED, "data"),
        "pending": State(ids.MODELS_PENDING, "data"),
    },
    prevent_initial_call=True,
)
def change_model(
    clicks: tuple[Any, ...],
    priorities: list[Any],
    token: str | None,
    rows: list[dict[str, Any]] | None,
    changed: int | None,
    pending: dict[str, Any] | None,
) -> dict[str, Any]:
    """Send the clicked change with the token; a change to a live model is asked about first."""
    unchanged = dict.fromkeys(("feedback", "changed", "pending", "confirm", "question"), no_update)
    if not ctx.triggered_id or not ctx.triggered[0]["value"]:
        return unchanged
    typed = {field["id"]["model"]: field.get("value") for field in ctx.args_grouping["priorities"]}
    step, change = model_change(ctx.triggered_id, typed, rows or [], pending)
    if step == "refuse":
        return unchanged | {"feedback": banner(change)}
    if step == "cancel":
        return unchanged | {"pending": None, "confirm": False}
    model, changes = change
    if step == "ask":
        return unchanged | {
            "pending": {"model": model, "changes": changes},
            "confirm": True,
            "question": confirmation_text(model, changes),
        }
    reply = apply_change(worker_api(), model, changes, token)
    return unchanged | {
        "feedback": change_feedback(model, changes, reply),
        "changed": (changed or 0) + 1 if reply.ok else no_update,
        "pending": None,
        "confirm": False,
    }
