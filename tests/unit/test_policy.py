"""The policy, to the millisecond: who wins, by which rule, and when it stops waiting."""

from __future__ import annotations

import pytest

from streamapp.core.policy import (
    Choice,
    ModelRule,
    Offer,
    Registry,
    ScheduleStep,
    choose,
    next_wakeup,
    outranks,
)

OPENED = 1_700_000_000_000
DEADLINE = OPENED + 200
MODELS = {
    "fast": ModelRule("live", 10),
    "slow": ModelRule("live", 5),
    "rules": ModelRule("live", 0, backstop=True),
    "shadowy": ModelRule("shadow", 99),
    "dormant": ModelRule("off", 99),
}
REGISTRY = Registry(models=MODELS)


def with_steps(*steps: ScheduleStep, models: dict[str, ModelRule] = MODELS) -> Registry:
    return Registry(models=models, steps=steps)


def ok(model: str, after_ms: int) -> Offer:
    return Offer(model, OPENED + after_ms, ok=True)


def failed(model: str, after_ms: int) -> Offer:
    return Offer(model, OPENED + after_ms, ok=False)


def decide(offers: list[Offer], *, at_ms: int, registry: Registry = REGISTRY) -> Choice | None:
    return choose(offers, registry, opened_ms=OPENED, deadline_ms=DEADLINE, now_ms=at_ms)


def test_top_priority_live_result_answers_at_once() -> None:
    assert decide([ok("fast", 3)], at_ms=OPENED + 3) == Choice("fast", "top_priority")


def test_lower_priority_result_waits_until_the_deadline() -> None:
    offers = [ok("slow", 3)]
    assert decide(offers, at_ms=DEADLINE - 1) is None
    assert decide(offers, at_ms=DEADLINE) == Choice("slow", "deadline")


def test_schedule_step_opens_exactly_after_its_delay_and_not_one_ms_earlier() -> None:
    registry = with_steps(ScheduleStep(after_ms=50, min_priority=5))
    offers = [ok("slow", 3)]
    assert decide(offers, at_ms=OPENED + 49, registry=registry) is None
    assert decide(offers, at_ms=OPENED + 50, registry=registry) == Choice("slow", "step_0")


def test_schedule_step_ignores_models_below_its_min_priority() -> None:
    registry = with_steps(ScheduleStep(after_ms=50, min_priority=6))
    assert decide([ok("slow", 3)], at_ms=OPENED + 50, registry=registry) is None


def test_later_schedule_step_names_its_own_index() -> None:
    registry = with_steps(ScheduleStep(30, min_priority=8), ScheduleStep(60, min_priority=5))
    offers = [ok("slow", 3)]
    assert decide(offers, at_ms=OPENED + 59, registry=registry) is None
    assert decide(offers, at_ms=OPENED + 60, registry=registry) == Choice("slow", "step_1")


def test_backstop_never_wins_by_top_priority_or_a_step_even_when_ranked_highest() -> None:
    models = {**MODELS, "rules": ModelRule("live", 50, backstop=True)}
    registry = with_steps(ScheduleStep(after_ms=10, min_priority=0), models=models)
    offers = [ok("rules", 1)]
    assert decide(offers, at_ms=DEADLINE - 1, registry=registry) is None
    assert decide(offers, at_ms=DEADLINE, registry=registry) == Choice("rules", "backstop")


def test_backstop_wins_before_deadline_once_every_live_model_has_answered() -> None:
    offers = [failed("fast", 1), failed("slow", 2), ok("rules", 3)]
    assert decide(offers, at_ms=OPENED + 3) == Choice("rules", "backstop")


def test_all_answered_prefers_a_non_backstop_result_over_the_backstop() -> None:
    offers = [failed("fast", 1), ok("rules", 2), ok("slow", 3)]
    assert decide(offers, at_ms=OPENED + 3) == Choice("slow", "all_answered")


def test_deadline_prefers_a_late_preferred_result_over_an_early_backstop() -> None:
    offers = [ok("rules", 1), ok("slow", 150)]
    assert decide(offers, at_ms=DEADLINE) == Choice("slow", "deadline")


@pytest.mark.parametrize("model", ["shadowy", "dormant", "unregistered"])
def test_shadow_off_and_unregistered_models_never_win_even_when_alone(model: str) -> None:
    offers = [ok(model, 1)]
    assert decide(offers, at_ms=OPENED + 1) is None
    choice = decide(offers, at_ms=DEADLINE)
    assert choice == Choice(None, "no_result", "no deployed model answered by the deadline")


def test_equal_priority_tie_goes_to_the_earliest_arrival() -> None:
    models = {"a": ModelRule("live", 10), "b": ModelRule("live", 10)}
    registry = Registry(models=models)
    offers = [ok("a", 7), ok("b", 3)]
    assert decide(offers, at_ms=OPENED + 7, registry=registry) == Choice("b", "top_priority")


