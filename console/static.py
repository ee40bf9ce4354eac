"""The console's own stylesheet and script, served from these strings (the wheel ships only
Python files): the look of tables drawn from Markdown, and in-app links inside them."""

from __future__ import annotations

import flask

STYLE_ROUTE = "/console-static/console.css"
SCRIPT_ROUTE = "/console-static/console.js"
#: Markdown tables inside ``.console-table`` look like the Bootstrap tables of the other pages
#: (``table table-sm table-striped table-hover``), which Markdown cannot give a class.
STYLE = """
.console-table { overflow-x: auto; }
.console-table table { width: 100%; margin-bottom: 1rem; border-collapse: collapse; }
.console-table th, .console-table td {
  padding: .25rem;
  vertical-align: top;
  border-bottom: var(--bs-border-width) solid var(--bs-border-color);
}
.console-table thead th { border-bottom-color: currentcolor; }
.console-table tbody tr:nth-of-type(odd) > * {
  box-shadow: inset 0 0 0 9999px rgba(var(--bs-emphasis-color-rgb), .05);
}
.console-table tbody tr:hover > * {
  box-shadow: inset 0 0 0 9999px rgba(var(--bs-emphasis-color-rgb), .075);
}
"""
#: A plain left click on a link inside ``.in-app-links`` opens its page in the console as a
#: ``dcc.Link`` does (history entry, no reload); other clicks (new tab, new window) stay as is.
SCRIPT = """
document.addEventListener("click", function (event) {
  var link = event.target.closest && event.target.closest(".in-app-links a[href]");
  if (!link || event.defaultPrevented || event.button !== 0) return;
  if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  var url = new URL(link.href, window.location.href);
  if (url.origin !== window.location.origin || (link.target && link.target !== "_self")) return;
  event.preventDefault();
  window.history.pushState({}, "", url.pathname + url.search + url.hash);
  window.dispatchEvent(new CustomEvent("_dashprivate_pushstate"));
  window.scrollTo(0, 0);
});
"""


def serve_style() -> flask.Response:
    """The console's stylesheet (cached by the browser for an hour)."""
    return flask.Response(STYLE, mimetype="text/css", headers={"Cache-Control": "max-age=3600"})


def serve_script() -> flask.Response:
    """The console's script (cached by the browser for an hour)."""
    return flask.Response(
        SCRIPT, mimetype="text/javascript", headers={"Cache-Control": "max-age=3600"}
    )


def add_routes(server: flask.Flask) -> None:
    """Serve the stylesheet and the script at ``STYLE_ROUTE`` and ``SCRIPT_ROUTE``."""
    server.add_url_rule(STYLE_ROUTE, "console_css", serve_style)
    server.add_url_rule(SCRIPT_ROUTE, "console_js", serve_script)
