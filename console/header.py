"""The header on every page: navigation, the admin token field and the worker banner."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from dash import Input, Output, State, callback, ctx, dcc, html, no_update

from console import ids
from console.api import Reply, worker_api
from console.components import banner


def header(pages: Iterable[Mapping[str, Any]]) -> html.Header:
    """Title, one link per registered page, and the admin token controls."""
    links = [
        dcc.Link(page["name"], href=page["relative_path"], style={"marginRight": "1em"})
        for page in pages
    ]
    token = html.Div(
        [
            dcc.Input(
                id=ids.TOKEN_INPUT,
                type="password",
                placeholder="admin token",
                autoComplete="off",
                n_submit=0,
            ),
            html.Button("save token", id=ids.TOKEN_SAVE, n_clicks=0),
            html.Button("forget token", id=ids.TOKEN_FORGET, n_clicks=0),
            html.Span(id=ids.TOKEN_STATUS, style={"marginLeft": "0.5em", "color": "#666"}),
        ],
        style={"float": "right"},
    )
    return html.Header(
        [token, html.H1("rendezvous", style={"margin": "0"}), html.Nav(links)],
        style={"borderBottom": "1px solid #ddd", "paddingBottom": "0.5em"},
    )


def token_update(trigger: Any, typed: str | None) -> tuple[Any, str]:
    """The new stored token (or no_update) and the cleared input: a token is never shown back."""
    if trigger == ids.TOKEN_FORGET:
        return None, ""
    token = (typed or "").strip()
    return (token or no_update), ""


def token_status(token: str | None) -> str:
    """What the header says about the token: only whether one is set."""
    return "token set" if token else "no token: read-only"


def worker_banner(health: Reply) -> html.Div | None:
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


@callback(Output(ids.WORKER_BANNER, "children"), Input(ids.REFRESH, "n_intervals"))
def check_worker(_: int | None) -> html.Div | None:
    """Poll ``/health`` on every refresh tick and show a banner while something is wrong."""
    return worker_banner(worker_api().health())
