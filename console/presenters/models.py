"""The models table and its controls: rows from ``/v1/models`` + ``/v1/stats``, changes by PUT."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from dash import dcc, html, no_update
from dash.development.base_component import Component

from console import ids
from console.api import Reply, WorkerAPI
from console.components import DASH, banner, clock, millis, notice, page_problem, percent, table
from console.values import as_dict, as_list, number

ACTIONS = {"live": "deploy", "shadow": "shadow", "off": "turn off"}
#: The state changes offered from each state (the registry refuses none of them, except
#: ``live`` for the canary); a model the registry does not know yet can be given any state.
TRANSITIONS = {"live": ("shadow", "off"), "shadow": ("live", "off"), "off": ("shadow",)}
BUTTON_COLORS = {"live": "success", "shadow": "secondary", "off": "danger"}
CELLS = {
    "version": "version",
    "state": "state",
    "priority": "priority",
    "backstop": "backstop",
    "win_rate": "win rate",
    "error_rate": "error rate",
    "late_rate": "late rate",
    "eval": "eval p50 / p99",
    "agree_official": "agrees with answer (not won)",
    "agree_canary": "agrees with canary",
    "would_have_won": "would have won",
}
HEADERS = ["model", *CELLS.values(), "change state", "set priority", "backstop"]
HISTORY_LIMIT = 20


def agreement(entry: Any) -> str:
    """``{"n": 120, "rate": 0.9}`` -> "90.0% of 120"."""
    entry = as_dict(entry)
    rate = percent(entry.get("rate"))
    return rate if rate == DASH else f"{rate} of {entry.get('n', '?')}"


def model_row(name: str, registered: Mapping[str, Any], stats: Mapping[str, Any]) -> dict[str, Any]:
    """One model's settings (registry first, stats as fallback) and its display cells."""
    state = registered.get("state", stats.get("state"))
    priority = registered.get("priority", stats.get("priority"))
    backstop = bool(registered.get("backstop", stats.get("backstop")))
    would_have_won = DASH
    if state == "shadow":
        would_have_won = (
            f"{percent(stats.get('would_have_won_rate'))} ({stats.get('would_have_won', 0)})"
        )
    eval_ms = as_dict(stats.get("eval_ms"))
    cells = {
        "version": registered.get("model_version") or DASH,
        "state": state or DASH,
        "priority": DASH if priority is None else str(priority),
        "backstop": "yes" if backstop else "no",
        "win_rate": percent(stats.get("win_rate")),
        "error_rate": percent(stats.get("error_rate")),
        "late_rate": percent(stats.get("late_rate")),
        "eval": f"{millis(eval_ms.get('p50'))} / {millis(eval_ms.get('p99'))}",
        "agree_official": agreement(stats.get("agree_official")),
        "agree_canary": agreement(stats.get("agree_canary")),
        "would_have_won": would_have_won,
    }
    return {
        "name": name,
        "state": state,
        "priority": priority,
        "backstop": backstop,
        "cells": cells,
    }


def model_rows(models: Reply, stats: Reply) -> list[dict[str, Any]]:
    """One row per model the registry or the stats know, registry order first."""
    registry = {
        entry["name"]: entry
        for entry in map(as_dict, as_list(models.body.get("models")))
        if isinstance(entry.get("name"), str)
    }
    per_model = as_dict(stats.body.get("models"))
    names = [*registry, *sorted(set(per_model) - set(registry))]
    return [model_row(n, as_dict(registry.get(n)), as_dict(per_model.get(n))) for n in names]


def hooks(model: str, action: str) -> dict[str, Any]:
    """``data-model``/``data-action`` attributes: browser tests select buttons by them."""
    return {"n_clicks": 0, "data-model": model, "data-action": action}


def transitions(state: Any) -> tuple[str, ...]:
    """The states a model in ``state`` can be moved to from the console."""
    return TRANSITIONS.get(str(state), tuple(ACTIONS))


def controls(name: str, state: Any, priority: Any) -> list[Component]:
    """The row's state buttons (only the changes that apply to its state), the priority input
    + apply button and the backstop toggle."""
    buttons = [
        html.Button(
            ACTIONS[target],
            id=ids.model_action(name, target),
            className=f"btn btn-sm btn-outline-{BUTTON_COLORS[target]} me-1",
            **hooks(name, target),
        )
        for target in transitions(state)
    ]
    priority_input = dcc.Input(
        id=ids.model_priority(name),
        type="number",
        step=1,
        value=priority,
        className="form-control form-control-sm",
        style={"width": "5em"},
    )
    apply = html.Button(
        "apply",
        id=ids.model_priority_apply(name),
        className="btn btn-sm btn-primary",
        **hooks(name, "priority"),
    )
    toggle = html.Button(
        "toggle",
        id=ids.model_backstop(name),
        className="btn btn-sm btn-light border",
        **hooks(name, "backstop"),
    )
    return [
        html.Div(buttons, className="text-nowrap"),
        html.Div([priority_input, apply], className="d-flex gap-1"),
        html.Div(toggle),
    ]


def models_table(rows: Sequence[Mapping[str, Any]]) -> Component:
    """The whole table (rebuilt only when models come or go, or change state)."""
    if not rows:
        return html.P("no models yet")
    body = [
        [
            html.Strong(row["name"]),
            *(html.Span(row["cells"][f], id=ids.model_cell(row["name"], f)) for f in CELLS),
            *controls(row["name"], row.get("state"), row["priority"]),
        ]
        for row in rows
    ]
    return table(HEADERS, body, id=ids.MODELS_GRID)


