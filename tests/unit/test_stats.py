"""Statistics folding: quantiles against numpy, agreement and win counts on hand-made cases."""

from __future__ import annotations

import numpy as np
import pytest

from streamapp.core.mailbox import Arrived, Decision, Mailbox
from streamapp.core.policy import ModelRule, Registry
from streamapp.stats.buckets import Accumulator, bucket_of, merged, quantiles
from streamapp.stats.observations import agree, decision, late_score, would_have_won
from streamapp.stats.report import report

T0 = 1_800_000_000_000
REGISTRY = Registry(
    models={
        "forest": ModelRule("live", 30),
        "linear": ModelRule("live", 20),
        "mlp": ModelRule("shadow", 25),
        "rules": ModelRule("live", 0, backstop=True),
    }
)


def closed(
    scores: list[tuple[str, int, dict | None]], winner: str | None, rule: str, answered_at: int
) -> Mailbox:
    arrivals = [
        Arrived(
            model=m,
            model_version=f"{m}-1",
            arrived_ms=T0 + at,
            read_at=0.0,
            finished_at=0.004,
            result=result,
        )
        for m, at, result in scores
    ]
    chosen = next((a for a in arrivals if a.model == winner), None)
    decision = Decision(
        status="ok" if chosen else "no_result",
        rule=rule,
        policy_version=1,
        at_ms=T0 + answered_at,
        answered_ms=T0 + answered_at,
        model=winner,
        model_version=chosen.model_version if chosen else None,
        result=chosen.result if chosen else None,
        reason=None,
        late=False,
        wire=b"{}",
    )
    return Mailbox(
        request_id="r",
        partition=0,
        offset=0,
        opened_ms=T0,
        deadline_ms=T0 + 200,
        return_topic="answers",
        payload_digest="d",
        scores=arrivals,
        decision=decision,
    )


BENIGN, MALIGNANT = {"label": "benign", "score": 0.1}, {"label": "malignant", "score": 0.9}


def test_quantiles_match_numpy_within_the_sketch_relative_error() -> None:
    samples = np.random.default_rng(3).lognormal(mean=3.0, sigma=0.8, size=20_000)
    accumulator = Accumulator(None, 0)
    entry = accumulator.model("forest")
    for value in samples:
        entry["eval"].add(float(value))
    for key, q in {"p50": 0.5, "p90": 0.9, "p99": 0.99, "p999": 0.999}.items():
        expected = float(np.quantile(samples, q, method="lower"))
        assert quantiles(entry["eval"])[key] == pytest.approx(expected, rel=0.021)


def test_sketches_survive_the_table_round_trip_and_merge_across_minutes() -> None:
    rng = np.random.default_rng(5)
    first, second = rng.uniform(1, 100, 5000), rng.uniform(100, 200, 5000)
    buckets = []
    for minute, values in ((T0, first), (T0 + 60_000, second)):
        accumulator = Accumulator(None, minute)
        for value in values:
            accumulator.model("m")["eval"].add(float(value))
        buckets.append(accumulator.dump())
    total = merged(buckets)
    both = np.concatenate([first, second])
    assert total.models["m"]["eval"].count == 10_000
    assert quantiles(total.models["m"]["eval"])["p50"] == pytest.approx(np.median(both), rel=0.021)


def test_wins_errors_would_have_won_and_agreement_on_a_hand_made_decision() -> None:
    mailbox = closed(
        [
            ("rules", 3, BENIGN),
            ("linear", 10, BENIGN),
            ("mlp", 30, MALIGNANT),
            ("forest", 50, None),
        ],
        winner="linear",
        rule="step_0",
        answered_at=80,
    )
    observation = decision(mailbox, REGISTRY)
    shadow = {s["model"]: s for s in observation["scores"]}
    assert shadow["mlp"]["would_have_won"] is True
    assert shadow["rules"]["would_have_won"] is False
    assert shadow["linear"]["rtt_ms"] == 10 and shadow["linear"]["eval_ms"] == pytest.approx(4.0)
    accumulator = Accumulator(None, bucket_of(T0))
    accumulator.add(observation, canary="rules")
    assert accumulator.models["linear"]["wins"] == 1
    assert accumulator.models["linear"]["wins_by_rule"] == {"step_0": 1}
    assert accumulator.models["forest"]["errors"] == 1
    assert accumulator.models["mlp"]["would_have_won"] == 1
    assert accumulator.models["mlp"]["agree_official"] == [1, 0]
    assert accumulator.models["rules"]["agree_official"] == [1, 1]
    assert accumulator.models["linear"]["agree_official"] == [0, 0], (
        "the winner's own answer is not counted as agreeing with the answer"
    )
    assert accumulator.models["linear"]["agree_canary"] == [1, 1]
    assert accumulator.pairs == {"linear|mlp": [1, 0], "linear|rules": [1, 1], "mlp|rules": [1, 0]}
    assert accumulator.by_rule == {"step_0": 1} and accumulator.counts["answers"] == 1


