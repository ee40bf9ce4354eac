"""The worker's counters and histograms read in Prometheus exactly as prometheus_client's own
``Counter`` and ``Histogram`` would show the same updates: the same samples (for a histogram,
an observation on a bound counts in that bucket), ``_created`` included, labelled or not."""

from __future__ import annotations

import re

import pytest
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

from benchmarks.per_answer import answered_mailbox
from streamapp.stats import metrics
from streamapp.stats.loop_metrics import LoopCounter, LoopHistogram
from streamapp.stats.metrics import LATENCY_BUCKETS

#: Observations on and between bounds, below the first and above the last.
VALUES = [0.0, 0.0005, 0.001, 0.0011, 0.002, 0.05, 0.2, 0.2000001, 1.0, 59.9, 60.0, 61.0, 3600.0]


def _exposition(registry: CollectorRegistry) -> str:
    """The text a scrape reads, with the creation times (which differ) blanked out."""
    text = generate_latest(registry).decode()
    return re.sub(r"(_created(\{[^}]*\})?) \S+", r"\1 T", text)


def test_an_unlabelled_histogram_reads_as_prometheus_clients_own() -> None:
    ours, theirs = CollectorRegistry(), CollectorRegistry()
    loop = LoopHistogram("x_seconds", "doc", buckets=(0.0, *LATENCY_BUCKETS), registry=ours)
    reference = Histogram("x_seconds", "doc", buckets=(0.0, *LATENCY_BUCKETS), registry=theirs)
    assert _exposition(ours) == _exposition(theirs)  # no observation yet: still exposed
    for value in VALUES:
        loop.observe(value)
        reference.observe(value)
    assert _exposition(ours) == _exposition(theirs)
    assert 'x_seconds_bucket{le="0.001"} 3.0' in _exposition(ours)
    assert "x_seconds_count 13.0" in _exposition(ours)


def test_a_labelled_histogram_reads_as_prometheus_clients_own() -> None:
    ours, theirs = CollectorRegistry(), CollectorRegistry()
    loop = LoopHistogram("m_seconds", "doc", ("model",), buckets=LATENCY_BUCKETS, registry=ours)
    reference = Histogram("m_seconds", "doc", ["model"], buckets=LATENCY_BUCKETS, registry=theirs)
    assert _exposition(ours) == _exposition(theirs)  # no series until a label is used
    for n, value in enumerate(VALUES):
        model = ("scorecard", "linear")[n % 2]
        loop.labels(model).observe(value)
        reference.labels(model).observe(value)
    assert _exposition(ours) == _exposition(theirs)
    assert 'm_seconds_count{model="linear"} 6.0' in _exposition(ours)


def test_counters_read_as_prometheus_clients_own() -> None:
    ours, theirs = CollectorRegistry(), CollectorRegistry()
    plain = (LoopCounter("n", "doc", registry=ours), Counter("n", "doc", registry=theirs))
    labelled = (
        LoopCounter("a", "doc", ("status", "model"), registry=ours),
        Counter("a", "doc", ["status", "model"], registry=theirs),
    )
    assert _exposition(ours) == _exposition(theirs)
    for counter in plain:
        counter.inc()
        counter.inc(2.5)
    for counter in labelled:
        counter.labels("ok", "scorecard").inc()
        counter.labels("ok", "scorecard").inc()
        counter.labels("no_result", "").inc(3)
    assert _exposition(ours) == _exposition(theirs)
    assert 'a_total{model="scorecard",status="ok"} 2.0' in _exposition(ours)
    with pytest.raises(ValueError, match="only goes up"):
        plain[0].inc(-1)


def test_labels_must_match_the_names() -> None:
    histogram = LoopHistogram(
        "y_seconds", "doc", ("model",), buckets=LATENCY_BUCKETS, registry=CollectorRegistry()
    )
    with pytest.raises(ValueError, match="takes labels"):
        histogram.labels("a", "b")


def test_an_answer_is_counted_in_the_workers_metrics() -> None:
    """What ``GET /metrics`` shows after the worker counts an answer with three scores."""

    def sample(name: str, **labels: str) -> float:
        found = metrics.registry.get_sample_value(name, labels)
        return found or 0.0

    before = (
        sample("rendezvous_answers_total", status="ok", rule="top_priority", model="scorecard"),
        sample("rendezvous_model_eval_seconds_count", model="linear"),
        sample("rendezvous_added_latency_seconds_bucket", le="0.02"),
        sample("rendezvous_added_latency_seconds_bucket", le="0.01"),
    )
    metrics.answered(answered_mailbox())  # scorecard's score 5 ms before the answer
    after = (
        sample("rendezvous_answers_total", status="ok", rule="top_priority", model="scorecard"),
        sample("rendezvous_model_eval_seconds_count", model="linear"),
        sample("rendezvous_added_latency_seconds_bucket", le="0.02"),
        sample("rendezvous_added_latency_seconds_bucket", le="0.01"),
    )
    assert [a - b for a, b in zip(after, before, strict=True)] == [1, 1, 1, 1]
