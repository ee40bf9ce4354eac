"""Prometheus counters and histograms for metrics updated and scraped on one event loop.

They expose exactly what prometheus_client's ``Counter`` and ``Histogram`` expose for the same
updates (samples, ``_created`` included), through prometheus_client's own metric families and
registry, but count without its locks: with a lock per update and a scan of the buckets per
observation, counting an answer with three scores (13 updates) took the worker 9 to 10 µs;
with these, 3.5 (``benchmarks/per_answer.py``). Only for metrics that one thread updates and
collects, as the worker's event loop does.
"""

from __future__ import annotations

import time
from bisect import bisect_left
from collections.abc import Iterator
from itertools import accumulate
from typing import Generic, TypeVar

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString


class CounterSeries:
    """One series of a counter: its value and when it began."""

    __slots__ = ("created", "value")

    def __init__(self) -> None:
        self.value = 0.0
        self.created = time.time()

    def inc(self, amount: float = 1) -> None:
        """Add ``amount`` (not negative)."""
        if amount < 0:
            raise ValueError(f"a counter only goes up: inc({amount})")
        self.value += amount


class HistogramSeries:
    """One series of a histogram: observations per bucket (the last is +Inf), their sum, and
    when it began."""

    __slots__ = ("_bounds", "buckets", "created", "sum")

    def __init__(self, bounds: tuple[float, ...]) -> None:
        self._bounds = bounds
        self.buckets = [0] * (len(bounds) + 1)
        self.sum = 0.0
        self.created = time.time()

    def observe(self, value: float) -> None:
        """Count one observation, in the first bucket whose upper bound is at least it."""
        self.buckets[bisect_left(self._bounds, value)] += 1
        self.sum += value


_Series = TypeVar("_Series", CounterSeries, HistogramSeries)


class _LoopMetric(Collector, Generic[_Series]):
    """A metric's series by label values; the unlabelled one exists from the start."""

    def __init__(
        self,
        name: str,
        documentation: str,
        labelnames: tuple[str, ...] = (),
        *,
        registry: CollectorRegistry,
    ) -> None:
        self.name = name
        self.documentation = documentation
        self.labelnames = labelnames
        self._series: dict[tuple[str, ...], _Series] = {}
        if not labelnames:
            self._series[()] = self._new_series()
        registry.register(self)

    def _new_series(self) -> _Series:
        raise NotImplementedError

    def labels(self, *values: str) -> _Series:
        """The series of these label values (created on first use)."""
        series = self._series.get(values)
        if series is None:
            if len(values) != len(self.labelnames):
                raise ValueError(f"{self.name} takes labels {self.labelnames}, got {values}")
            series = self._series[values] = self._new_series()
        return series

    def _labelled(self) -> Iterator[tuple[list[str], dict[str, str], _Series]]:
        for values, series in list(self._series.items()):
            yield list(values), dict(zip(self.labelnames, values, strict=True)), series


class LoopCounter(_LoopMetric[CounterSeries]):
    """A Prometheus counter (``<name>_total``), optionally labelled."""

    def _new_series(self) -> CounterSeries:
        return CounterSeries()

    def inc(self, amount: float = 1) -> None:
        """Add to the unlabelled counter."""
        self._series[()].inc(amount)

    def collect(self) -> Iterator[CounterMetricFamily]:
        """Each series' ``_total`` and ``_created``."""
        family = CounterMetricFamily(self.name, self.documentation, labels=list(self.labelnames))
        for values, _, series in self._labelled():
            family.add_metric(values, series.value, created=series.created)
        yield family


class LoopHistogram(_LoopMetric[HistogramSeries]):
    """A Prometheus histogram, optionally labelled."""

    def __init__(
        self,
        name: str,
        documentation: str,
        labelnames: tuple[str, ...] = (),
        *,
        buckets: tuple[float, ...],
        registry: CollectorRegistry,
    ) -> None:
        self._bounds = tuple(sorted(buckets))
        #: The ``le`` labels, written as prometheus_client writes them.
        self._upper: list[str] = [
            floatToGoString(b)  # type: ignore[no-untyped-call]  # untyped in prometheus_client
            for b in (*self._bounds, float("inf"))
        ]
        super().__init__(name, documentation, labelnames, registry=registry)

    def _new_series(self) -> HistogramSeries:
        return HistogramSeries(self._bounds)

    def observe(self, value: float) -> None:
        """Count one observation of the unlabelled histogram."""
        self._series[()].observe(value)

    def collect(self) -> Iterator[HistogramMetricFamily]:
        """Each series' buckets (cumulative), ``_count``, ``_sum`` and ``_created``."""
        family = HistogramMetricFamily(self.name, self.documentation, labels=list(self.labelnames))
        for values, labels, series in self._labelled():
            cumulative = list(accumulate(series.buckets))
            family.add_metric(values, list(zip(self._upper, cumulative, strict=True)), series.sum)
            family.add_sample(f"{self.name}_created", labels, series.created)
        yield family
