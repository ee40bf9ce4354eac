"""Microseconds of the worker's own work per answer, function by function (no broker).

    python -m benchmarks.per_answer [--calls 20000] [--repeat 15]

Times what the worker does for every answered mailbox with three scores (``scorecard``,
``rules``, ``linear``): choosing its answer under ``benchmarks.capacity``'s policy (``scorecard``
live, ``rules`` the backstop, ``linear`` in shadow), the whole request through the rendezvous
(its mailbox opened with the backstop's score, ``linear``'s score, then ``scorecard``'s, which
decides), its observation for the statistics, counting it in the Prometheus metrics, and
encoding its record for the mailboxes table. Each figure is the median (and the fastest) of
``--repeat`` timings of ``--calls`` calls. To compare another checkout's code side by side,
run this file by its path with that checkout first on the path:
``PYTHONPATH=<checkout> python benchmarks/per_answer.py``.
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import timeit
from collections.abc import Callable

from streamapp.core.mailbox import Arrived, Decision, Mailbox, choose_for
from streamapp.core.policy import LIVE, SHADOW, ModelRule, Registry
from streamapp.core.rendezvous import Opening, Rendezvous
from streamapp.stats import metrics
from streamapp.stats.observations import decision
from streamapp.worker.closed_store import closed_record


def answered_mailbox() -> Mailbox:
    """A mailbox as it is when its answer leaves: three scores, `scorecard` chosen."""
    scores = [
        Arrived(model, "1", 1_010, 0.000, 0.001, {"label": "benign", "score": 0.2})
        for model in ("scorecard", "rules", "linear")
    ]
    decision = Decision(
        "ok", "top_priority", 1, 1_015, 1_015, "scorecard", "1",
        {"label": "benign", "score": 0.2}, None, False, b'{"request_id": "r-1"}',
    )  # fmt: skip
    return Mailbox("r-1", 0, 1, 1_000, 1_200, "answers", "digest", 1_000, scores, decision)


def benchmark_registry() -> Registry:
    """``benchmarks.capacity``'s default policy, as the policy sees it (written out: this file
    also runs by its path, where the ``benchmarks`` package is not importable)."""
    return Registry(
        models={
            "scorecard": ModelRule(LIVE, priority=10),
            "rules": ModelRule(LIVE, priority=0, backstop=True),
            "linear": ModelRule(SHADOW, priority=5),
        }
    )


def request_through(rendezvous: Rendezvous, registry: Registry) -> Callable[[], object]:
    """One request after another through the rendezvous: its mailbox opens with the backstop's
    score, ``linear``'s score comes, then ``scorecard``'s, which decides the answer."""
    numbers = itertools.count()

    def one_request() -> object:
        number = next(numbers)
        request_id = f"r-{number}"
        opening = Opening(request_id, 0, number, 1_000, 1_200, "answers", "digest")
        backstop = Arrived("rules", "1", 1_000, 0.0, 0.0, {"label": "benign", "score": 0.4})
        rendezvous.open_request(
            opening, registry, now_ms=1_001, scores_at_ms=1_001, hold=None, in_process=[backstop]
        )
        for model, at in (("linear", 1_008), ("scorecard", 1_010)):
            score = Arrived(model, "1", at, 0.0, 0.001, {"label": "benign", "score": 0.2})
            effects = rendezvous.file_score(
                0, request_id, score, registry, now_ms=at, scores_at_ms=at, hold=None
            )
        rendezvous.forget(1_010 + rendezvous.keep_closed_ms + 1)
        return effects

    return one_request


def time_us(work: Callable[[], object], calls: int, repeat: int) -> dict[str, float]:
    """Median and fastest microseconds per call over ``repeat`` timings of ``calls`` calls."""
    runs = [timeit.timeit(work, number=calls) / calls * 1e6 for _ in range(repeat)]
    return {"median_us": round(statistics.median(runs), 2), "min_us": round(min(runs), 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20_000, help="calls per timing")
    parser.add_argument("--repeat", type=int, default=15, help="timings per function")
    args = parser.parse_args()
    mailbox, registry = answered_mailbox(), benchmark_registry()
    report = {
        "choose_for": time_us(
            lambda: choose_for(mailbox, registry, at_ms=1_015), args.calls, args.repeat
        ),
        "rendezvous.request": time_us(
            request_through(Rendezvous(lookup=lambda p, r: None), registry),
            args.calls,
            args.repeat,
        ),
        "statistics.decision": time_us(
            lambda: decision(mailbox, registry), args.calls, args.repeat
        ),
        "metrics.answered": time_us(lambda: metrics.answered(mailbox), args.calls, args.repeat),
        "closed_record": time_us(lambda: closed_record(mailbox), args.calls, args.repeat),
    }
    for name, figures in report.items():
        print(f"{name:<20} {figures['median_us']:>7.2f} us median, {figures['min_us']:.2f} fastest")
    print("PER_ANSWER_JSON " + json.dumps(report))


if __name__ == "__main__":
    main()
