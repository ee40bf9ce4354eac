"""The overview's time series and the requests page, from hand-made worker replies."""

from __future__ import annotations

from typing import Any

from dash import no_update

from console.api import Reply
from console.figures import NO_DATA, request_timeline
from console.presenters.inspect import inspect_values
from console.presenters.requests import HEADERS, inspect_href, literal, requests_values
from console.timeseries import (
    count_series,
    e2e_latency_figure,
    outcome_rates_figure,
    rules_over_time_figure,
    step_ms,
    throughput_figure,
)

T0 = 1_800_000_000_000  # starts a minute


def stats(now_s: float, buckets: list[dict[str, Any]], window_min: int = 15) -> dict[str, Any]:
    now = T0 + int(now_s * 1000)
    return {"now": now, "since": now - window_min * 60_000, "buckets": buckets}


def bucket(minute: int, requests: list[int], **more: Any) -> dict[str, Any]:
    slots = {
        "requests": requests,
        "no_result": more.pop("no_result", [0] * 6),
        "scores": more.pop("scores", [2 * n for n in requests]),
        "errors": more.pop("errors", [0] * 6),
    }
    return {"minute": T0 + minute * 60_000, "slots": slots, **more}


def is_empty(fig: Any) -> bool:
    return not fig.data and fig.layout.annotations[0].text == NO_DATA


def test_throughput_is_per_10_seconds_in_the_first_minute_without_the_slot_still_filling() -> None:
    # 25 s into the first minute of traffic: slots 0 and 1 are complete, slot 2 is filling.
    body = stats(25, [bucket(0, [150, 140, 60, 0, 0, 0])])
    fig = throughput_figure(body)
    xs, ys = list(fig.data[0].x), list(fig.data[0].y)
    assert xs[-2:] == [T0, T0 + 10_000]
    assert ys[-2:] == [15.0, 14.0]  # requests/s, not 290 / 60
    assert all(y == 0 for y in ys[:-2])  # the window before traffic is zero, not missing


def test_long_windows_are_drawn_per_minute() -> None:
    body = stats(125, [bucket(0, [60] * 6), bucket(1, [120] * 6)], window_min=1440)
    assert step_ms(body) == 60_000
    fig = throughput_figure(body)
    assert list(fig.data[0].y)[-2:] == [6.0, 12.0]


def test_buckets_of_one_minute_from_several_partitions_add_up() -> None:
    body = stats(15, [bucket(0, [10, 0, 0, 0, 0, 0]), bucket(0, [20, 0, 0, 0, 0, 0])])
    times, rows = count_series(body)
    assert (times[-1], rows[-1]["requests"]) == (T0, 30)


def test_no_result_and_error_rates_are_shares_with_gaps_where_nothing_was_answered() -> None:
    body = stats(
        25,
        [bucket(0, [10, 0, 0, 0, 0, 0], no_result=[2, 0, 0, 0, 0, 0], errors=[5, 0, 0, 0, 0, 0])],
    )
    no_result, errors = outcome_rates_figure(body).data
    assert list(no_result.y)[-2:] == [0.2, None]
    assert list(errors.y)[-2:] == [0.25, None]  # 5 of 20 scores


def test_answers_by_rule_per_minute_are_stacked_in_policy_order() -> None:
    body = stats(
        130,
        [
            bucket(0, [0] * 6, by_rule={"no_result": 1, "top_priority": 5}),
            bucket(1, [0] * 6, by_rule={"top_priority": 7, "step_0": 2}),
        ],
    )
    fig = rules_over_time_figure(body)
    assert [trace.name for trace in fig.data] == ["top_priority", "step_0", "no_result"]
    assert list(fig.data[0].y) == [5, 7] and fig.layout.barmode == "stack"
    assert list(fig.data[0].x) == [T0 + 30_000, T0 + 90_000]  # centred on their minute
    # the window's ends on 10 s slot boundaries, through the end of the slot still filling
    assert list(fig.layout.xaxis.range) == [T0 - 770_000, T0 + 140_000]


def test_the_count_charts_are_the_same_figure_at_every_refresh_within_a_slot() -> None:
    minute = [bucket(0, [150, 140, 60, 0, 0, 0])]
    early, late, next_slot = (stats(s, minute) for s in (21.2, 29.9, 30.1))
    for chart in (throughput_figure, outcome_rates_figure):
        assert chart(early).to_json() == chart(late).to_json()
        assert chart(late).to_json() != chart(next_slot).to_json()


