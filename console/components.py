"""Small layout pieces shared by the pages: banners, number tiles, tables, value formats."""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

import dash_bootstrap_components as dbc
from dash import html
from dash.development.base_component import Component

from console.api import Reply
from console.values import number

DASH = "-"
#: Windows an operator can pick, in minutes.
WINDOWS = ((15, "last 15 minutes"), (60, "last hour"), (1440, "last 24 hours"))


def banner(message: str) -> Component:
    """A red alert line, e.g. "worker unreachable: ..."."""
    alert: Component = dbc.Alert(message, color="danger", className="banner py-2")
    return alert


def page_problem(reply: Reply, what: str) -> Component | None:
    """A banner for a failed read; outages are left to the header's worker banner."""
    if reply.ok or reply.unreachable:
        return None
    return banner(f"{what}: {reply.error}")


def notice(message: str) -> Component:
    """A green confirmation line."""
    alert: Component = dbc.Alert(message, color="success", className="notice py-2")
    return alert


def tile(label: str, value_id: str, explanation: str) -> Component:
    """A labelled number a callback fills in through ``value_id``; hovering explains it."""
    card: Component = dbc.Card(
        dbc.CardBody(
            [
                html.Div(label, className="text-muted small", id=f"{value_id}-label"),
                html.Strong(DASH, id=value_id, className="fs-5"),
                dbc.Tooltip(explanation, target=f"{value_id}-label", placement="bottom"),
            ],
            className="py-2",
        ),
        className="h-100",
    )
    return card


def tiles(cards: Sequence[Component]) -> Component:
    """A responsive row of tiles."""
    row: Component = dbc.Row(
        [dbc.Col(card, xs=6, md=4, xl=2, className="mb-2") for card in cards], className="g-2"
    )
    return row


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]], **props: Any) -> Component:
    """A compact striped table; cells may be strings or components."""
    head = html.Thead(html.Tr([html.Th(h) for h in headers]))
    body = html.Tbody([html.Tr([html.Td(c) for c in row]) for row in rows])
    shown: Component = dbc.Table(
        [head, body], striped=True, hover=True, size="sm", responsive=True, **props
    )
    return shown


def window_picker(component_id: str) -> Component:
    """Buttons choosing the stats window in minutes (default: the last hour)."""
    options = [{"label": label, "value": minutes} for minutes, label in WINDOWS]
    picker: Component = dbc.RadioItems(
        id=component_id,
        options=options,
        value=60,
        inline=True,
        className="btn-group",
        inputClassName="btn-check",
        labelClassName="btn btn-outline-primary btn-sm",
        labelCheckedClassName="active",
    )
    return picker


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
