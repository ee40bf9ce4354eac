"""The Dash console: pages under ``console/pages``; run with ``rendezvous console``."""

from __future__ import annotations

import dash
from dash import dcc, html

from console import ids
from console.header import header
from console.settings import ConsoleSettings, get_console_settings


def create_console(settings: ConsoleSettings) -> dash.Dash:
    """Build the Dash app: header, worker banner, token store, one shared refresh interval."""
    app = dash.Dash(__name__, use_pages=True, title="rendezvous console", pages_folder="pages")
    app.layout = html.Div(
        [
            header(dash.page_registry.values()),
            dcc.Store(id=ids.ADMIN_TOKEN, storage_type="session"),
            dcc.Interval(id=ids.REFRESH, interval=settings.refresh_ms),
            html.Div(id=ids.WORKER_BANNER),
            dash.page_container,
        ],
        style={"fontFamily": "system-ui, sans-serif", "margin": "1em 2em"},
    )
    return app


def run() -> None:
    """Serve the console (binds 127.0.0.1 unless RENDEZVOUS_CONSOLE_HOST says otherwise)."""
    settings = get_console_settings()
    create_console(settings).run(host=settings.host, port=settings.port, debug=False)
