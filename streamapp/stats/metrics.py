"""Prometheus metrics of one worker, in the standard shape: counters, histograms, gauges.

Counters and histograms are updated as mailboxes close (no work when scraped, so ``rate()`` and
``histogram_quantile()`` work as usual); gauges are read when scraped. Names are in base units
(seconds). Every worker exposes its own; sum them in Prometheus.

The counters and histograms are counted without locks (``streamapp.stats.loop_metrics``): the
worker updates them and is scraped on its one event loop.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from streamapp.core.mailbox import Mailbox, end_to_end_ms
from streamapp.stats.loop_metrics import LoopCounter, LoopHistogram

#: Seconds: from a millisecond to the largest deadline.
LATENCY_BUCKETS = (
    0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0,
)  # fmt: skip

registry = CollectorRegistry(auto_describe=True)
requests = LoopCounter(
    "rendezvous_requests", "Requests read from the requests topic", ("outcome",), registry=registry
)
answers = LoopCounter(
    "rendezvous_answers",
    "Official answers sent, by status, rule and winning model",
    ("status", "rule", "model"),
    registry=registry,
)
scores = LoopCounter(
    "rendezvous_scores",
    "Scores filed, by model and outcome (ok, error, late, duplicate)",
    ("model", "outcome"),
    registry=registry,
)
answer_latency = LoopHistogram(
    "rendezvous_answer_latency_seconds",
    "From the request entering Kafka to its answer leaving (end to end, in the rendezvous)",
    buckets=LATENCY_BUCKETS,
    registry=registry,
)
added_latency = LoopHistogram(
    "rendezvous_added_latency_seconds",
    "From the winning score entering Kafka to the answer leaving (what the rendezvous adds)",
    buckets=LATENCY_BUCKETS,
    registry=registry,
)
lateness = LoopHistogram(
    "rendezvous_deadline_lateness_seconds",
    "How long after its deadline an answer left (0 when on time)",
    buckets=(0.0, *LATENCY_BUCKETS),
    registry=registry,
)
model_eval = LoopHistogram(
    "rendezvous_model_eval_seconds",
    "A model's own evaluation time (finished - read, as it reports)",
    ("model",),
    buckets=LATENCY_BUCKETS,
    registry=registry,
)
model_round_trip = LoopHistogram(
    "rendezvous_model_round_trip_seconds",
    "From the request entering Kafka to a model's score entering Kafka",
    ("model",),
    buckets=LATENCY_BUCKETS,
    registry=registry,
)


def request_read(outcome: str) -> None:
    """Count a request read: ``valid`` (opened or retried), ``invalid`` or ``refused``."""
    requests.labels(outcome).inc()


def answered(mailbox: Mailbox) -> None:
    """Count and time a mailbox whose answer has left."""
    decision = mailbox.decision
    assert decision is not None
    answers.labels(decision.status, decision.rule, decision.model or "").inc()
    answer_latency.observe(end_to_end_ms(mailbox) / 1000)
    lateness.observe(max(0, decision.answered_ms - mailbox.deadline_ms) / 1000)
    for arrived in mailbox.scores:
        scores.labels(arrived.model, "ok" if arrived.ok else "error").inc()
        model_eval.labels(arrived.model).observe(max(0.0, arrived.finished_at - arrived.read_at))
        rtt = max(0, arrived.arrived_ms - mailbox.opened_ms) / 1000
        model_round_trip.labels(arrived.model).observe(rtt)
        if arrived.model == decision.model:
            added_latency.observe(max(0, decision.answered_ms - arrived.arrived_ms) / 1000)
    if mailbox.duplicate_scores:
        scores.labels("", "duplicate").inc(mailbox.duplicate_scores)


def late(partition: int, model: str, eval_ms: float, rtt_ms: int) -> None:
    """Count a score that came after its answer."""
    scores.labels(model, "late").inc()
    model_eval.labels(model).observe(eval_ms / 1000)
    model_round_trip.labels(model).observe(rtt_ms / 1000)


class LiveState(Collector):
    """Gauges read when scraped: open mailboxes, consumer lag, the policy version."""

    def __init__(
        self,
        *,
        pending: Callable[[], int],
        lag: Callable[[], dict[str, Any]],
        policy_version: Callable[[], int],
    ) -> None:
        self._pending = pending
        self._lag = lag
        self._policy_version = policy_version

    def collect(self) -> Iterator[GaugeMetricFamily]:
        """The gauges, as they are now."""
        yield GaugeMetricFamily(
            "rendezvous_pending_mailboxes", "Open mailboxes on this worker", value=self._pending()
        )
        lag = GaugeMetricFamily(
            "rendezvous_consumer_lag_messages",
            "Messages not read yet, per topic and partition this worker reads",
            labels=["topic", "partition"],
        )
        found = self._lag()
        for topic in ("requests", "scores"):
            for partition, waiting in found.get(topic, {}).items():
                lag.add_metric([topic, str(partition)], waiting)
        yield lag
        yield GaugeMetricFamily(
            "rendezvous_behind_seconds",
            "How far behind the newest request this worker is",
            value=found.get("behind_ms", 0) / 1000,
        )
        yield GaugeMetricFamily(
            "rendezvous_policy_version",
            "The registry version this worker decides with",
            value=self._policy_version(),
        )
