"""What the pages show and send, from worker replies; plus the wired app against MockTransport."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from typing import Any

import dash
import httpx
import pytest
from dash import no_update

from console.api import Reply, WorkerAPI
from console.app import create_console
from console.header import token_status, token_update, worker_banner
from console.presenters.inspect import inspect_values
from console.presenters.models import (
    apply_change,
    change_feedback,
    load_models,
    model_rows,
    render_models,
    requested_change,
)
from console.presenters.overview import overview_values
from console.settings import ConsoleSettings

Handler = Callable[[httpx.Request], httpx.Response]
UNREACHABLE = Reply(None, {}, "worker unreachable: connection failed (refused)")
HEALTH = Reply(200, {"status": "ready", "worker": "w-1", "policy_version": 7, "pending_wakeups": 2})
STATS = Reply(
    200,
    {
        "totals": {
            "requests": 6000,
            "throughput_per_s": 19.66,
            "deadline_misses": 3,
            "pending_mailboxes": 4,
            "by_rule": {"top_priority": 10},
        },
        "models": {
            "forest": {
                "state": "live",
                "win_rate": 0.25,
                "eval_ms": {"p99": 20.0},
                "agree_official": {"n": 900, "rate": 0.91},
                "agree_canary": {"n": 800, "rate": None},
            },
            "canary": {"state": "shadow", "would_have_won": 42, "would_have_won_rate": 0.12},
            "newcomer": {"state": None},
        },
    },
)
MODELS = Reply(
    200,
    {
        "version": 7,
        "models": [
            {"name": "forest", "state": "live", "priority": 5, "backstop": False},
            {"name": "canary", "state": "shadow", "priority": 0, "backstop": False},
            {"name": "rules", "state": "live", "priority": 0, "backstop": True},
        ],
    },
)


def text_of(component: Any) -> str:
    """All text inside a component tree."""
    if component is None or component is no_update:
        return ""
    if isinstance(component, str | int | float):
        return str(component)
    if isinstance(component, list | tuple):
        return " ".join(text_of(c) for c in component)
    return text_of(getattr(component, "children", None))


def find(component: Any, component_id: Any) -> Any:
    """The component with this id in a tree, or None."""
    if getattr(component, "id", None) == component_id:
        return component
    children = getattr(component, "children", None)
    for child in children if isinstance(children, list | tuple) else [children]:
        if hasattr(child, "to_plotly_json") and (found := find(child, component_id)) is not None:
            return found
    return None


# --- header: token and worker banner ---------------------------------------------------------


def test_saving_a_token_stores_it_and_clears_the_field() -> None:
    assert token_update("token-save", "  s3cret ") == ("s3cret", "")


def test_saving_an_empty_field_keeps_the_stored_token() -> None:
    assert token_update("token-save", "   ") == (no_update, "")


def test_forgetting_the_token_clears_it() -> None:
    assert token_update("token-forget", "typed") == (None, "")


def test_the_header_never_shows_the_token_back() -> None:
    assert token_status("s3cret") == "token set"
    assert token_status(None) == "no token: read-only"


def test_worker_banner_names_the_outage_and_is_empty_when_healthy() -> None:
    assert worker_banner(HEALTH) is None
    assert text_of(worker_banner(UNREACHABLE)).startswith("worker unreachable: ")
    recovering = Reply(503, {"status": "recovering"}, "worker error (HTTP 503): recovering")
    assert text_of(worker_banner(recovering)).startswith("worker recovering (HTTP 503)")


# --- overview ---------------------------------------------------------------------------------


def test_overview_shows_throughput_misses_pending_and_live_models() -> None:
    values = overview_values(HEALTH, STATS)

    assert values["requests_per_s"] == "19.7"
    assert values["requests"] == "6,000"
    assert values["deadline_misses"] == "3"
    assert values["pending_mailboxes"] == "4"
    assert values["live"] == "1: forest"
    assert values["worker"] == "worker w-1: ready, policy version 7"
    assert values["pending_wakeups"] == "2"
    assert values["message"] is None
    assert list(values["answers_by_rule"].data[0].x) == ["top_priority"]


def test_overview_keeps_the_last_numbers_while_the_worker_is_unreachable() -> None:
    values = overview_values(UNREACHABLE, UNREACHABLE)

    assert values["worker"] == "worker: unreachable"
    assert values["deadline_misses"] is no_update
    assert values["answers_by_rule"] is no_update
    assert values["message"] is None  # the header's worker banner reports the outage


def test_overview_names_a_stats_error_from_a_reachable_worker() -> None:
    missing = Reply(404, {"error": "no such endpoint"}, "not found (404): no such endpoint")

    assert text_of(overview_values(HEALTH, missing)["message"]) == (
        "stats: not found (404): no such endpoint"
    )


# --- models -----------------------------------------------------------------------------------


def test_model_rows_merge_the_registry_and_the_stats_in_registry_order() -> None:
    rows = model_rows(MODELS, STATS)

    assert [row["name"] for row in rows] == ["forest", "canary", "rules", "newcomer"]
    forest, canary, rules, newcomer = (row["cells"] for row in rows)
    assert forest["win_rate"] == "25.0%"
    assert forest["eval"] == "- / 20 ms"
    assert forest["agree_official"] == "91.0% of 900"
    assert forest["agree_canary"] == "-"
    assert forest["would_have_won"] == "-"
    assert canary["would_have_won"] == "12.0% (42)"
    assert (rules["backstop"], rules["priority"]) == ("yes", "0")
    assert newcomer["state"] == "-"


def test_the_table_is_rebuilt_only_when_models_come_go_or_change_state() -> None:
    rows = model_rows(MODELS, STATS)
    ids = [
        {"type": "model-cell", "model": "rules", "field": "state"},
        {"type": "model-cell", "model": "forest", "field": "win_rate"},
    ]

    table, names, cells = render_models(rows, None, ids)
    assert names == ["forest:live", "canary:shadow", "rules:live", "newcomer:None"]
    assert cells == [no_update, no_update]
    undeploy = find(table, {"type": "model-action", "model": "forest", "action": "off"})
    assert undeploy is not None and undeploy.children == "turn off"
    priority = find(table, {"type": "model-priority", "model": "forest"})
    assert priority.value == 5

    assert render_models(rows, names, ids) == (no_update, no_update, ["live", "25.0%"])
    shadowed = [{**row, "state": "shadow"} if row["name"] == "forest" else row for row in rows]
    assert render_models(shadowed, names, ids)[0] is not no_update


def test_an_empty_registry_says_so_and_nothing_loaded_changes_nothing() -> None:
    table, names, _ = render_models([], None, [])

    assert text_of(table) == "no models yet" and names == []
    assert render_models(None, None, []) == (no_update, no_update, [])


@pytest.mark.parametrize(
    ("trigger", "priorities", "expected"),
    [
        ({"type": "model-action", "model": "forest", "action": "off"}, {}, {"state": "off"}),
        ({"type": "model-priority-apply", "model": "forest"}, {"forest": 12}, {"priority": 12}),
        ({"type": "model-backstop", "model": "rules"}, {}, {"backstop": False}),
        ({"type": "model-backstop", "model": "forest"}, {}, {"backstop": True}),
    ],
)
def test_each_control_asks_for_its_change(
    trigger: dict[str, str], priorities: dict[str, Any], expected: dict[str, Any]
) -> None:
    rows = model_rows(MODELS, STATS)

    assert requested_change(trigger, priorities, rows) == (trigger["model"], expected)


def test_a_priority_that_is_not_a_whole_number_is_not_sent() -> None:
    trigger = {"type": "model-priority-apply", "model": "forest"}

    assert requested_change(trigger, {"forest": None}, []) == (
        "forest: type a whole number as priority first"
    )
    assert isinstance(requested_change(trigger, {"forest": 2.5}, []), str)


def recording_api(status: int, body: dict[str, Any], seen: list[httpx.Request]) -> WorkerAPI:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(status, json=body)

    return WorkerAPI("http://worker.test", transport=httpx.MockTransport(handler))


def test_without_a_token_no_change_is_sent() -> None:
    seen: list[httpx.Request] = []

    reply = apply_change(recording_api(200, {}, seen), "forest", {"state": "off"}, None)

    assert seen == []
    assert "no admin token" in text_of(change_feedback("forest", {"state": "off"}, reply))


def test_a_change_is_confirmed_with_the_new_registry_version() -> None:
    seen: list[httpx.Request] = []
    api = recording_api(200, {"version": 8, "model": {"name": "forest"}}, seen)

    reply = apply_change(api, "forest", {"state": "off"}, "s3cret")

    assert seen[0].headers["Authorization"] == "Bearer s3cret"
    feedback = change_feedback("forest", {"state": "off"}, reply)
    assert text_of(feedback) == "forest: state -> off applied (registry version 8)"


@pytest.mark.parametrize(
    ("status", "error", "shown"),
    [
        (403, "wrong admin token", "forbidden (403): wrong admin token"),
        (422, "state: the canary cannot be live", "rejected (422): state: the canary cannot be"),
    ],
)
def test_a_refused_change_shows_the_workers_reason(status: int, error: str, shown: str) -> None:
    api = recording_api(status, {"error": error, "field": "state"}, [])

    reply = apply_change(api, "canary", {"state": "live"}, "token")

    feedback = text_of(change_feedback("canary", {"state": "live"}, reply))
    assert feedback.startswith("canary: state -> live failed: ")
    assert shown in feedback


def test_models_keep_their_rows_and_history_while_the_worker_is_away() -> None:
    assert load_models(UNREACHABLE, UNREACHABLE, UNREACHABLE) == (no_update, no_update, [])


def test_history_lists_the_changes_newest_first() -> None:
    history = Reply(
        200,
        {
            "changes": [
                {
                    "version": 9,
                    "command": "set_model",
                    "actor": "rest:admin",
                    "at": 0,
                    "model": "forest",
                    "before": {"state": "live"},
                    "after": {"state": "off"},
                },
            ]
        },
    )

    _, shown, problems = load_models(MODELS, STATS, history)

    assert problems == []
    text = text_of(shown)
    assert "1970-01-01 00:00:00 UTC" in text
    assert '{"state": "live"}' in text and '{"state": "off"}' in text


# --- inspector --------------------------------------------------------------------------------


def test_the_inspector_asks_for_an_id_first() -> None:
    values = inspect_values(None, None)

    assert text_of(values["message"]) == "enter a request id"


def test_an_unknown_request_id_gets_a_clear_message() -> None:
    reply = Reply(404, {"error": "no mailbox for request 'x'"}, "not found (404): ...")

    values = inspect_values("x", reply)

    assert text_of(values["message"]) == "unknown request id 'x': no mailbox for request 'x'"
    assert values["summary"] is None


def test_the_inspector_shows_rule_model_and_each_score() -> None:
    timeline = {
        "request_id": "r-42",
        "state": "answered",
        "opened_at": 1000,
        "deadline_at": 1100,
        "scores": [{"model": "small", "arrived_at": 1022, "ok": True, "result": {"label": "m"}}],
        "answer": {"status": "ok", "rule": "step_0", "model": "small", "answered_at": 1040},
    }

    values = inspect_values("r-42", Reply(200, timeline))

    assert find(values["summary"], "inspect-rule").children == "step_0"
    assert find(values["summary"], "inspect-model").children == "small"
    assert "answered after 40 ms" in text_of(values["summary"]).replace("  ", " ")
    assert "small" in text_of(values["scores"]) and "22 ms" in text_of(values["scores"])
    assert values["figure"].layout.title.text == "Request r-42"


# --- the wired app ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def console() -> Iterator[dash.Dash]:
    """The console app, built once per module (Dash registers page callbacks globally)."""
    yield create_console(ConsoleSettings(worker_url="http://worker.test", refresh_ms=1500))


@pytest.fixture
def worker(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[httpx.Request]]:
    """Route every page's worker client to a fake worker that refuses token 'wrong'."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.method == "PUT":
            if request.headers.get("Authorization") != "Bearer right":
                return httpx.Response(403, json={"error": "wrong admin token"})
            return httpx.Response(200, json={"version": 12, "model": {}})
        if request.url.path == "/v1/stats":
            return httpx.Response(200, json=STATS.body)
        return httpx.Response(200, json=HEALTH.body)

    api = WorkerAPI("http://worker.test", transport=httpx.MockTransport(handler))
    modules = [sys.modules[page["module"]] for page in dash.page_registry.values()]
    for module in [*modules, sys.modules["console.header"]]:
        if hasattr(module, "worker_api"):
            monkeypatch.setattr(module, "worker_api", lambda: api)
    yield seen


