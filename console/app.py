"""The Dash console: pages under ``console/pages``; run with ``rendezvous console``."""

from __future__ import annotations

from pathlib import Path

import dash
import dash_bootstrap_components as dbc
import flask
import flask_bootstrap
from dash import dcc, html

from console import ids, static
from console.cpu_priority import yield_cpu
from console.header import header
from console.settings import ConsoleSettings, get_console_settings

#: Bootstrap 5.3's stylesheet, served by the console itself so it works without internet
#: (the copy bootstrap-flask ships; dash-bootstrap-components brings the components).
BOOTSTRAP_CSS = Path(flask_bootstrap.__file__).parent / "static/bootstrap5/css/bootstrap.min.css"
STYLESHEET_ROUTE = "/console-static/bootstrap.min.css"


def serve_bootstrap() -> flask.Response:
    """The Bootstrap stylesheet (cached by the browser for a day)."""
    return flask.send_file(BOOTSTRAP_CSS, mimetype="text/css", max_age=86_400)


def create_console(settings: ConsoleSettings) -> dash.Dash:
    """Build the Dash app: navbar, worker banner, token store, one shared refresh interval."""
    app = dash.Dash(
        __name__,
        use_pages=True,
        title="rendezvous console",
        pages_folder="pages",
        external_stylesheets=[STYLESHEET_ROUTE, static.STYLE_ROUTE],
        external_scripts=[static.SCRIPT_ROUTE],
    )
    app.server.add_url_rule(STYLESHEET_ROUTE, "bootstrap_css", serve_bootstrap)
    static.add_routes(app.server)
    app.layout = html.Div(
        [
            header(dash.page_registry.values()),
            dcc.Store(id=ids.ADMIN_TOKEN, storage_type="session"),
            dcc.Store(id=ids.WORKER_BANNER_SHOWN),
            dcc.Interval(id=ids.REFRESH, interval=settings.refresh_ms),
            dbc.Container(
                [html.Div(id=ids.WORKER_BANNER), dash.page_container],
                fluid=True,
                className="py-3",
            ),
        ]
    )
    return app


def run() -> None:
    """Serve the console (binds 127.0.0.1 unless RENDEZVOUS_CONSOLE_HOST says otherwise)."""
    settings = get_console_settings()
    yield_cpu(settings)
    create_console(settings).run(host=settings.host, port=settings.port, debug=False)