def test_a_shadow_model_that_answered_too_late_for_the_choice_would_not_have_won() -> None:
    mailbox = closed([("forest", 20, BENIGN)], winner="forest", rule="top_priority", answered_at=20)
    assert not would_have_won(mailbox, REGISTRY, "mlp")


def test_a_shadow_model_below_a_top_priority_winner_would_not_have_won_even_if_earlier() -> None:
    mailbox = closed(
        [("mlp", 10, MALIGNANT), ("forest", 50, BENIGN)],
        winner="forest",
        rule="top_priority",
        answered_at=50,
    )
    assert not would_have_won(mailbox, REGISTRY, "mlp")
    tied = Registry(models={**REGISTRY.models, "mlp": ModelRule("shadow", 30)})
    assert would_have_won(mailbox, tied, "mlp"), "in the top tier, the earlier result wins"


def test_would_have_won_asks_the_policy_when_the_registry_changed_since_the_answer() -> None:
    mailbox = closed(
        [("mlp", 10, MALIGNANT), ("forest", 190, BENIGN)],
        winner="forest",
        rule="top_priority",
        answered_at=200,
    )
    # forest is undeployed by the time the answer is counted; linear (no score) leads now.
    changed = Registry(
        models={**REGISTRY.models, "forest": ModelRule("off", 30), "mlp": ModelRule("shadow", 15)}
    )
    assert would_have_won(mailbox, changed, "mlp"), "at the deadline, the best live result"


def test_late_scores_count_as_late_and_feed_latency() -> None:
    accumulator = Accumulator(None, 0)
    accumulator.add(late_score("forest", at_ms=T0, eval_ms=250.0, rtt_ms=260), canary=None)
    entry = accumulator.models["forest"]
    assert (entry["late"], entry["scores"], entry["eval"].count) == (1, 0, 1)


def test_agreement_uses_labels_then_scores_within_tolerance() -> None:
    assert agree(BENIGN, {"label": "benign", "score": 0.4}) is True
    assert agree(BENIGN, MALIGNANT) is False
    assert agree({"score": 0.50}, {"score": 0.54}) is True
    assert agree({"score": 0.50}, {"score": 0.60}) is False
    assert agree(None, BENIGN) is None


def test_report_rates_matrix_and_deadline_misses() -> None:
    accumulator = Accumulator(None, bucket_of(T0))
    for n in range(4):
        winner = "forest" if n < 3 else "linear"
        mailbox = closed(
            [("forest", 20, BENIGN), ("linear", 10, BENIGN if n % 2 else MALIGNANT)],
            winner=winner,
            rule="top_priority",
            answered_at=20 if n else 300,
        )
        accumulator.add(decision(mailbox, REGISTRY), canary=None)
    body = report(
        [accumulator.dump()],
        REGISTRY,
        now_ms=T0 + 1000,
        since_ms=T0,
        until_ms=T0,
        pending=2,
        with_buckets=True,
    )
    assert body["models"]["forest"]["win_rate"] == 0.75
    assert body["models"]["forest"]["state"] == "live"
    assert body["totals"]["deadline_misses"] == 1 and body["totals"]["pending_mailboxes"] == 2
    assert body["agreement"] == {
        "models": ["forest", "linear"],
        "matrix": [[1.0, 0.5], [0.5, 1.0]],
        "counts": [[4, 4], [4, 4]],
    }, "each rate with the number of requests it is over"
    assert len(body["buckets"]) == 1 and body["buckets"][0]["requests"] == 4


