"""The models table and its controls: rows from ``/v1/models`` + ``/v1/stats``, changes by PUT."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from dash import dcc, html, no_update

from console import ids
from console.api import Reply, WorkerAPI
from console.components import DASH, banner, clock, millis, notice, page_problem, percent, table
from console.values import as_dict, as_list, number

ACTIONS = {"live": "deploy", "shadow": "shadow", "off": "undeploy"}
CELLS = {
    "state": "state",
    "priority": "priority",
    "backstop": "backstop",
    "win_rate": "win rate",
    "p99_eval": "p99 eval",
    "agree_official": "agrees with answer",
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
    cells = {
        "state": state or DASH,
        "priority": DASH if priority is None else str(priority),
        "backstop": "yes" if backstop else "no",
        "win_rate": percent(stats.get("win_rate")),
        "p99_eval": millis(as_dict(stats.get("eval_ms")).get("p99")),
        "agree_official": agreement(stats.get("agree_official")),
        "agree_canary": agreement(stats.get("agree_canary")),
        "would_have_won": would_have_won,
    }
    return {"name": name, "priority": priority, "backstop": backstop, "cells": cells}


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


def controls(name: str, priority: Any) -> list[html.Div]:
    """The state buttons, the priority input + apply button and the backstop toggle of a row."""
    buttons = [
        html.Button(label, id=ids.model_action(name, state), **hooks(name, state))
        for state, label in ACTIONS.items()
    ]
    priority_input = dcc.Input(
        id=ids.model_priority(name),
        type="number",
        step=1,
        value=priority,
        style={"width": "5em"},
    )
    apply = html.Button("apply", id=ids.model_priority_apply(name), **hooks(name, "priority"))
    toggle = html.Button("toggle", id=ids.model_backstop(name), **hooks(name, "backstop"))
    return [html.Div(buttons), html.Div([priority_input, apply]), html.Div(toggle)]


def models_table(rows: Sequence[Mapping[str, Any]]) -> html.Table | html.P:
    """The whole table (rebuilt only when the set of models changes)."""
    if not rows:
        return html.P("no models yet")
    body = [
        [
            html.Strong(row["name"]),
            *(html.Span(row["cells"][f], id=ids.model_cell(row["name"], f)) for f in CELLS),
            *controls(row["name"], row["priority"]),
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
    """Rebuild the table when models come or go; otherwise only refresh cell texts in place.

    Refreshing in place keeps what an operator is typing into a priority input.
    """
    if rows is None:  # nothing loaded yet
        return no_update, no_update, [no_update] * len(cell_ids)
    names = [row["name"] for row in rows]
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


def change_feedback(model: str, changes: Mapping[str, Any], reply: Reply) -> html.Div:
    """A confirmation naming the new registry version, or the error (e.g. 403, 422)."""
    if not reply.ok:
        return banner(f"{model}: {describe(changes)} failed: {reply.error}")
    version = reply.body.get("version", "?")
    return notice(f"{model}: {describe(changes)} applied (registry version {version})")
