"""Pure figure builders: plain dicts from the worker's JSON in, a plotly ``go.Figure`` out.

None of these read settings, clocks or the network, and none raise on missing or odd data:
anything they cannot plot becomes a figure that says "no data yet".
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from itertools import accumulate, pairwise
from typing import Any

import plotly.graph_objects as go
import plotly.io as pio
from plotly.colors import qualitative

from console.values import as_dict, as_list, number

NO_DATA = "no data yet"
QUANTILES = (
    ("p50", "p50", "solid"),
    ("p90", "p90", "dash"),
    ("p99", "p99", "dot"),
    ("p999", "p99.9", "dashdot"),
)
RULE_ORDER = ("top_priority", "step", "all_answered", "deadline", "backstop", "no_result")
RULE_COLORS = {"no_result": "#d62728", "rejected": "#7f7f7f", "backstop": "#ff7f0e"}
PALETTE = qualitative.Plotly
#: Every figure starts from this template: plotly applies the default one as it builds a figure,
#: without the validation and deep copy that setting it on a built figure costs (about 9 ms a
#: figure, most of the console's work on a refresh).
TEMPLATE = "plotly_white"
pio.templates.default = TEMPLATE


def color_for(index: int) -> str:
    """A stable colour for the index-th model."""
    return str(PALETTE[index % len(PALETTE)])


def styled(fig: go.Figure, title: str, **layout: Any) -> go.Figure:
    """Apply the console's common layout; ``uirevision`` keeps zoom across live refreshes."""
    fig.update_layout(
        title=title,
        uirevision="console",
        margin={"l": 60, "r": 20, "t": 50, "b": 50},
        **layout,
    )
    return fig


def empty_figure(title: str = "", message: str = NO_DATA) -> go.Figure:
    """A blank figure carrying a centred message instead of data."""
    fig = go.Figure()
    fig.add_annotation(
        text=message, x=0.5, y=0.5, xref="paper", yref="paper", showarrow=False, font={"size": 16}
    )
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return styled(fig, title)


def rule_sort_key(rule: str) -> tuple[int, int, str]:
    """Order rules as the policy tries them: top_priority, step_0, step_1, ..., no_result."""
    step = re.fullmatch(r"step_(\d+)", rule)
    if step:
        return (RULE_ORDER.index("step"), int(step.group(1)), rule)
    rank = RULE_ORDER.index(rule) if rule in RULE_ORDER else len(RULE_ORDER)
    return (rank, 0, rule)


def answers_by_rule(stats: Mapping[str, Any]) -> go.Figure:
    """Bar chart of answers per policy rule from ``totals.by_rule``."""
    title = "Answers by rule"
    by_rule = as_dict(as_dict(stats.get("totals")).get("by_rule"))
    counts = {rule: number(n) for rule, n in by_rule.items()}
    rules = sorted((r for r, n in counts.items() if n is not None), key=rule_sort_key)
    if not any(counts[r] for r in rules):
        return empty_figure(title)
    values = [int(n) if (n := counts[r]) is not None and n.is_integer() else n for r in rules]
    colors = [RULE_COLORS.get(r, "#1f77b4") for r in rules]
    bar = go.Bar(x=rules, y=values, text=values, marker_color=colors, name="answers")
    return styled(go.Figure(bar), title, xaxis_title="rule", yaxis_title="answers")


def bucket_series(
    buckets: Iterable[Any], metric: str
) -> dict[str, dict[str, tuple[list[float], list[float | None]]]]:
    """Per model and quantile key: the bucket minutes and values (None where missing)."""
    series: dict[str, dict[str, tuple[list[float], list[float | None]]]] = {}
    for bucket in map(as_dict, buckets):
        minute = number(bucket.get("minute"))
        if minute is None:
            continue
        for model, entry in as_dict(bucket.get("models")).items():
            values = as_dict(as_dict(entry).get(metric))
            per_model = series.setdefault(model, {key: ([], []) for key, _, _ in QUANTILES})
            for key, _, _ in QUANTILES:
                xs, ys = per_model[key]
                xs.append(minute)
                ys.append(number(values.get(key)))
    return series