def test_layout_has_a_password_token_field_a_session_store_and_one_refresh(
    console: dash.Dash,
) -> None:
    layout = console.layout

    assert find(layout, "token-input").type == "password"
    assert find(layout, "admin-token").storage_type == "session"
    assert find(layout, "refresh").interval == 1500
    assert find(layout, "worker-banner") is not None
    paths = sorted(page["path"] for page in dash.page_registry.values())
    assert paths == ["/", "/agreement", "/inspect", "/latency", "/models", "/requests"]


def post_callback(console: dash.Dash, payload: dict[str, Any]) -> dict[str, Any]:
    response = console.server.test_client().post("/_dash-update-component", json=payload)
    assert response.status_code == 200, response.data[:500]
    return json.loads(response.data)["response"]


def test_the_wired_overview_callback_reads_stats(
    console: dash.Dash, worker: list[httpx.Request]
) -> None:
    declared = sys.modules["pages.overview"].OUTPUTS.values()
    outputs = [{"id": o.component_id, "property": o.component_property} for o in declared]
    payload = {
        "output": ".." + "...".join(f"{o['id']}.{o['property']}" for o in outputs) + "..",
        "outputs": outputs,
        "inputs": [
            {"id": "refresh", "property": "n_intervals", "value": 3},
            {"id": "overview-window", "property": "value", "value": 15},
        ],
        "state": [],
        "changedPropIds": ["refresh.n_intervals"],
    }

    response = post_callback(console, payload)

    assert response["overview-deadline-misses"]["children"] == "3"
    assert response["overview-live"]["children"] == "1: forest"
    assert response["overview-pending-wakeups"]["children"] == "2"
    assert "overview-throughput" in response
    assert {r.url.path for r in worker} == {"/health", "/v1/stats"}
    (stats,) = [r for r in worker if r.url.path == "/v1/stats"]
    assert stats.url.params["buckets"] == "1"