def test_end_to_end_latency_draws_p50_and_p99_per_minute() -> None:
    body = stats(
        130,
        [
            bucket(1, [0] * 6, e2e_ms={"p50": 9.0, "p99": 40.0}),
            bucket(0, [0] * 6, e2e_ms={"p50": 8.0, "p99": None}),
        ],
    )
    p50, p99 = e2e_latency_figure(body).data
    assert list(p50.x) == [T0, T0 + 60_000] and list(p50.y) == [8.0, 9.0]
    assert list(p99.y) == [40.0]


def test_time_series_without_data_say_so() -> None:
    for builder in (throughput_figure, outcome_rates_figure, rules_over_time_figure):
        assert is_empty(builder(stats(30, [])))
    assert is_empty(e2e_latency_figure({}))
    assert is_empty(throughput_figure({"buckets": "garbage"}))


# --- requests page ----------------------------------------------------------------------------

ANSWERS = Reply(
    200,
    {
        "answers": [
            {
                "request_id": "r/1 x",
                "answered_at": T0 + 1234,
                "status": "ok",
                "rule": "top_priority",
                "model": "forest",
                "e2e_ms": 12,
                "scores": 3,
                "late": False,
            }
        ]
    },
)
STATS = Reply(
    200,
    {
        "totals": {"by_rule": {"no_result": 1, "top_priority": 3}, "by_status": {"ok": 3}},
        "models": {"rules": {}, "forest": {}},
    },
)


def test_each_answer_links_to_its_inspector_page() -> None:
    values = requests_values(ANSWERS, STATS)
    header, rule, row = values["table"].splitlines()
    assert header == "| " + " | ".join(HEADERS) + " |" and set(rule) <= set("|- ")
    link = row.split(" | ")[0]
    assert link == f'| [{literal("r/1 x")}]({inspect_href("r/1 x")} "inspect")'
    assert inspect_href("r/1 x") == "/inspect?request_id=r%2F1%20x"
    assert "top&#95;priority" in row and "forest" in row and "12 ms" in row
    assert values["rules"] == ["top_priority", "no_result"]
    assert values["statuses"] == ["no_result", "ok", "rejected"]
    assert values["models"] == ["forest", "rules"]


def test_table_cells_show_markdown_marks_as_written() -> None:
    # Request ids come from clients: no mark in one may end its cell, link or row.
    assert literal("r/1 x") == "r&#47;1 x"
    assert literal("a|b](x)*") == "a&#124;b&#93;&#40;x&#41;&#42;"
    assert literal("two\nlines") == "two lines" and literal("") == " "
    assert literal("ünï-7") == "ünï&#45;7"


def test_no_answers_says_so_instead_of_an_empty_table() -> None:
    values = requests_values(Reply(200, {"answers": []}), STATS)
    assert values["table"] == "no answers match (yet)"


def test_requests_keep_their_table_while_the_worker_is_away() -> None:
    away = Reply(None, {}, "worker unreachable")
    values = requests_values(away, away)
    assert values["table"] is no_update and values["models"] is no_update
    assert values["message"] == []


# --- inspector: late scores and the payload ----------------------------------------------------

TIMELINE = {
    "request_id": "r-1",
    "opened_at": T0,
    "deadline_at": T0 + 200,
    "scores": [{"model": "forest", "arrived_at": T0 + 10, "ok": True, "result": {"score": 1}}],
    "late_scores": [{"model": "slow", "arrived_at": T0 + 450, "ok": True, "result": {"score": 0}}],
    "answer": {"model": "forest", "rule": "top_priority", "answered_at": T0 + 10},
    "request": {"request_id": "r-1", "payload": {"features": {"a": 1.5}}},
}


def test_late_scores_are_drawn_after_the_answer_and_listed() -> None:
    fig = request_timeline(TIMELINE)
    (late,) = [trace for trace in fig.data if trace.name == "late"]
    assert list(late.x) == [450] and list(late.y) == ["slow"]
    values = inspect_values("r-1", Reply(200, TIMELINE))
    assert "slow (late)" in str(values["scores"])


def test_the_inspector_shows_the_payload_as_read_from_kafka() -> None:
    payload = inspect_values("r-1", Reply(200, TIMELINE))["payload"]
    assert '"a": 1.5' in payload.children
    gone = inspect_values("r-1", Reply(200, {**TIMELINE, "request": None}))["payload"]
    assert "no longer be read" in gone.children
