"""Weighted random split among equally acceptable models, reproducible per request id."""

from __future__ import annotations

from collections import Counter

from streamapp.core.policy import ModelRule, Offer, Registry, choose, draw, weighted_pick

SPLIT = Registry(
    models={
        "a": ModelRule("live", 10, weight=3.0),
        "b": ModelRule("live", 10, weight=1.0),
        "rules": ModelRule("live", 0, backstop=True),
    },
    random_split=True,
)


def pick(request_id: str, offers: list[Offer], now_ms: int = 5) -> str | None:
    choice = choose(
        offers, SPLIT, opened_ms=0, deadline_ms=100, now_ms=now_ms, request_id=request_id
    )
    return None if choice is None else choice.model


def test_the_draw_is_fixed_by_the_request_id() -> None:
    assert draw("req-1") == draw("req-1")
    assert draw("req-1") != draw("req-2")
    assert 0 <= draw("anything") < 1


def test_split_follows_the_weights_over_many_requests() -> None:
    counts = Counter(weighted_pick(f"r{n}", ["a", "b"], SPLIT) for n in range(4000))
    assert 0.70 < counts["a"] / 4000 < 0.80


def test_the_picked_arm_answers_at_once_and_the_other_arm_never_preempts_it() -> None:
    for n in range(50):
        request_id = f"r{n}"
        arm = weighted_pick(request_id, ["a", "b"], SPLIT)
        other = "b" if arm == "a" else "a"
        assert pick(request_id, [Offer(other, 1, True)]) is None
        assert pick(request_id, [Offer(other, 1, True), Offer(arm, 2, True)]) == arm


def test_a_replay_makes_the_same_choice_whatever_the_arrival_order() -> None:
    offers = [Offer("a", 1, True), Offer("b", 2, True)]
    for n in range(50):
        first = pick(f"r{n}", offers)
        assert pick(f"r{n}", list(reversed(offers))) == first


def test_at_the_deadline_the_split_chooses_among_the_tied_answers_present() -> None:
    present = [Offer("b", 1, True)]
    request_id = next(
        f"r{n}" for n in range(100) if weighted_pick(f"r{n}", ["a", "b"], SPLIT) == "a"
    )
    assert pick(request_id, present, now_ms=99) is None
    assert pick(request_id, present, now_ms=100) == "b"


def test_zero_weight_is_never_picked_by_the_split() -> None:
    registry = Registry(
        models={"a": ModelRule("live", 10, weight=0.0), "b": ModelRule("live", 10, weight=1.0)},
        random_split=True,
    )
    assert {weighted_pick(f"r{n}", ["a", "b"], registry) for n in range(200)} == {"b"}