UNDEPLOY = {"type": "model-action", "model": "forest", "action": "off"}


def click_models(
    console: dash.Dash, rows: list[dict[str, Any]], pending: Any = None, *, confirm: bool = False
) -> dict[str, Any]:
    """Post a click on forest's undeploy button (or on the dialog's confirm button)."""
    undeploy = UNDEPLOY
    trigger = (
        "models-confirm-yes.n_clicks"
        if confirm
        else (json.dumps(undeploy, separators=(",", ":"), sort_keys=True) + ".n_clicks")
    )
    payload = {
        "output": "..models-feedback.children...models-changed.data...models-pending.data..."
        "models-confirm.is_open...models-confirm-text.children..",
        "outputs": [
            {"id": "models-feedback", "property": "children"},
            {"id": "models-changed", "property": "data"},
            {"id": "models-pending", "property": "data"},
            {"id": "models-confirm", "property": "is_open"},
            {"id": "models-confirm-text", "property": "children"},
        ],
        "inputs": [
            [{"id": undeploy, "property": "n_clicks", "value": 1}],
            [{"id": {"type": "model-priority-apply", "model": "forest"}, "property": "n_clicks"}],
            [{"id": {"type": "model-backstop", "model": "forest"}, "property": "n_clicks"}],
            {"id": "models-confirm-yes", "property": "n_clicks", "value": int(confirm)},
            {"id": "models-confirm-no", "property": "n_clicks", "value": 0},
        ],
        "state": [
            [{"id": {"type": "model-priority", "model": "forest"}, "property": "value"}],
            {"id": "admin-token", "property": "data", "value": "wrong"},
            {"id": "models-data", "property": "data", "value": rows},
            {"id": "models-changed", "property": "data", "value": 0},
            {"id": "models-pending", "property": "data", "value": pending},
        ],
        "changedPropIds": [trigger],
    }
    return post_callback(console, payload)


