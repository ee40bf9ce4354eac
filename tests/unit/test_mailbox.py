"""Mailbox transitions: opening, the one answer, late and duplicate scores, re-sends, expiry."""

from __future__ import annotations

from typing import Any

import pytest

from streamapp.core.mailbox import Step, Timing, is_open, on_request, on_score, on_tick, reject
from streamapp.core.policy import ModelRule, Registry
from streamapp.core.records import Answer, Candidate, Mailbox, Request, Score

T0 = 1_700_000_000_000
DEADLINE = T0 + 200
RETENTION = 60_000
REGISTRY = Registry(
    models={
        "fast": ModelRule("live", 10),
        "slow": ModelRule("live", 5),
        "rules": ModelRule("live", 0, backstop=True),
    },
    version=7,
)
REQUEST_ORIGIN = "requests:3:10"


def at(now_ms: int) -> Timing:
    return Timing(now_ms=now_ms, retention_ms=RETENTION)


def score(model: str, result: dict[str, Any] | None = None, error: str | None = None) -> Score:
    if result is None and error is None:
        result = {"label": f"by {model}"}
    return Score(
        request_id="r1",
        model=model,
        model_version=f"{model}-1",
        read_at=1.0,
        finished_at=2.0,
        result=result,
        error=error,
    )


def request_arrives(
    mailbox: Mailbox | None, now_ms: int = T0, origin: str = REQUEST_ORIGIN
) -> Step:
    return on_request(
        mailbox,
        Request(request_id="r1", payload={"x": 1}),
        partition=3,
        return_topic="shop-answers",
        deadline_at=DEADLINE,
        registry=REGISTRY,
        timing=at(now_ms),
        origin=origin,
    )


def score_arrives(mailbox: Mailbox | None, model: str, now_ms: int, origin: str = "") -> Step:
    origin = origin or f"scores:3:{model}@{now_ms}"
    timing = at(now_ms)
    return on_score(
        mailbox, score(model), partition=3, registry=REGISTRY, timing=timing, origin=origin
    )


def tick(mailbox: Mailbox | None, now_ms: int) -> Step:
    return on_tick(mailbox, registry=REGISTRY, timing=at(now_ms), origin=f"ticks:3:{now_ms}")


def answered_by_fast() -> Step:
    """Open r1, the backstop answers at +5, the top model at +12 and closes it."""
    opened = request_arrives(None).mailbox
    waiting = score_arrives(opened, "rules", T0 + 5).mailbox
    return score_arrives(waiting, "fast", T0 + 12, origin="scores:3:42")


def test_request_opens_a_mailbox_that_waits_until_the_deadline() -> None:
    step = request_arrives(None)
    assert step.outcome == "waiting" and step.answer is None and step.wake_at == DEADLINE
    box = step.mailbox
    assert box is not None and is_open(box)
    assert (box.opened_ms, box.deadline_at, box.partition) == (T0, DEADLINE, 3)
    assert box.return_topic == "shop-answers"


def test_top_model_score_closes_the_mailbox_with_a_complete_answer() -> None:
    step = answered_by_fast()
    assert step.outcome == "answered"
    assert step.answer == Answer(
        request_id="r1",
        status="ok",
        rule="top_priority",
        policy_version=7,
        opened_at=T0,
        answered_at=T0 + 12,
        deadline_at=DEADLINE,
        model="fast",
        model_version="fast-1",
        result={"label": "by fast"},
        candidates=[
            Candidate(model="rules", model_version="rules-1", ok=True, arrived_ms=T0 + 5),
            Candidate(model="fast", model_version="fast-1", ok=True, arrived_ms=T0 + 12),
        ],
        late=False,
    )
    box = step.mailbox
    assert box is not None and not is_open(box)
    assert (box.answer, box.closed_ms, box.closed_by) == (step.answer, T0 + 12, "scores:3:42")
    assert step.wake_at == T0 + 12 + RETENTION


def test_score_after_the_answer_is_counted_late_and_changes_nothing() -> None:
    closed = answered_by_fast().mailbox
    step = score_arrives(closed, "slow", T0 + 50)
    assert (step.outcome, step.answer) == ("late", None)
    assert step.mailbox is not None and closed is not None
    assert step.mailbox.late_scores == 1
    assert step.mailbox.answer == closed.answer and not is_open(step.mailbox)


def test_second_score_from_the_same_model_is_counted_duplicate_and_ignored() -> None:
    opened = request_arrives(None).mailbox
    first = score_arrives(opened, "slow", T0 + 5).mailbox
    step = on_score(
        first,
        score("slow", result={"label": "changed my mind"}),
        partition=3,
        registry=REGISTRY,
        timing=at(T0 + 6),
        origin="scores:3:99",
    )
    assert (step.outcome, step.answer) == ("duplicate", None)
    assert step.mailbox is not None and step.mailbox.duplicate_scores == 1
    assert [a.result for a in step.mailbox.scores] == [{"label": "by slow"}]


