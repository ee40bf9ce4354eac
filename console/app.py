"""The Dash console: pages under ``console/pages``; run with ``rendezvous console``."""

from __future__ import annotations

import dash
from dash import dcc, html

from console.api import WorkerAPI
from console.settings import ConsoleSettings, get_console_settings


def create_console(settings: ConsoleSettings) -> dash.Dash:
    """Build the Dash app with one shared refresh interval for every page."""
    app = dash.Dash(__name__, use_pages=True, title="rendezvous console", pages_folder="pages")
    app.layout = html.Div(
        [
            html.Header(
                [
                    html.H1("rendezvous", style={"margin": "0"}),
                    html.Nav(
                        [
                            dcc.Link(
                                page["name"],
                                href=page["relative_path"],
                                style={"marginRight": "1em"},
                            )
                            for page in dash.page_registry.values()
                        ]
                    ),
                ],
                style={"borderBottom": "1px solid #ddd", "paddingBottom": "0.5em"},
            ),
            dcc.Interval(id="refresh", interval=settings.refresh_ms),
            dash.page_container,
        ],
        style={"fontFamily": "system-ui, sans-serif", "margin": "1em 2em"},
    )
    return app


def worker_api() -> WorkerAPI:
    """The worker client configured for this console."""
    settings = get_console_settings()
    return WorkerAPI(settings.worker_url, timeout_s=settings.timeout_s)


def run() -> None:
    """Serve the console (binds 127.0.0.1 unless RENDEZVOUS_CONSOLE_HOST says otherwise)."""
    settings = get_console_settings()
    create_console(settings).run(host=settings.host, port=settings.port, debug=False)
