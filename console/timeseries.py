"""Pure time series of the overview: ``/v1/stats?buckets=1`` in, plotly figures out.

Counts come from each minute's 10-second slots, so the series have a 10 s resolution over short
windows (a minute over long ones); latency quantiles come from the per-minute sketches. None of
these read clocks: "now" is the report's own ``now``, and the slot still filling is left out.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import plotly.graph_objects as go

from console.figures import RULE_COLORS, empty_figure, rule_sort_key, styled
from console.values import as_dict, as_list, number

SLOT_MS = 10_000
MINUTE_MS = 60_000
#: Windows up to this long are drawn per 10-second slot, longer ones per minute.
FINE_WINDOW_MS = 60 * MINUTE_MS
COUNTERS = ("requests", "no_result", "scores", "errors")
Row = dict[str, float]


def step_ms(stats: Mapping[str, Any]) -> int:
    """The resolution to draw a window at: 10 s up to an hour, else a minute."""
    now, since = number(stats.get("now")), number(stats.get("since"))
    if now is None or since is None:
        return SLOT_MS
    return SLOT_MS if now - since <= FINE_WINDOW_MS else MINUTE_MS


def slot_counts(stats: Mapping[str, Any]) -> dict[int, Row]:
    """Counts per 10-second slot start (epoch ms), summed over the buckets of each minute."""
    found: dict[int, Row] = {}
    for bucket in map(as_dict, as_list(stats.get("buckets"))):
        minute = number(bucket.get("minute"))
        if minute is None:
            continue
        slots = as_dict(bucket.get("slots"))
        for key in COUNTERS:
            for index, value in enumerate(as_list(slots.get(key))):
                count = number(value)
                if count is not None:
                    row = found.setdefault(
                        int(minute) + index * SLOT_MS, dict.fromkeys(COUNTERS, 0)
                    )
                    row[key] += count
    return found


def count_series(stats: Mapping[str, Any]) -> tuple[list[int], list[Row]]:
    """Complete points of the window, oldest first, zeros where nothing was answered."""
    now, since = number(stats.get("now")), number(stats.get("since"))
    counts = slot_counts(stats)
    if now is None or since is None:
        return [], []
    step = step_ms(stats)
    first, end = int(since) - int(since) % step, int(now) - int(now) % SLOT_MS
    times: list[int] = []
    rows: list[Row] = []
    for start in range(first, end - step + 1, step):
        row = dict.fromkeys(COUNTERS, 0.0)
        for slot in range(start, start + step, SLOT_MS):
            for key, value in counts.get(slot, {}).items():
                row[key] += value
        times.append(start)
        rows.append(row)
    return times, rows


def time_axis(stats: Mapping[str, Any]) -> dict[str, Any]:
    """A date axis spanning the whole window, the same on every chart of the page.

    Its ends are on 10-second slot boundaries, up to the end of the slot still filling, so
    that a chart whose points have not changed is the same figure at every refresh within a
    slot (and the page does not send it again).
    """
    now, since = number(stats.get("now")), number(stats.get("since"))
    axis: dict[str, Any] = {"type": "date"}
    if now is not None and since is not None:
        axis["range"] = [int(since) - int(since) % SLOT_MS, int(now) - int(now) % SLOT_MS + SLOT_MS]
    return axis


def ratio(numerator: float, denominator: float) -> float | None:
    """A share, or None (a gap in the line) where there is nothing to divide by."""
    return numerator / denominator if denominator else None


def throughput_figure(stats: Mapping[str, Any]) -> go.Figure:
    """Answered requests per second, per 10 s (or per minute over long windows)."""
    title = "Requests per second"
    times, rows = count_series(stats)
    if not any(row["requests"] for row in rows):
        return empty_figure(title)
    seconds = step_ms(stats) / 1000
    line = go.Scatter(
        x=times,
        y=[row["requests"] / seconds for row in rows],
        mode="lines",
        name="requests/s",
        line_shape="hv",
        fill="tozeroy",
    )
    return styled(
        go.Figure(line), title, xaxis=time_axis(stats), yaxis_title="requests/s", showlegend=False
    )


def outcome_rates_figure(stats: Mapping[str, Any]) -> go.Figure:
    """The share of answers that were ``no_result`` and of scores that were model errors."""
    title = "no_result and model error rates"
    times, rows = count_series(stats)
    if not any(row["requests"] for row in rows):
        return empty_figure(title)
    fig = go.Figure()
    fig.add_scatter(
        x=times,
        y=[ratio(r["no_result"], r["requests"]) for r in rows],
        mode="lines",
        name="no_result / answers",
        line={"color": RULE_COLORS["no_result"]},
    )
    fig.add_scatter(
        x=times,
        y=[ratio(r["errors"], r["scores"]) for r in rows],
        mode="lines",
        name="errors / scores",
        line={"color": "#9467bd", "dash": "dot"},
    )
    return styled(
        fig, title, xaxis=time_axis(stats), yaxis={"tickformat": ".1%", "rangemode": "tozero"}
    )


def rules_over_time_figure(stats: Mapping[str, Any]) -> go.Figure:
    """Answers per minute, stacked by the policy rule that chose them."""
    title = "Answers by rule per minute"
    per_rule: dict[str, dict[float, float]] = {}
    for bucket in map(as_dict, as_list(stats.get("buckets"))):
        minute = number(bucket.get("minute"))
        for rule, count in as_dict(bucket.get("by_rule")).items():
            n = number(count)
            if minute is not None and n:
                per_rule.setdefault(str(rule), {})[minute] = n
    if not per_rule:
        return empty_figure(title)
    fig = go.Figure()
    for rule in sorted(per_rule, key=rule_sort_key):
        points = sorted(per_rule[rule].items())
        fig.add_bar(
            x=[at + MINUTE_MS / 2 for at, _ in points],
            width=MINUTE_MS * 0.8,
            y=[n for _, n in points],
            name=rule,
            marker_color=RULE_COLORS.get(rule),
        )
    return styled(fig, title, barmode="stack", xaxis=time_axis(stats), yaxis_title="answers")


def e2e_latency_figure(stats: Mapping[str, Any]) -> go.Figure:
    """p50 and p99 per minute of the time from a mailbox opening to its answer."""
    title = "End-to-end latency (opened -> answered)"
    points: dict[str, list[tuple[float, float]]] = {"p50": [], "p99": []}
    for bucket in map(as_dict, as_list(stats.get("buckets"))):
        minute = number(bucket.get("minute"))
        quantiles = as_dict(bucket.get("e2e_ms"))
        for key, series in points.items():
            value = number(quantiles.get(key))
            if minute is not None and value is not None:
                series.append((minute, value))
    if not any(points.values()):
        return empty_figure(title)
    fig = go.Figure()
    for key, dash in (("p50", "solid"), ("p99", "dot")):
        series = sorted(points[key])
        fig.add_scatter(
            x=[at for at, _ in series],
            y=[ms for _, ms in series],
            mode="lines+markers",
            name=key,
            line={"dash": dash},
        )
    return styled(fig, title, xaxis=time_axis(stats), yaxis_title="ms")