def test_report_of_no_data_is_empty_not_an_error() -> None:
    body = report([], REGISTRY, now_ms=T0, since_ms=T0, until_ms=T0, pending=0)
    assert body["models"] == {} and body["totals"]["answers"] == 0
    assert body["qq"]["reference"] is None


def test_answers_are_counted_per_10_second_slot_with_no_results_and_failed_scores() -> None:
    accumulator = Accumulator(None, bucket_of(T0))
    for answered_at, winner in ((1_000, "forest"), (12_000, None), (15_000, "forest")):
        scores = [("forest", 5, BENIGN if winner else None), ("linear", 5, BENIGN)]
        rule = "top_priority" if winner else "no_result"
        accumulator.add(decision(closed(scores, winner, rule, answered_at), REGISTRY), None)
    slots = Accumulator(accumulator.dump(), bucket_of(T0)).slots  # through the table round trip
    # T0 starts a minute: 1 s, 12 s and 15 s after it fall in slots 0, 1 and 1.
    assert slots["requests"] == [1, 2, 0, 0, 0, 0]
    assert slots["no_result"] == [0, 1, 0, 0, 0, 0]
    assert slots["scores"] == [2, 4, 0, 0, 0, 0]
    assert slots["errors"] == [0, 1, 0, 0, 0, 0]


def test_requests_per_second_is_the_last_complete_10_seconds_not_a_minute_average() -> None:
    accumulator = Accumulator(None, bucket_of(T0))
    for n in range(30):  # 30 answers 1 to 4 s after T0 (slot 0), in the first minute of traffic
        mailbox = closed([("forest", 5, BENIGN)], "forest", "top_priority", 1_000 + 100 * n)
        accumulator.add(decision(mailbox, REGISTRY), None)
    during = report(
        [accumulator.dump()], REGISTRY, now_ms=T0 + 5_000, since_ms=0, until_ms=T0, pending=0
    )
    after = report(
        [accumulator.dump()], REGISTRY, now_ms=T0 + 12_000, since_ms=0, until_ms=T0, pending=0
    )
    assert during["totals"]["throughput_per_s"] == 0  # its slot is not complete yet
    assert after["totals"]["throughput_per_s"] == 3.0  # 30 in 10 s, not 30 / 60
    assert after["totals"]["throughput_window_s"] == 10


def test_end_to_end_latency_is_from_opening_to_answer_per_minute_and_in_total() -> None:
    accumulator = Accumulator(None, bucket_of(T0))
    for answered_at in (10, 20, 200):
        mailbox = closed([("forest", 5, BENIGN)], "forest", "top_priority", answered_at)
        accumulator.add(decision(mailbox, REGISTRY), None)
    body = report(
        [accumulator.dump()],
        REGISTRY,
        now_ms=T0,
        since_ms=0,
        until_ms=T0,
        pending=0,
        with_buckets=True,
    )
    assert body["totals"]["e2e_ms"]["p50"] == pytest.approx(20, rel=0.021)
    assert body["buckets"][0]["e2e_ms"]["p50"] == pytest.approx(20, rel=0.021)
    assert body["buckets"][0]["slots"]["requests"][0] == 3


def test_buckets_stored_before_slots_existed_still_load() -> None:
    old = Accumulator(None, bucket_of(T0)).dump()
    del old["slots"], old["e2e"]
    loaded = Accumulator(old, bucket_of(T0))
    assert loaded.slots["requests"] == [0] * 6 and loaded.e2e.count == 0


def test_latest_answers_are_filtered_and_newest_first() -> None:
    from streamapp.stats.recent import select, summary

    a = summary(closed([("forest", 5, BENIGN)], "forest", "top_priority", 30))
    b = {**a, "request_id": "b", "answered_at": T0 + 90, "rule": "no_result", "model": None}
    c = {**a, "request_id": "c", "answered_at": T0 + 60}
    assert a["e2e_ms"] == 30 and a["status"] == "ok"
    assert [s["request_id"] for s in select([a, b, c], limit=10)] == ["b", "c", "r"]
    assert [s["request_id"] for s in select([a, b, c], limit=10, model="forest")] == ["c", "r"]
    assert [s["request_id"] for s in select([a, b, c], limit=1, rule="top_priority")] == ["c"]
    assert select([a, b, c], limit=10, status="rejected") == []
