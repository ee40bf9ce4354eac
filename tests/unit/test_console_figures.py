"""Pure figure builders on hand-made stats and timelines; empty or odd data never raises."""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go
import pytest

from console import figures

MINUTE = 1_795_719_300_000


def quantiles(p50: float) -> dict[str, float | None]:
    return {"p50": p50, "p90": p50 * 2, "p99": p50 * 4, "p999": None}


STATS: dict[str, Any] = {
    "totals": {
        "by_rule": {"deadline": 5, "step_1": 2, "top_priority": 40, "step_0": 7, "no_result": 1},
    },
    "buckets": [
        {
            "minute": MINUTE,
            "models": {
                "forest": {"eval_ms": quantiles(2.0), "rtt_ms": quantiles(6.0)},
                "rules": {"eval_ms": quantiles(0.5), "rtt_ms": quantiles(3.0)},
            },
        },
        {
            "minute": MINUTE + 60_000,
            "models": {"forest": {"eval_ms": quantiles(3.0), "rtt_ms": quantiles(7.0)}},
        },
    ],
    "latency_histogram": {
        "forest": {"edges_ms": [0, 1, 2, 4], "counts": [3, 10, 2]},
        "rules": {"edges_ms": [0, 1], "counts": [0]},
    },
    "agreement": {
        "models": ["forest", "rules", "canary"],
        "matrix": [[1.0, 0.9, None], [0.9, 1.0, 0.5], [None, 0.5, 1.0]],
        "counts": [[40, 30, 0], [30, 50, 10], [0, 10, 12]],
    },
    "qq": {
        "reference": "canary",
        "quantiles": [0.1, 0.5, 0.9],
        "models": {"canary": [0.1, 0.5, 0.9], "forest": [0.2, 0.6, None], "rules": [0.0, 0.4, 1.0]},
    },
}


def annotation_texts(fig: go.Figure) -> list[str]:
    return [a.text for a in fig.layout.annotations]


def is_no_data(fig: go.Figure) -> bool:
    return not fig.data and any("no data yet" in t for t in annotation_texts(fig))


def test_answers_by_rule_orders_rules_as_the_policy_tries_them() -> None:
    fig = figures.answers_by_rule(STATS)

    (bar,) = fig.data
    assert list(bar.x) == ["top_priority", "step_0", "step_1", "deadline", "no_result"]
    assert list(bar.y) == [40, 7, 2, 5, 1]


def test_quantile_curves_draw_one_line_per_model_and_known_quantile() -> None:
    fig = figures.quantile_curves(STATS, "eval_ms")

    names = [trace.name for trace in fig.data]
    assert names == [
        "forest p50",
        "forest p90",
        "forest p99",
        "rules p50",
        "rules p90",
        "rules p99",
    ]
    forest_p99 = fig.data[2]
    assert list(forest_p99.x) == [MINUTE, MINUTE + 60_000]
    assert list(forest_p99.y) == [8.0, 12.0]
    assert fig.layout.xaxis.type == "date"
    assert fig.layout.yaxis.type == "log"


def test_quantile_curves_can_show_round_trip_times() -> None:
    fig = figures.quantile_curves(STATS, "rtt_ms")

    assert fig.data[0].y == (6.0, 7.0)
    assert fig.layout.title.text == "Round-trip latency"


def test_latency_distribution_is_a_cumulative_share_per_model() -> None:
    fig = figures.latency_distribution(STATS)

    (line,) = fig.data  # rules has only empty bins
    assert line.name == "forest"
    assert list(line.x) == [0.0, 1.0, 2.0, 4.0]
    assert list(line.y) == pytest.approx([0.0, 0.2, 0.8666667, 1.0])


def test_agreement_heatmap_is_model_by_model_with_gaps_for_unknown_pairs() -> None:
    fig = figures.agreement_heatmap(STATS)

    (heatmap,) = fig.data
    assert list(heatmap.x) == list(heatmap.y) == ["forest", "rules", "canary"]
    assert list(heatmap.z[0]) == [1.0, 0.9, None]
    assert list(heatmap.text[0]) == ["100.0%<br>n=40", "90.0%<br>n=30", "-"]
    assert (heatmap.zmin, heatmap.zmax) == (0.5, 1), "the scale starts at the lowest rate"


def test_agreement_heatmap_spreads_high_agreement_over_the_whole_colour_scale() -> None:
    """When every pair agrees on 90-100 % of requests, 91 % and 99 % must not look the same."""
    stats = {
        "agreement": {
            "models": ["a", "b", "c"],
            "matrix": [[1.0, 0.99, 0.934], [0.99, 1.0, 0.91], [0.934, 0.91, 1.0]],
        }
    }
    (heatmap,) = figures.agreement_heatmap(stats).data
    assert (heatmap.zmin, heatmap.zmax) == (0.9, 1)
    assert list(heatmap.text[1]) == ["99.0%", "100.0%", "91.0%"], "no counts: rates only"