def test_the_wired_undeploy_button_sends_the_token_and_shows_a_403(
    console: dash.Dash, worker: list[httpx.Request]
) -> None:
    shadow_forest = [{"name": "forest", "state": "shadow"}]
    response = click_models(console, shadow_forest)

    feedback = response["models-feedback"]["children"]["props"]["children"]
    assert feedback == "forest: state -> off failed: forbidden (403): wrong admin token"
    (put,) = worker
    assert (put.method, put.url.path) == ("PUT", "/v1/models/forest")
    assert put.headers["Authorization"] == "Bearer wrong"
    assert json.loads(put.content) == {"state": "off"}


def test_a_change_to_a_live_model_is_sent_only_once_confirmed(
    console: dash.Dash, worker: list[httpx.Request]
) -> None:
    live_forest = [{"name": "forest", "state": "live"}]

    asked = click_models(console, live_forest)

    assert asked["models-confirm"]["is_open"] is True
    assert "forest is live" in asked["models-confirm-text"]["children"]
    assert worker == []  # nothing sent yet
    pending = asked["models-pending"]["data"]
    confirmed = click_models(console, live_forest, pending, confirm=True)
    assert confirmed["models-confirm"]["is_open"] is False
    (put,) = worker
    assert json.loads(put.content) == {"state": "off"}