def quantile_curves(stats: Mapping[str, Any], metric: str = "eval_ms") -> go.Figure:
    """p50/p90/p99/p99.9 of each model per minute bucket (``metric`` is eval_ms or rtt_ms)."""
    title = "Evaluation latency" if metric == "eval_ms" else "Round-trip latency"
    fig = go.Figure()
    series = bucket_series(as_list(stats.get("buckets")), metric)
    positive = True
    for index, model in enumerate(sorted(series)):
        for key, label, dash in QUANTILES:
            xs, ys = series[model][key]
            if all(y is None for y in ys):
                continue
            positive = positive and all(y is None or y > 0 for y in ys)
            fig.add_scatter(
                x=xs,
                y=ys,
                mode="lines+markers",
                name=f"{model} {label}",
                legendgroup=model,
                line={"color": color_for(index), "dash": dash},
            )
    if not fig.data:
        return empty_figure(title)
    return styled(
        fig,
        title,
        xaxis={"type": "date", "title": "minute (UTC)"},
        yaxis={"type": "log" if positive else "linear", "title": "ms"},
    )


def histogram_bins(entry: Mapping[str, Any]) -> tuple[list[float], list[float], list[float]]:
    """Left edges, widths and counts of one histogram; empty lists when it is malformed."""
    edges = [number(e) for e in as_list(entry.get("edges_ms"))]
    counts = [number(c) for c in as_list(entry.get("counts"))]
    if len(edges) != len(counts) + 1 or None in edges or None in counts or not any(counts):
        return [], [], []
    clean_edges = [e for e in edges if e is not None]
    widths = [hi - lo for lo, hi in pairwise(clean_edges)]
    return clean_edges[:-1], widths, [c for c in counts if c is not None]


def latency_distribution(stats: Mapping[str, Any]) -> go.Figure:
    """Cumulative distribution of each model's evaluation time (share of scores <= x ms).

    Drawn from ``latency_histogram``; a CDF keeps fast and slow models readable on one axis,
    where overlaid histogram bars of very different widths would hide each other.
    """
    title = "Evaluation time distribution (cumulative)"
    fig = go.Figure()
    positive = True
    for index, (model, entry) in enumerate(sorted(as_dict(stats.get("latency_histogram")).items())):
        lefts, widths, counts = histogram_bins(as_dict(entry))
        if not counts:
            continue
        total = sum(counts)
        xs = [lefts[0]] + [lo + w for lo, w in zip(lefts, widths, strict=True)]
        ys = [0.0, *list(accumulate(c / total for c in counts))]
        positive = positive and xs[0] > 0
        fig.add_scatter(
            x=xs,
            y=ys,
            mode="lines",
            name=model,
            line_shape="linear",
            line={"color": color_for(index)},
            hovertemplate=f"{model}: %{{y:.0%}} within %{{x:.3g}} ms<extra></extra>",
        )
    if not fig.data:
        return empty_figure(title)
    return styled(
        fig,
        title,
        xaxis={"type": "log" if positive else "linear", "title": "ms"},
        yaxis={"title": "share of scores", "tickformat": ".0%", "range": [0, 1.02]},
    )


def agreement_heatmap(stats: Mapping[str, Any]) -> go.Figure:
    """Model x model heatmap of the pairwise same-label rate, each cell with its n (blank where
    unknown). The colour scale starts just below the lowest rate, so that 91 % and 99 % look
    different when every pair agrees on most requests."""
    title = "Agreement (same label)"
    agreement = as_dict(stats.get("agreement"))
    names = [str(n) for n in as_list(agreement.get("models"))]
    rows = [as_list(row) for row in as_list(agreement.get("matrix"))]
    if not names or len(rows) != len(names) or any(len(r) != len(names) for r in rows):
        return empty_figure(title)
    z = [[number(v) for v in row] for row in rows]
    counts = [as_list(row) for row in as_list(agreement.get("counts"))]
    text = [
        [
            cell_text(v, counts[i][j] if i < len(counts) and j < len(counts[i]) else None)
            for j, v in enumerate(row)
        ]
        for i, row in enumerate(z)
    ]
    heatmap = go.Heatmap(
        z=z,
        x=names,
        y=names,
        zmin=agreement_floor(z),
        zmax=1,
        colorscale="RdYlGn",
        colorbar={"tickformat": ".0%"},
        text=text,
        texttemplate="%{text}",
        hovertemplate="%{y} vs %{x}: %{text}<extra></extra>",
    )
    return styled(go.Figure(heatmap), title, yaxis={"autorange": "reversed"})


