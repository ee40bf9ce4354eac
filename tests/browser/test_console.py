"""The console in a real Chromium: live numbers, controls that change who wins, the inspector."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from tests.browser.conftest import screenshot
from tests.helpers import eventually_sync
from tests.integration.harness import ADMIN_TOKEN

pytestmark = pytest.mark.browser
WAIT_MS = 30_000


def wins_from_now_on(stack: dict, model: str, *, after: float, count: int = 15) -> None:
    """The next ``count`` answers to requests sent after ``after`` are all won by ``model``."""
    traffic = stack["traffic"]
    eventually_sync(
        lambda: len(traffic.winners_since(after)) >= count,
        timeout_s=60,
        what=f"{count} answers after the change",
    )
    winners = traffic.winners_since(after)[:count]
    assert set(winners) == {model}, winners


def save_token(page: Any, console: str) -> None:
    page.goto(console + "/models")
    page.fill("#token-input", ADMIN_TOKEN)
    page.click("#token-save")
    page.wait_for_selector("#token-status:has-text('token set')", timeout=WAIT_MS)
    assert ADMIN_TOKEN not in page.content(), "the token must never be shown back"


def confirm_change(page: Any, question: str) -> None:
    page.wait_for_selector(f"#models-confirm-text:has-text('{question}')", timeout=WAIT_MS)
    page.click("#models-confirm-yes")


def feedback_says(page: Any, text: str) -> None:
    page.wait_for_selector(f"#models-feedback:has-text('{text}')", timeout=WAIT_MS)


def test_overview_shows_live_non_zero_numbers(stack: dict, page: Any) -> None:
    page.goto(stack["console"] + "/")
    page.wait_for_function(
        "() => { const e = document.querySelector('#overview-requests');"
        " return e && /[1-9]/.test(e.innerText); }",
        timeout=120_000,  # the first test: the stack may still be warming up on a busy machine
    )
    first = page.inner_text("#overview-requests")
    page.wait_for_function(
        f"() => document.querySelector('#overview-requests').innerText !== {json.dumps(first)}",
        timeout=WAIT_MS,
    )  # refreshes live, without reloading the page
    assert "linear" in page.inner_text("#overview-live")
    # 15 requests/s are sent: the tile shows the real rate, not a minute's average.
    page.wait_for_function(
        "() => parseFloat(document.querySelector('#overview-requests-per-s').innerText) >= 8",
        timeout=WAIT_MS,
    )
    page.hover("#overview-pending-wakeups-label")
    page.wait_for_selector(".tooltip:has-text('deadline clock')", timeout=WAIT_MS)
    screenshot(page, "overview")


#: The requests/s series of the overview's throughput chart: [[x, y], ...].
THROUGHPUT = """() => {
    const plot = document.querySelector('#overview-throughput .js-plotly-plot');
    const trace = plot && plot.data && plot.data[0];
    return trace ? trace.x.map((x, i) => [x, trace.y[i]]) : [];
}"""


def test_the_throughput_time_series_moves_while_traffic_runs(stack: dict, page: Any) -> None:
    page.goto(stack["console"] + "/")
    page.click("label:has-text('last 15 minutes')")
    page.wait_for_function(f"() => ({THROUGHPUT})().some(([x, y]) => y > 0)", timeout=60_000)
    before = page.evaluate(THROUGHPUT)
    last_x = before[-1][0]
    # A new 10-second point appears as time passes, drawn from answers read live.
    page.wait_for_function(
        f"() => {{ const s = ({THROUGHPUT})(); return s.length && s[s.length - 1][0] > "
        f"{json.dumps(last_x)} && s[s.length - 1][1] > 0; }}",
        timeout=WAIT_MS,
    )
    after = page.evaluate(THROUGHPUT)
    assert after[-1][1] > 5, after[-5:]  # ~15 requests/s are sent
    screenshot(page, "overview-15-minutes")


def test_changing_a_priority_in_the_console_changes_the_winner(stack: dict, page: Any) -> None:
    wins_from_now_on(stack, "linear", after=time.time())
    save_token(page, stack["console"])
    field = 'input[id=\'{"model":"scorecard","type":"model-priority"}\']'
    page.fill(field, "50")
    page.click('button[data-model="scorecard"][data-action="priority"]')
    confirm_change(page, "scorecard is live")
    feedback_says(page, "scorecard")
    changed_at = time.time()
    wins_from_now_on(stack, "scorecard", after=changed_at)
    screenshot(page, "models-after-priority")


def test_undeploying_the_current_winner_makes_it_stop_winning(stack: dict, page: Any) -> None:
    save_token(page, stack["console"])
    since = time.time() - 5
    eventually_sync(
        lambda: bool(stack["traffic"].winners_since(since)), timeout_s=30, what="a recent answer"
    )
    winner = stack["traffic"].winners_since(since)[-1]
    # The winner is live: it offers shadow and off (not deploy), and asks before changing.
    assert page.locator(f'button[data-model="{winner}"][data-action="live"]').count() == 0
    page.click(f'button[data-model="{winner}"][data-action="off"]')
    confirm_change(page, f"{winner} is live")
    feedback_says(page, winner)
    undeployed_at = time.time()
    traffic = stack["traffic"]
    eventually_sync(
        lambda: len(traffic.winners_since(undeployed_at)) >= 15,
        timeout_s=60,
        what="answers after undeploy",
    )
    assert winner not in traffic.winners_since(undeployed_at)
    page.wait_for_selector("#models-history-table:has-text('set_model')", timeout=WAIT_MS)
    # Now off, its row offers only the way back: shadow.
    page.wait_for_selector(
        f'button[data-model="{winner}"][data-action="off"]', state="detached", timeout=WAIT_MS
    )
    assert page.locator(f'button[data-model="{winner}"][data-action="shadow"]').count() == 1
    screenshot(page, "models-after-undeploy")


def test_request_inspector_shows_a_real_requests_timeline(stack: dict, page: Any) -> None:
    traffic = stack["traffic"]

    def answered_with_both_scores() -> tuple[str, dict] | None:
        # The timeline holds the scores that came before the answer; a score after it is
        # only counted as late. So pick a request whose answer names both models.
        for request_id, answer in list(traffic.answers.items()):
            if {"scorecard", "rules"} <= {c["model"] for c in answer["candidates"]}:
                return request_id, answer
        return None

    eventually_sync(
        lambda: answered_with_both_scores() is not None,
        timeout_s=30,
        what="an answer with scorecard's and rules' scores before it",
    )
    found = answered_with_both_scores()
    assert found is not None
    request_id, answer = found
    page.goto(stack["console"] + "/inspect")
    page.fill("#inspect-request-id", request_id)
    page.click("#inspect-submit")
    page.wait_for_selector("#inspect-rule", timeout=WAIT_MS)
    assert answer["rule"] in page.inner_text("#inspect-summary")
    assert answer["model"] in page.inner_text("#inspect-summary")
    scores = page.inner_text("#inspect-scores-table")
    assert "scorecard" in scores and "rules" in scores
    page.wait_for_selector("#inspect-timeline .main-svg", timeout=WAIT_MS)
    screenshot(page, "inspect")
    page.fill("#inspect-request-id", "no-such-request")
    page.click("#inspect-submit")
    page.wait_for_selector("#inspect-message:has-text('no-such-request')", timeout=WAIT_MS)


#: The request links of the requests table.
REQUEST_LINKS = "#requests-grid a[href^='/inspect?request_id=']"


def test_a_request_on_the_requests_page_opens_in_the_inspector(stack: dict, page: Any) -> None:
    page.goto(stack["console"] + "/requests")
    first = page.locator(REQUEST_LINKS).first
    first.wait_for(timeout=60_000)
    screenshot(page, "requests")
    page.evaluate("window.sameConsolePage = true")
    # The table takes newer answers on top at every refresh, except while the pointer is over
    # it: point at it, then click a request as a user would.
    page.hover("#requests-grid")
    request_id = first.inner_text()
    answer = stack["traffic"].answers.get(request_id)
    page.locator("#requests-grid").get_by_role("link", name=request_id, exact=True).click()
    page.wait_for_url(f"**/inspect?request_id={request_id}", timeout=WAIT_MS)
    page.wait_for_selector("#inspect-rule", timeout=WAIT_MS)
    if answer is not None:  # the answer as read from Kafka
        page.wait_for_selector(f"#inspect-rule:has-text('{answer['rule']}')", timeout=WAIT_MS)
    payload = json.loads(page.inner_text("#inspect-payload"))
    assert payload["request_id"] == request_id and "features" in payload["payload"]
    page.wait_for_selector("#inspect-timeline .main-svg", timeout=WAIT_MS)
    # Opened inside the console, as a dcc.Link does: no page reload.
    assert page.evaluate("window.sameConsolePage === true")
    screenshot(page, "inspect-from-requests")


def test_the_requests_table_holds_still_under_the_pointer(stack: dict, page: Any) -> None:
    refreshes: list[Any] = []  # the requests page's own refreshes that reached the browser

    def count(response: Any) -> None:
        if "_dash-update-component" in response.url and "requests-latest" in (
            response.request.post_data or ""
        ):
            refreshes.append(response)

    page.on("response", count)
    page.goto(stack["console"] + "/requests")
    first = page.locator(REQUEST_LINKS).first
    first.wait_for(timeout=60_000)
    page.hover("#requests-grid")
    pointed_at = first.inner_text()
    seen = len(refreshes)
    # Three refreshes of the page reach the browser while the pointer rests on the table,
    # with newer answers coming in all along (the traffic never stops).
    deadline = time.monotonic() + WAIT_MS / 1000
    while len(refreshes) < seen + 3 and time.monotonic() < deadline:
        page.wait_for_timeout(100)  # Playwright delivers the responses while it waits
    assert len(refreshes) >= seen + 3, "the page kept refreshing"
    assert first.inner_text() == pointed_at, "the rows held still under the pointer"
    page.mouse.move(0, 0)  # away from the table: the newer answers come in
    page.wait_for_function(
        "([links, id]) => document.querySelector(links).innerText !== id",
        arg=[REQUEST_LINKS, pointed_at],
        timeout=WAIT_MS,
    )


def test_the_requests_page_filters_by_winning_model(stack: dict, page: Any) -> None:
    page.goto(stack["console"] + "/requests")
    page.locator(REQUEST_LINKS).first.wait_for(timeout=60_000)
    model = page.inner_text("#requests-grid tbody tr:first-child td:nth-child(5)")
    page.click("#requests-model")
    page.keyboard.type(model)
    page.keyboard.press("Enter")
    page.wait_for_function(
        "(model) => { const rows = [...document.querySelectorAll('#requests-grid tbody tr')];"
        " return rows.length > 0 && rows.every(r => r.cells[4].innerText === model); }",
        arg=model,
        timeout=60_000,
    )


@pytest.mark.parametrize("path", ["/latency", "/agreement"])
def test_chart_pages_render_their_figures(stack: dict, page: Any, path: str) -> None:
    page.goto(stack["console"] + path)
    page.wait_for_selector(".js-plotly-plot .main-svg", timeout=WAIT_MS)
    page.wait_for_function(
        "() => document.querySelectorAll('.js-plotly-plot .scatterlayer .trace,"
        " .js-plotly-plot .heatmaplayer .hm').length > 0",
        timeout=60_000,
    )
    screenshot(page, path.strip("/"))