def test_same_request_id_sent_again_after_the_answer_changes_nothing_and_sends_nothing() -> None:
    closed = answered_by_fast()
    step = request_arrives(closed.mailbox, now_ms=T0 + 80, origin="requests:3:12")
    assert (step.outcome, step.answer, step.mailbox) == (
        "duplicate_request",
        None,
        closed.mailbox,
    )


def test_redelivered_request_that_closed_the_mailbox_resends_its_answer() -> None:
    rejected = reject_r1(None, T0)
    step = reject_r1(rejected.mailbox, T0 + 80)
    assert (step.outcome, step.answer) == ("resent", rejected.answer)


def test_request_seen_again_for_an_open_mailbox_changes_nothing() -> None:
    opened = request_arrives(None).mailbox
    step = request_arrives(opened, now_ms=T0 + 1)
    assert (step.outcome, step.answer, step.mailbox) == ("duplicate_request", None, opened)


def test_redelivery_of_the_closing_score_resends_the_answer_without_counting_it_late() -> None:
    closed = answered_by_fast()
    step = score_arrives(closed.mailbox, "fast", T0 + 90, origin="scores:3:42")
    assert (step.outcome, step.answer, step.mailbox) == ("resent", closed.answer, closed.mailbox)


def test_same_late_model_from_another_origin_is_not_resent() -> None:
    closed = answered_by_fast()
    step = score_arrives(closed.mailbox, "fast", T0 + 90, origin="scores:3:43")
    assert (step.outcome, step.answer) == ("late", None)


def test_score_before_its_request_is_kept_and_used_when_the_request_arrives() -> None:
    early = score_arrives(None, "fast", T0 - 5)
    assert early.outcome == "early" and early.answer is None
    assert early.mailbox is not None and not is_open(early.mailbox)
    assert early.mailbox.opened_ms is None and early.wake_at == T0 - 5 + RETENTION
    step = request_arrives(early.mailbox)
    assert step.outcome == "answered" and step.answer is not None
    assert (step.answer.model, step.answer.rule) == ("fast", "top_priority")
    assert [c.arrived_ms for c in step.answer.candidates] == [T0 - 5]


def test_tick_answers_an_open_mailbox_at_its_deadline_and_not_before() -> None:
    waiting = score_arrives(request_arrives(None).mailbox, "slow", T0 + 5).mailbox
    before = tick(waiting, DEADLINE - 1)
    assert (before.outcome, before.answer, before.wake_at) == ("waiting", None, DEADLINE)
    step = tick(waiting, DEADLINE)
    assert step.answer is not None
    assert (step.answer.model, step.answer.rule, step.answer.late) == ("slow", "deadline", False)


@pytest.mark.parametrize(("after_deadline", "late"), [(1000, False), (1001, True)])
def test_answer_is_late_only_when_more_than_late_after_ms_past_the_deadline(
    after_deadline: int, late: bool
) -> None:
    opened = request_arrives(None).mailbox
    step = tick(opened, DEADLINE + after_deadline)
    assert step.answer is not None and step.answer.status == "no_result"
    assert step.answer.late is late


def test_closed_mailbox_expires_exactly_at_the_end_of_retention() -> None:
    closed = answered_by_fast().mailbox
    expiry = T0 + 12 + RETENTION
    kept = tick(closed, expiry - 1)
    assert (kept.mailbox, kept.wake_at, kept.answer) == (closed, expiry, None)
    gone = tick(closed, expiry)
    assert (gone.mailbox, gone.outcome, gone.answer) == (None, "expired", None)


def test_tick_for_a_mailbox_that_is_gone_does_nothing() -> None:
    assert tick(None, T0) == Step(None, outcome="gone")


def reject_r1(mailbox: Mailbox | None, now_ms: int) -> Step:
    return reject(
        mailbox,
        "r1",
        partition=3,
        return_topic="shop-answers",
        reason="deadline_ms 0 is outside 1..60000",
        registry=REGISTRY,
        timing=at(now_ms),
        origin="requests:3:11",
    )


def test_reject_closes_a_new_mailbox_with_a_rejected_answer_and_the_reason() -> None:
    step = reject_r1(None, T0)
    assert step.outcome == "rejected" and step.answer is not None
    assert (step.answer.status, step.answer.rule) == ("rejected", "rejected")
    assert step.answer.reason == "deadline_ms 0 is outside 1..60000"
    assert (step.answer.opened_at, step.answer.answered_at, step.answer.policy_version) == (
        T0,
        T0,
        7,
    )
    assert step.mailbox is not None and not is_open(step.mailbox)
    assert step.mailbox.return_topic == "shop-answers" and step.wake_at == T0 + RETENTION


def test_rejecting_an_answered_mailbox_keeps_the_old_answer_and_sends_nothing() -> None:
    closed = answered_by_fast()
    step = reject_r1(closed.mailbox, T0 + 30)
    assert (step.outcome, step.answer, step.mailbox) == (
        "duplicate_request",
        None,
        closed.mailbox,
    )