def cell_text(rate: float | None, count: Any) -> str:
    """A heatmap cell: the rate to a tenth of a percent, and n when known."""
    if rate is None:
        return "-"
    n = number(count)
    return f"{rate:.1%}" if n is None else f"{rate:.1%}<br>n={int(n)}"


def agreement_floor(z: list[list[float | None]]) -> float:
    """The bottom of the colour scale: the lowest rate off the diagonal rounded down to 5 %,
    never above 90 % (so a scale is always at least 10 points wide), 0 when nothing is known."""
    rates = [v for i, row in enumerate(z) for j, v in enumerate(row) if i != j and v is not None]
    if not rates:
        return 0.0
    return min(0.9, int(min(rates) * 20) / 20)


def qq_plot(stats: Mapping[str, Any]) -> go.Figure:
    """Each model's score quantiles against the reference (canary) model's, with y = x."""
    qq = as_dict(stats.get("qq"))
    reference = qq.get("reference")
    models = as_dict(qq.get("models"))
    title = f"Score Q-Q against {reference}" if reference else "Score Q-Q"
    ref_values = [number(v) for v in as_list(models.get(reference))] if reference else []
    if not any(v is not None for v in ref_values):
        return empty_figure(title, f"{NO_DATA} (no reference scores)")
    quantiles = [number(q) for q in as_list(qq.get("quantiles"))]
    fig = go.Figure()
    seen: list[float] = []
    others = sorted(name for name in models if name != reference)
    for index, model in enumerate(others):
        values = [number(v) for v in as_list(models[model])]
        points = [
            (x, y, q)
            for x, y, q in zip(ref_values, values, quantiles + [None] * len(values), strict=False)
            if x is not None and y is not None
        ]
        if not points:
            continue
        xs, ys, qs = (list(column) for column in zip(*points, strict=True))
        seen += xs + ys
        fig.add_scatter(
            x=xs,
            y=ys,
            customdata=qs,
            mode="lines+markers",
            name=model,
            marker_color=color_for(index),
            hovertemplate=f"{model} q=%{{customdata}}: %{{x:.3g}} vs %{{y:.3g}}<extra></extra>",
        )
    if not fig.data:
        return empty_figure(title)
    low, high = min(seen), max(seen)
    reference_line = {"dash": "dash", "color": "#888"}
    fig.add_scatter(x=[low, high], y=[low, high], mode="lines", name="y = x", line=reference_line)
    return styled(
        fig,
        title,
        xaxis_title=f"{reference} score quantile",
        yaxis_title="model score quantile",
    )


def timeline_origin(timeline: Mapping[str, Any]) -> float | None:
    """The time the request opened, else the first score's arrival (both epoch ms)."""
    opened = number(timeline.get("opened_at"))
    if opened is not None:
        return opened
    arrivals = [number(as_dict(s).get("arrived_at")) for s in as_list(timeline.get("scores"))]
    return min((a for a in arrivals if a is not None), default=None)


MARKERS = {"score": ("circle", "#1f77b4"), "error": ("x", "#d62728"), "chosen": ("star", "#2ca02c")}


