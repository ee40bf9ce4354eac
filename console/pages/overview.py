"""Overview page: is the worker up, and how many wake-ups does its deadline clock hold."""

from __future__ import annotations

import dash
from dash import Input, Output, callback, html

from console.api import Reply

dash.register_page(__name__, path="/", name="Overview")

layout = html.Div([html.H2("Overview"), html.Div(id="overview-status")])


def status_view(reply: Reply) -> html.Div:
    """Render a health reply: a clear banner when the worker is unreachable or recovering."""
    if reply.error:
        return html.Div(
            reply.error, className="banner", style={"background": "#fde2e2", "padding": "0.5em"}
        )
    state = reply.body.get("status", "unknown")
    return html.Div(
        [
            html.P(f"worker: {state}", id="worker-state"),
            html.P(f"pending wake-ups: {reply.body.get('pending_wakeups', '-')}"),
        ]
    )


@callback(Output("overview-status", "children"), Input("refresh", "n_intervals"))
def refresh_status(_: int | None) -> html.Div:
    """Poll the worker's health on every refresh tick."""
    from console.app import worker_api

    return status_view(worker_api().health())
