"""Microseconds of the worker's own work per answer, function by function (no broker).

    python -m benchmarks.per_answer [--calls 20000] [--repeat 15]

Times what the worker does for every answered mailbox with three scores (``scorecard``,
``rules``, ``linear``): choosing its answer under ``benchmarks.capacity``'s policy (``scorecard``
live, ``rules`` the backstop, ``linear`` in shadow), counting it in the Prometheus metrics, and
encoding its record for the mailboxes table. Each figure is the median (and the fastest) of
``--repeat`` timings of ``--calls`` calls. To compare another checkout's code side by side,
run this file by its path with that checkout first on the path:
``PYTHONPATH=<checkout> python benchmarks/per_answer.py``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import timeit
from collections.abc import Callable

from streamapp.core.mailbox import Arrived, Decision, Mailbox, choose_for
from streamapp.core.policy import LIVE, SHADOW, ModelRule, Registry
from streamapp.stats import metrics
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
        "metrics.answered": time_us(lambda: metrics.answered(mailbox), args.calls, args.repeat),
        "closed_record": time_us(lambda: closed_record(mailbox), args.calls, args.repeat),
    }
    for name, figures in report.items():
        print(f"{name:<18} {figures['median_us']:>7.2f} us median, {figures['min_us']:.2f} fastest")
    print("PER_ANSWER_JSON " + json.dumps(report))


if __name__ == "__main__":
    main()