def score_markers(scores: list[dict[str, Any]], origin: float, chosen: Any) -> list[go.Scatter]:
    """Markers for score arrivals (ok, error, the chosen one) and grey evaluation spans."""
    points: dict[str, list[tuple[float, str, str]]] = {kind: [] for kind in MARKERS}
    spans: list[tuple[float | None, str | None]] = []
    for score in scores:
        arrived, model = number(score.get("arrived_at")), str(score.get("model"))
        if arrived is None:
            continue
        kind = "error" if not score.get("ok") else "chosen" if model == chosen else "score"
        detail = score.get("result") if score.get("ok") else score.get("error")
        version = score.get("model_version") or ""
        points[kind].append((arrived - origin, model, f"{model} {version}: {detail}"))
        read, finished = number(score.get("read_at")), number(score.get("finished_at"))
        if read is not None and finished is not None:
            spans += [
                (read * 1000 - origin, model),
                (finished * 1000 - origin, model),
                (None, None),
            ]
    traces = []
    if spans:
        xs, ys = zip(*spans, strict=True)
        traces.append(go.Scatter(x=xs, y=ys, mode="lines", name="evaluating", line_color="#ccc"))
    for kind, rows in points.items():
        if rows:
            xs, ys, texts = zip(*rows, strict=True)
            symbol, color = MARKERS[kind]
            hover = "%{text}<br>%{x:.1f} ms<extra></extra>"
            marker = {"symbol": symbol, "color": color, "size": 12}
            traces.append(
                go.Scatter(
                    x=xs,
                    y=ys,
                    text=texts,
                    mode="markers",
                    name=kind,
                    marker=marker,
                    hovertemplate=hover,
                )
            )
    return traces


def late_markers(late_scores: list[dict[str, Any]], origin: float) -> go.Scatter | None:
    """Orange markers for scores that came after the answer (too late to count)."""
    rows = [
        (
            arrived - origin,
            str(score.get("model")),
            f"{score.get('model')} (late): "
            f"{score.get('result') if score.get('ok') else score.get('error')}",
        )
        for score in late_scores
        if (arrived := number(score.get("arrived_at"))) is not None
    ]
    if not rows:
        return None
    xs, ys, texts = zip(*rows, strict=True)
    return go.Scatter(
        x=xs,
        y=ys,
        text=texts,
        mode="markers",
        name="late",
        marker={"symbol": "triangle-up", "color": "#ff7f0e", "size": 12},
        hovertemplate="%{text}<br>%{x:.1f} ms<extra></extra>",
    )


def time_marker(fig: go.Figure, x: float, label: str, position: str, **line: Any) -> None:
    """A labelled vertical line at ``x`` ms."""
    fig.add_vline(x=x, annotation_text=label, annotation_position=position, **line)


def request_timeline(timeline: Mapping[str, Any]) -> go.Figure:
    """Score arrivals over ms since the request opened, with schedule, deadline and answer."""
    title = f"Request {timeline.get('request_id', '')}".strip()
    origin = timeline_origin(timeline)
    if origin is None:
        return empty_figure(title)
    answer = as_dict(timeline.get("answer"))
    scores = [as_dict(s) for s in as_list(timeline.get("scores"))]
    fig = go.Figure(score_markers(scores, origin, answer.get("model")))
    late = late_markers([as_dict(s) for s in as_list(timeline.get("late_scores"))], origin)
    if late is not None:
        fig.add_trace(late)
    for index, step in enumerate(map(as_dict, as_list(timeline.get("schedule")))):
        at = number(step.get("at"))
        if at is not None:
            label = f"step {index} (priority >= {step.get('min_priority')})"
            time_marker(fig, at - origin, label, "top left", line_dash="dot", line_color="#888")
    deadline = number(timeline.get("deadline_at"))
    if deadline is not None:
        time_marker(
            fig, deadline - origin, "deadline", "top right", line_dash="dash", line_color="#d62728"
        )
    answered = number(answer.get("answered_at"))
    if answered is not None:
        label = f"answer: {answer.get('rule')} -> {answer.get('model') or 'no model'}"
        time_marker(
            fig, answered - origin, label, "bottom right", line_color="#2ca02c", line_width=2
        )
    if not scores and late is None:
        fig.add_annotation(
            text="no scores yet", x=0.5, y=0.5, xref="paper", yref="paper", showarrow=False
        )
    return styled(fig, title, xaxis_title="ms since the request opened", yaxis_title="model")