def test_agreement_heatmap_scale_is_at_least_ten_points_wide() -> None:
    stats = {"agreement": {"models": ["a", "b"], "matrix": [[1.0, 0.999], [0.999, 1.0]]}}
    (heatmap,) = figures.agreement_heatmap(stats).data
    assert heatmap.zmin == 0.9


def test_qq_plot_pairs_each_model_with_the_canary_and_draws_y_equals_x() -> None:
    fig = figures.qq_plot(STATS)

    forest, rules, reference = fig.data
    assert forest.name == "forest"
    assert list(forest.x) == [0.1, 0.5]  # the missing 0.9 quantile is dropped
    assert list(forest.y) == [0.2, 0.6]
    assert list(rules.y) == [0.0, 0.4, 1.0]
    assert reference.name == "y = x"
    assert list(reference.x) == list(reference.y) == [0.0, 1.0]
    assert fig.layout.xaxis.title.text == "canary score quantile"


TIMELINE: dict[str, Any] = {
    "request_id": "r-42",
    "opened_at": 1000,
    "deadline_at": 1100,
    "schedule": [{"at": 1040, "min_priority": 5}],
    "scores": [
        {"model": "rules", "arrived_at": 1003, "ok": True, "result": {"label": "benign"}},
        {
            "model": "small",
            "arrived_at": 1022,
            "ok": True,
            "result": {"label": "malignant"},
            "read_at": 1.001,
            "finished_at": 1.020,
        },
        {"model": "big", "arrived_at": 1055, "ok": False, "error": "boom"},
    ],
    "answer": {"rule": "step_0", "model": "small", "answered_at": 1040, "status": "ok"},
}


def test_request_timeline_places_scores_steps_deadline_and_answer_relative_to_open() -> None:
    fig = figures.request_timeline(TIMELINE)

    traces = {trace.name: trace for trace in fig.data}
    assert list(traces["score"].x) == [3] and list(traces["score"].y) == ["rules"]
    assert list(traces["chosen"].x) == [22] and list(traces["chosen"].y) == ["small"]
    assert list(traces["error"].x) == [55] and list(traces["error"].y) == ["big"]
    assert traces["evaluating"].x[:2] == pytest.approx((1.0, 20.0))
    assert [shape.x0 for shape in fig.layout.shapes] == [40, 100, 40]
    texts = annotation_texts(fig)
    assert "step 0 (priority >= 5)" in texts
    assert "deadline" in texts
    assert "answer: step_0 -> small" in texts


def test_request_timeline_without_answer_or_scores_still_shows_the_deadline() -> None:
    fig = figures.request_timeline({"request_id": "r-1", "opened_at": 10, "deadline_at": 210})

    assert [shape.x0 for shape in fig.layout.shapes] == [200]
    assert "no scores yet" in annotation_texts(fig)


@pytest.mark.parametrize(
    "builder",
    [
        figures.answers_by_rule,
        figures.quantile_curves,
        figures.latency_distribution,
        figures.agreement_heatmap,
        figures.request_timeline,
    ],
)
@pytest.mark.parametrize(
    "data",
    [
        {},
        {"totals": None, "buckets": None, "latency_histogram": [], "agreement": "x", "qq": 3},
        {
            "totals": {"by_rule": {"deadline": 0, "odd": "many"}},
            "buckets": [{"minute": "soon"}, {"minute": 1, "models": {"m": {"eval_ms": None}}}],
            "latency_histogram": {"m": {"edges_ms": [0, 1], "counts": [1, 2]}},
            "agreement": {"models": ["a", "b"], "matrix": [[1.0]]},
            "scores": [{"model": "m", "arrived_at": None}],
        },
    ],
)
def test_missing_or_malformed_data_gives_a_no_data_figure(builder: Any, data: Any) -> None:
    assert is_no_data(builder(data))


def test_qq_plot_without_reference_scores_says_so() -> None:
    fig = figures.qq_plot({"qq": {"reference": None, "quantiles": [], "models": {}}})

    assert not fig.data
    assert annotation_texts(fig) == ["no data yet (no reference scores)"]


def test_figures_keep_zoom_across_live_refreshes() -> None:
    assert figures.answers_by_rule(STATS).layout.uirevision == "console"
    assert figures.empty_figure("x").layout.uirevision == "console"


@pytest.mark.parametrize(
    "build",
    [
        lambda: figures.answers_by_rule(STATS),
        lambda: figures.agreement_heatmap(STATS),
        lambda: figures.qq_plot(STATS),
        lambda: figures.empty_figure("nothing"),
    ],
)
def test_every_figure_has_the_console_white_look(build: Any) -> None:
    fig = build()
    assert fig.layout.template.layout.plot_bgcolor == "white"
    assert fig.to_plotly_json()["layout"]["template"]["layout"]["paper_bgcolor"] == "white"