def cell_values(
    rows: Sequence[Mapping[str, Any]], cell_ids: Sequence[Mapping[str, str]]
) -> list[str]:
    """The text of each cell id present on the page, in the order Dash asks for them."""
    by_name = {row["name"]: row["cells"] for row in rows}
    return [by_name.get(i["model"], {}).get(i["field"], DASH) for i in cell_ids]


def render_models(
    rows: Sequence[Mapping[str, Any]] | None,
    shown: Sequence[str] | None,
    cell_ids: Sequence[Mapping[str, str]],
) -> tuple[Any, Any, Any]:
    """Rebuild the table when models come or go or change state (their buttons differ);
    otherwise only refresh cell texts in place, which keeps what an operator is typing into
    a priority input. ``shown`` is the ``name:state`` list of the table on the page."""
    if rows is None:  # nothing loaded yet
        return no_update, no_update, [no_update] * len(cell_ids)
    names = [f"{row['name']}:{row.get('state')}" for row in rows]
    if shown is None or names != list(shown):
        return models_table(rows), names, [no_update] * len(cell_ids)
    return no_update, no_update, cell_values(rows, cell_ids)


def history_table(history: Reply) -> Any:
    """The last control changes, newest first."""
    changes = [as_dict(c) for c in as_list(history.body.get("changes"))]
    if not changes:
        return html.P("no changes yet")
    rows = [
        [
            str(c.get("version", DASH)),
            clock(c.get("at")),
            c.get("actor") or DASH,
            c.get("command") or DASH,
            c.get("model") or DASH,
            compact(c.get("before")),
            compact(c.get("after")),
        ]
        for c in changes[:HISTORY_LIMIT]
    ]
    headers = ["version", "at", "actor", "command", "model", "before", "after"]
    return table(headers, rows, id=ids.MODELS_HISTORY_TABLE)


def compact(value: Any) -> str:
    """A short JSON rendering of a before/after value."""
    return DASH if value is None else json.dumps(value, sort_keys=True, separators=(", ", ": "))


def load_models(models: Reply, stats: Reply, history: Reply) -> tuple[Any, Any, list[Any]]:
    """The rows for the data store, the history and any problems; stale values stay on outages."""
    rows = model_rows(models, stats) if models.ok or stats.ok else no_update
    shown_history = history_table(history) if history.ok else no_update
    problems = [
        page_problem(reply, what)
        for reply, what in ((models, "models"), (stats, "stats"), (history, "history"))
    ]
    return rows, shown_history, [p for p in problems if p is not None]


def requested_change(
    trigger: Mapping[str, Any], priorities: Mapping[str, Any], rows: Sequence[Mapping[str, Any]]
) -> tuple[str, dict[str, Any]] | str:
    """(model, changes) for the clicked control, or why no change can be sent."""
    model, kind = str(trigger.get("model")), trigger.get("type")
    if kind == ids.MODEL_ACTION:
        return model, {"state": trigger.get("action")}
    if kind == ids.MODEL_PRIORITY_APPLY:
        value = number(priorities.get(model))
        if value is None or value != int(value):
            return f"{model}: type a whole number as priority first"
        return model, {"priority": int(value)}
    current = next((bool(r.get("backstop")) for r in rows if r.get("name") == model), False)
    return model, {"backstop": not current}


def describe(changes: Mapping[str, Any]) -> str:
    """``{"state": "off"}`` -> "state -> off"."""
    shown = {k: v if isinstance(v, str) else json.dumps(v) for k, v in changes.items()}
    return ", ".join(f"{key} -> {value}" for key, value in shown.items())


def apply_change(api: WorkerAPI, model: str, changes: dict[str, Any], token: str | None) -> Reply:
    """Send one change with the admin token (none sent without a token)."""
    if not token:
        return Reply(None, {}, "no admin token: enter it in the header first")
    return api.set_model(model, changes, token=token)


def needs_confirmation(model: str, rows: Sequence[Mapping[str, Any]]) -> bool:
    """A change to a live model is confirmed first: it may change the answers clients get."""
    return any(row.get("name") == model and row.get("state") == "live" for row in rows)


def confirmation_text(model: str, changes: Mapping[str, Any]) -> str:
    """What the confirmation dialog asks."""
    return f"{model} is live: its scores may be the answers clients get. Apply {describe(changes)}?"


def change_feedback(model: str, changes: Mapping[str, Any], reply: Reply) -> Component:
    """A confirmation naming the new registry version, or the error (e.g. 403, 422)."""
    if not reply.ok:
        return banner(f"{model}: {describe(changes)} failed: {reply.error}")
    version = reply.body.get("version", "?")
    return notice(f"{model}: {describe(changes)} applied (registry version {version})")


def model_change(
    trigger: Any,
    priorities: Mapping[str, Any],
    rows: Sequence[Mapping[str, Any]],
    pending: Mapping[str, Any] | None,
) -> tuple[str, Any]:
    """What a click leads to: ``("send", (model, changes))``, ``("ask", (model, changes))``
    for a change to a live model, ``("cancel", None)`` or ``("refuse", reason)``."""
    if trigger == ids.MODELS_CONFIRM_YES:
        if not pending:
            return "cancel", None
        return "send", (str(pending.get("model")), dict(as_dict(pending.get("changes"))))
    if trigger == ids.MODELS_CONFIRM_NO or not isinstance(trigger, Mapping):
        return "cancel", None
    change = requested_change(trigger, priorities, rows)
    if isinstance(change, str):
        return "refuse", change
    return ("ask" if needs_confirmation(change[0], rows) else "send"), change
