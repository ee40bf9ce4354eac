"""Small layout pieces shared by the pages: banners, number tiles, tables, value formats."""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from dash import dcc, html

from console.api import Reply
from console.values import number

DASH = "-"
BANNER_STYLE = {
    "background": "#fde2e2",
    "border": "1px solid #f5a3a3",
    "padding": "0.5em 1em",
    "margin": "0.5em 0",
}
NOTICE_STYLE = {**BANNER_STYLE, "background": "#e3f6e3", "border": "1px solid #9cd69c"}
TILE_STYLE = {
    "display": "inline-block",
    "minWidth": "10em",
    "padding": "0.5em 1em",
    "marginRight": "1em",
    "border": "1px solid #ddd",
    "borderRadius": "4px",
}
CELL_STYLE = {"padding": "0.25em 0.75em", "borderBottom": "1px solid #eee", "textAlign": "left"}
WINDOWS = ((15, "last 15 minutes"), (60, "last hour"), (360, "last 6 hours"), (1440, "last day"))


def banner(message: str) -> html.Div:
    """A red alert line, e.g. "worker unreachable: ..."."""
    return html.Div(message, className="banner", role="alert", style=BANNER_STYLE)


def page_problem(reply: Reply, what: str) -> html.Div | None:
    """A banner for a failed read; outages are left to the header's worker banner."""
    if reply.ok or reply.unreachable:
        return None
    return banner(f"{what}: {reply.error}")


def notice(message: str) -> html.Div:
    """A green confirmation line."""
    return html.Div(message, className="notice", role="status", style=NOTICE_STYLE)


def tile(label: str, value_id: str) -> html.Div:
    """A labelled number whose value a callback fills in through ``value_id``."""
    return html.Div(
        [html.Div(label, style={"color": "#666"}), html.Strong(DASH, id=value_id)],
        style=TILE_STYLE,
    )


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]], **props: Any) -> html.Table:
    """A plain HTML table; cells may be strings or components."""
    head = html.Thead(html.Tr([html.Th(h, style=CELL_STYLE) for h in headers]))
    body = html.Tbody([html.Tr([html.Td(c, style=CELL_STYLE) for c in row]) for row in rows])
    return html.Table([head, body], style={"borderCollapse": "collapse"}, **props)


def window_picker(component_id: str) -> dcc.Dropdown:
    """A drop-down of stats windows in minutes (default: the last hour)."""
    options = [{"label": label, "value": minutes} for minutes, label in WINDOWS]
    return dcc.Dropdown(
        id=component_id, options=options, value=60, clearable=False, style={"width": "14em"}
    )


def since_ms(minutes: int | None) -> int:
    """Epoch ms ``minutes`` ago (an hour when not given)."""
    return int(time.time() * 1000) - int(minutes or 60) * 60_000


def percent(rate: Any) -> str:
    """0.953 -> "95.3%"; missing -> "-"."""
    value = number(rate)
    return DASH if value is None else f"{value:.1%}"


def millis(value: Any) -> str:
    """12.345 -> "12.3 ms"; missing -> "-"."""
    ms = number(value)
    return DASH if ms is None else f"{ms:.3g} ms" if ms < 100 else f"{ms:.0f} ms"


def amount(value: Any, digits: int = 0) -> str:
    """A count or rate for a tile; missing -> "-"."""
    n = number(value)
    return DASH if n is None else f"{n:,.{digits}f}"


def clock(epoch_s: Any) -> str:
    """Epoch seconds as a UTC wall-clock time."""
    seconds = number(epoch_s)
    if seconds is None:
        return DASH
    return datetime.fromtimestamp(seconds, tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