def test_equal_priority_tie_at_the_deadline_goes_to_the_earliest_arrival() -> None:
    models = {**MODELS, "steady": ModelRule("live", 5)}
    offers = [ok("slow", 40), ok("steady", 20)]
    choice = decide(offers, at_ms=DEADLINE, registry=Registry(models=models))
    assert choice == Choice("steady", "deadline")


def test_an_error_from_the_top_model_does_not_answer_and_never_wins() -> None:
    offers = [failed("fast", 1), ok("slow", 2)]
    assert decide(offers, at_ms=OPENED + 2) is None
    assert decide(offers, at_ms=DEADLINE) == Choice("slow", "deadline")


def test_no_result_when_no_model_is_deployed() -> None:
    registry = Registry(models={"shadowy": ModelRule("shadow", 5)})
    assert decide([], at_ms=DEADLINE - 1, registry=registry) is None
    choice = decide([], at_ms=DEADLINE, registry=registry)
    assert choice == Choice(None, "no_result", "no model is deployed")


def test_no_result_at_once_when_every_live_model_failed_naming_them_sorted() -> None:
    offers = [failed("slow", 1), failed("rules", 2), failed("fast", 3)]
    reason = "every deployed model that answered failed (fast, rules, slow)"
    assert decide(offers, at_ms=OPENED + 3) == Choice(None, "no_result", reason)


def test_no_result_at_deadline_names_only_the_live_models_that_failed() -> None:
    offers = [failed("fast", 1), ok("shadowy", 2)]
    reason = "every deployed model that answered failed (fast)"
    assert decide(offers, at_ms=DEADLINE) == Choice(None, "no_result", reason)


def test_no_result_at_deadline_when_no_live_model_answered() -> None:
    reason = "no deployed model answered by the deadline"
    assert decide([], at_ms=DEADLINE) == Choice(None, "no_result", reason)


STEPPED = with_steps(ScheduleStep(50, 5), ScheduleStep(120, 0), ScheduleStep(300, 0))


@pytest.mark.parametrize(
    ("now_after_open", "wake_after_open"),
    [(0, 50), (49, 50), (50, 120), (119, 120), (120, 200), (250, 200)],
)
def test_next_wakeup_is_the_next_future_step_before_the_deadline_else_the_deadline(
    now_after_open: int, wake_after_open: int
) -> None:
    wake = next_wakeup(
        STEPPED, opened_ms=OPENED, deadline_ms=DEADLINE, now_ms=OPENED + now_after_open
    )
    assert wake == OPENED + wake_after_open


def test_next_wakeup_without_steps_is_the_deadline() -> None:
    assert next_wakeup(REGISTRY, opened_ms=OPENED, deadline_ms=DEADLINE, now_ms=OPENED) == DEADLINE


def test_a_shadow_model_made_live_wins_at_its_own_priority_and_the_registry_is_unchanged() -> None:
    what_if = REGISTRY.with_live("shadowy")
    assert decide([ok("fast", 5), ok("shadowy", 9)], at_ms=OPENED + 9, registry=what_if) == Choice(
        "shadowy", "top_priority"
    )
    assert what_if.rule_for("shadowy") == ModelRule("live", 99)
    assert REGISTRY.rule_for("shadowy") == ModelRule("shadow", 99)
    assert decide([ok("fast", 5), ok("shadowy", 9)], at_ms=OPENED + 9) == Choice(
        "fast", "top_priority"
    )


def test_a_changed_registry_is_judged_by_its_own_models_not_an_earlier_ones() -> None:
    assert decide([ok("slow", 5)], at_ms=OPENED + 5) is None  # waits for "fast"
    changed = Registry(models={**MODELS, "fast": ModelRule("off", 10)}, version=2)
    assert decide([ok("slow", 5)], at_ms=OPENED + 5, registry=changed) == Choice(
        "slow", "top_priority"
    )
    assert "fast" in REGISTRY.live and "fast" not in changed.live


@pytest.mark.parametrize(
    ("winner", "model", "expected"),
    [
        ("fast", "slow", True),  # live, higher priority
        ("slow", "fast", False),
        ("fast", "unknown", True),  # an unregistered model is shadow at priority 0
        ("slow", "shadowy", False),  # priority 99 would lead, had it been live
        ("fast", "rules", True),  # a backstop's result counts only when no other has one
        ("rules", "unknown", False),  # a backstop winner outranks nothing
        ("shadowy", "fast", False),  # not live: the policy is asked
        ("fast", "fast", False),
    ],
)
def test_a_live_winner_outranks_models_of_lower_priority_and_backstops(
    winner: str, model: str, expected: bool
) -> None:
    assert outranks(REGISTRY, winner, model) is expected
