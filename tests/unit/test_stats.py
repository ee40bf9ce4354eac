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
    assert accumulator.models["linear"]["agree_canary"] == [1, 1]
    assert accumulator.pairs == {"linear|mlp": [1, 0], "linear|rules": [1, 1], "mlp|rules": [1, 0]}
    assert accumulator.by_rule == {"step_0": 1} and accumulator.counts["answers"] == 1


def test_a_shadow_model_that_answered_too_late_for_the_choice_would_not_have_won() -> None:
    mailbox = closed([("forest", 20, BENIGN)], winner="forest", rule="top_priority", answered_at=20)
    assert not would_have_won(mailbox, REGISTRY, "mlp")


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
    assert body["agreement"] == {"models": ["forest", "linear"], "matrix": [[1.0, 0.5], [0.5, 1.0]]}
    assert len(body["buckets"]) == 1 and body["buckets"][0]["requests"] == 4


def test_report_of_no_data_is_empty_not_an_error() -> None:
    body = report([], REGISTRY, now_ms=T0, since_ms=T0, until_ms=T0, pending=0)
    assert body["models"] == {} and body["totals"]["answers"] == 0
    assert body["qq"]["reference"] is None
