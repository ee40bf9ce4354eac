"""Fault plans do what they say: latency distributions, error and hang rates, crashes."""

from __future__ import annotations

import statistics

import pytest

from streamapp.processes.faults import Fault, FaultPlan, FaultyModel, InjectedError, Latency


class Echo:
    version = "echo-1"

    def predict(self, payload):
        return {"echo": payload}


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("fixed:25", Latency("fixed", 25.0)),
        ("uniform:5:15", Latency("uniform", 5.0, 15.0)),
        ("normal:40:10", Latency("normal", 40.0, 10.0)),
        ("lognormal:30:0.5", Latency("lognormal", 30.0, 0.5)),
    ],
)
def test_latency_specs_parse(spec: str, expected: Latency) -> None:
    assert Latency.parse(spec) == expected


@pytest.mark.parametrize("spec", ["slow", "fixed", "fixed:-3", "uniform:1", "gamma:1:2", "fixed:x"])
def test_bad_latency_specs_are_refused_with_the_accepted_forms(spec: str) -> None:
    with pytest.raises(ValueError, match="lognormal:MEDIAN:SIGMA"):
        Latency.parse(spec)


def test_latency_draws_follow_their_distribution() -> None:
    plan = FaultPlan(latency=Latency.parse("lognormal:30:0.5"), seed=1)
    delays = [plan.next().delay_ms for _ in range(5000)]
    assert 27 < statistics.median(delays) < 33
    assert min(delays) > 0
    uniform = FaultPlan(latency=Latency.parse("uniform:5:15"), seed=1)
    assert all(5 <= uniform.next().delay_ms <= 15 for _ in range(1000))


def test_error_and_hang_rates_hold_over_many_requests() -> None:
    plan = FaultPlan(error_rate=0.2, hang_rate=0.05, seed=3)
    faults = [plan.next() for _ in range(10_000)]
    assert 0.18 < sum(f.error for f in faults) / 10_000 < 0.22
    assert 0.04 < sum(f.hang for f in faults) / 10_000 < 0.06


def test_same_seed_same_faults() -> None:
    def run() -> list[Fault]:
        plan = FaultPlan(latency=Latency.parse("normal:10:3"), error_rate=0.3, seed=9)
        return [plan.next() for _ in range(100)]

    assert run() == run()


def test_crash_comes_after_exactly_n_requests() -> None:
    plan = FaultPlan(crash_after=3)
    assert [plan.next().crash for _ in range(5)] == [False, False, False, True, True]


def test_faulty_model_raises_the_injected_error_and_passes_results_through() -> None:
    always = FaultyModel(Echo(), FaultPlan(error_rate=1.0))
    with pytest.raises(InjectedError):
        always.predict({"x": 1})
    never = FaultyModel(Echo(), FaultPlan(error_rate=0.0))
    assert never.predict({"x": 1}) == {"echo": {"x": 1}}
    assert never.version == "echo-1"


def test_rates_outside_zero_to_one_are_refused() -> None:
    with pytest.raises(ValueError, match="error_rate"):
        FaultPlan(error_rate=1.5)
    with pytest.raises(ValueError, match="crash_after"):
        FaultPlan(crash_after=0)


def test_plan_from_environment() -> None:
    plan = FaultPlan.from_env(
        {
            "RENDEZVOUS_FAULT_LATENCY": "fixed:12",
            "RENDEZVOUS_FAULT_ERROR_RATE": "0.1",
            "RENDEZVOUS_FAULT_CRASH_AFTER": "50",
        }
    )
    assert (plan.latency, plan.error_rate, plan.crash_after) == (Latency("fixed", 12.0), 0.1, 50)
    assert plan.active and not FaultPlan.from_env({}).active
