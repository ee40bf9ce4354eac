"""The header on every page: navigation, the admin token field and the worker banner."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, ctx, dcc, html, no_update
from dash.development.base_component import Component

from console import ids
from console.api import Reply, worker_api
from console.components import banner
from console.unchanged import changed_only


def header(pages: Iterable[Mapping[str, Any]]) -> Component:
    """The navbar: title, one link per registered page, and the admin token controls."""
    links = [
        dbc.NavItem(dbc.NavLink(page["name"], href=page["relative_path"], active="exact"))
        for page in pages
    ]
    token = dbc.InputGroup(
        [
            dcc.Input(
                id=ids.TOKEN_INPUT,
                type="password",
                placeholder="admin token",
                autoComplete="off",
                n_submit=0,
                className="form-control",
            ),
            dbc.Button("save token", id=ids.TOKEN_SAVE, n_clicks=0, color="light"),
            dbc.Button("forget token", id=ids.TOKEN_FORGET, n_clicks=0, color="secondary"),
        ],
        size="sm",
        style={"width": "24em"},
    )
    navbar: Component = dbc.Navbar(
        dbc.Container(
            [
                dbc.NavbarBrand("rendezvous", href="/"),
                dbc.Nav(links, navbar=True, className="me-auto"),
                html.Div(
                    [token, html.Small(id=ids.TOKEN_STATUS, className="text-light ms-2")],
                    className="d-flex align-items-center",
                ),
            ],
            fluid=True,
        ),
        color="dark",
        dark=True,
        className="mb-2",
    )
    return navbar


def token_update(trigger: Any, typed: str | None) -> tuple[Any, str]:
    """The new stored token (or no_update) and the cleared input: a token is never shown back."""
    if trigger == ids.TOKEN_FORGET:
        return None, ""
    token = (typed or "").strip()
    return (token or no_update), ""


def token_status(token: str | None) -> str:
    """What the header says about the token: only whether one is set."""
    return "token set" if token else "no token: read-only"


def worker_banner(health: Reply) -> Component | None:
    """A banner when the worker is unreachable or not ready; nothing when it is healthy."""
    if health.ok:
        return None
    if health.status == 503:
        state = health.body.get("status", "not ready")
        return banner(f"worker {state} (HTTP 503): it answers again once its tables are restored")
    return banner(health.error or "worker unreachable")


@callback(
    Output(ids.ADMIN_TOKEN, "data"),
    Output(ids.TOKEN_INPUT, "value"),
    Input(ids.TOKEN_SAVE, "n_clicks"),
    Input(ids.TOKEN_INPUT, "n_submit"),
    Input(ids.TOKEN_FORGET, "n_clicks"),
    State(ids.TOKEN_INPUT, "value"),
    prevent_initial_call=True,
)
def save_token(_saved: int, _submitted: int, _forgot: int, typed: str | None) -> tuple[Any, str]:
    """Store the typed token in the session (or forget it) and clear the field."""
    return token_update(ctx.triggered_id, typed)


@callback(
    Output(ids.TOKEN_STATUS, "children"),
    Input(ids.ADMIN_TOKEN, "modified_timestamp"),
    State(ids.ADMIN_TOKEN, "data"),
)
def show_token_status(_modified: int | None, token: str | None) -> str:
    """Show whether a token is set, never the token."""
    return token_status(token)


@callback(
    Output(ids.WORKER_BANNER, "children"),
    Output(ids.WORKER_BANNER_SHOWN, "data"),
    Input(ids.REFRESH, "n_intervals"),
    State(ids.WORKER_BANNER_SHOWN, "data"),
)
def check_worker(_: int | None, shown: dict[str, str] | None) -> tuple[Any, Any]:
    """Poll ``/health`` on every refresh tick and show a banner while something is wrong
    (sent only when it changes)."""
    values, digests = changed_only({"banner": worker_banner(worker_api().health())}, shown)
    return values["banner"], digests