def test_each_state_offers_only_the_changes_that_apply() -> None:
    rows = model_rows(MODELS, STATS)
    table, _, _ = render_models(rows, None, [])
    offered = {
        (model, action)
        for model in ("forest", "canary")
        for action in ("live", "shadow", "off")
        if find(table, {"type": "model-action", "model": model, "action": action}) is not None
    }
    assert offered == {
        ("forest", "shadow"),
        ("forest", "off"),
        ("canary", "live"),
        ("canary", "off"),
    }
    off = render_models([{**rows[0], "state": "off"}], None, [])[0]
    actions = [
        a
        for a in ("live", "shadow", "off")
        if find(off, {"type": "model-action", "model": "forest", "action": a})
    ]
    assert actions == ["shadow"]


def refresh_requests_page(console: dash.Dash, shown: Any) -> dict[str, Any]:
    """Post one refresh tick of the requests page, with the digests the page holds."""
    outputs = [
        {"id": "requests-latest", "property": "data"},
        {"id": "requests-message", "property": "children"},
        {"id": "requests-rule", "property": "options"},
        {"id": "requests-status", "property": "options"},
        {"id": "requests-model", "property": "options"},
        {"id": "requests-shown", "property": "data"},
    ]
    payload = {
        "output": ".." + "...".join(f"{o['id']}.{o['property']}" for o in outputs) + "..",
        "outputs": outputs,
        "inputs": [
            {"id": "refresh", "property": "n_intervals", "value": 4},
            {"id": "requests-rule", "property": "value", "value": None},
            {"id": "requests-status", "property": "value", "value": None},
            {"id": "requests-model", "property": "value", "value": None},
        ],
        "state": [{"id": "requests-shown", "property": "data", "value": shown}],
        "changedPropIds": ["refresh.n_intervals"],
    }
    return post_callback(console, payload)


def test_a_refresh_sends_the_requests_table_only_when_it_changed(
    console: dash.Dash, worker: list[httpx.Request]
) -> None:
    first = refresh_requests_page(console, None)
    assert first["requests-latest"]["data"] == "no answers match (yet)"
    assert first["requests-model"]["options"] == ["canary", "forest", "newcomer"]

    again = refresh_requests_page(console, first["requests-shown"]["data"])

    assert again == {}  # the same answers and options: the browser redraws nothing
    assert {r.url.path for r in worker} == {"/v1/requests", "/v1/stats"}
