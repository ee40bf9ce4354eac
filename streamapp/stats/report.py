"""The statistics report of ``GET /v1/stats``: a pure function of buckets and the registry."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Any

import orjson

from streamapp.core.policy import Registry
from streamapp.stats.buckets import (
    BUCKET_MS,
    QQ_POINTS,
    SLOT_MS,
    Accumulator,
    bucket_of,
    combine,
    model_summary,
    quantiles,
    rate,
    slot_of,
)

HISTOGRAM_STEPS = 20


def agreement_matrix(total: Accumulator, names: Sequence[str]) -> dict[str, Any]:
    """Pairwise agreement rates, model x model (diagonal 1.0, None without overlap), and how
    many requests each rate is over (``counts``: both models scored; the diagonal, the model's
    own scores)."""
    matrix: list[list[float | None]] = []
    counts: list[list[int]] = []
    for a in names:
        row: list[float | None] = []
        count_row: list[int] = []
        for b in names:
            if a == b:
                row.append(1.0)
                count_row.append(int(total.models[a]["values"].count) if a in total.models else 0)
                continue
            n, agreed = total.pairs.get(f"{min(a, b)}|{max(a, b)}", [0, 0])
            row.append(rate(agreed, n))
            count_row.append(int(n))
        matrix.append(row)
        counts.append(count_row)
    return {"models": list(names), "matrix": matrix, "counts": counts}


def qq(total: Accumulator, names: Sequence[str], canary: str | None) -> dict[str, Any]:
    """Score quantiles of each model, for a Q-Q plot against the canary."""
    series = {}
    for name in names:
        sketch = total.models[name]["values"]
        if sketch.count:
            series[name] = [round(float(sketch.get_quantile_value(q)), 4) for q in QQ_POINTS]
    return {
        "reference": canary if canary in series else None,
        "quantiles": QQ_POINTS,
        "models": series,
    }


def histogram(total: Accumulator, names: Sequence[str]) -> dict[str, Any]:
    """Evaluation-time distribution per model: equal-count bins from the sketch."""
    shown = {}
    for name in names:
        sketch = total.models[name]["eval"]
        if not sketch.count:
            continue
        edges = [
            round(float(sketch.get_quantile_value(i / HISTOGRAM_STEPS)), 3)
            for i in range(HISTOGRAM_STEPS + 1)
        ]
        shown[name] = {
            "edges_ms": edges,
            "counts": [round(sketch.count / HISTOGRAM_STEPS, 2)] * HISTOGRAM_STEPS,
        }
    return shown


def fingerprint(bucket: Mapping[str, Any]) -> tuple[int, ...]:
    """Changes whenever a bucket gains an observation (decisions and late scores)."""
    late = sum(entry.get("late", 0) for entry in bucket.get("models", {}).values())
    return (bucket.get("partition", -1), bucket.get("minute", 0), bucket.get("answers", 0), late)


_parsed: OrderedDict[tuple[int, ...], Accumulator] = OrderedDict()
PARSED_CACHE_SIZE = 4096


def parsed(bucket: Mapping[str, Any]) -> Accumulator:
    """The bucket with its sketches decoded, decoded once per version of the bucket."""
    key = fingerprint(bucket)
    if key in _parsed:
        _parsed.move_to_end(key)
        return _parsed[key]
    accumulator = Accumulator(bucket, bucket.get("minute", 0))
    _parsed[key] = accumulator
    while len(_parsed) > PARSED_CACHE_SIZE:
        _parsed.popitem(last=False)
    return accumulator


def bucket_view(one: Accumulator, names: Sequence[str]) -> dict[str, Any]:
    """One minute, as the time series of the API shows it."""
    return {
        "minute": one.minute,
        "requests": one.counts["requests"],
        "deadline_misses": one.counts["deadline_misses"],
        "by_status": one.by_status,
        "by_rule": one.by_rule,
        "slots": one.slots,
        "e2e_ms": quantiles(one.e2e),
        "models": {
            name: {
                "wins": entry["wins"],
                "scores": entry["scores"],
                "errors": entry["errors"],
                "late": entry["late"],
                "eval_ms": quantiles(entry["eval"]),
                "rtt_ms": quantiles(entry["rtt"]),
            }
            for name, entry in one.models.items()
            if name in names
        },
    }


def last_full_slot(parts: Sequence[Accumulator], now_ms: int) -> int:
    """Answers in the last complete 10-second slot before ``now_ms`` (all partitions)."""
    start = now_ms - now_ms % SLOT_MS - SLOT_MS
    minute, slot = bucket_of(start), slot_of(start)
    return sum(p.slots["requests"][slot] for p in parts if p.minute == minute)


def local_buckets(
    stored: Mapping[tuple[int, int], bytes],
    unwritten: Mapping[tuple[int, int], Mapping[str, Any]],
    since: int,
    until: int,
) -> list[dict[str, Any]]:
    """The window's buckets decoded (``unwritten``: folded in memory but not written back yet,
    newer than what is stored), each marked with its partition. Pure."""
    first, last = bucket_of(since), bucket_of(until)
    found = {key: orjson.loads(value) for key, value in stored.items()}
    for (partition, minute), bucket in unwritten.items():
        if first <= minute <= last:
            found[(partition, minute)] = dict(bucket)
    for (partition, _), bucket in found.items():
        bucket["partition"] = partition
    return list(found.values())


def report(
    buckets: Sequence[Mapping[str, Any]],
    registry: Registry,
    *,
    now_ms: int,
    since_ms: int,
    until_ms: int,
    pending: int,
    canary: str | None = None,
    models: Sequence[str] | None = None,
    with_buckets: bool = False,
) -> dict[str, Any]:
    """The whole report for a time window (``buckets`` already selected by the caller)."""
    by_minute: dict[int, list[Accumulator]] = {}
    for bucket in buckets:  # one bucket per partition and minute: a minute is their sum
        by_minute.setdefault(bucket["minute"], []).append(parsed(bucket))
    parts = [
        group[0] if len(group) == 1 else combine(group, minute=minute)
        for minute, group in sorted(by_minute.items())
    ]
    total = combine(parts)
    names = sorted(n for n in total.models if models is None or n in models)
    answers = total.counts["answers"]
    answered_last_slot = last_full_slot(parts, now_ms)
    return {
        "now": now_ms,
        "bucket_s": BUCKET_MS // 1000,
        "slot_s": SLOT_MS // 1000,
        "since": since_ms,
        "until": until_ms,
        "totals": {
            "requests": total.counts["requests"],
            "answers": answers,
            "throughput_per_s": round(answered_last_slot / (SLOT_MS / 1000), 3),
            "throughput_window_s": SLOT_MS // 1000,
            "by_status": total.by_status,
            "by_rule": total.by_rule,
            "deadline_misses": total.counts["deadline_misses"],
            "late_answers": total.counts["late_answers"],
            "pending_mailboxes": pending,
            "e2e_ms": quantiles(total.e2e),
        },
        "models": {
            name: model_summary(total.models[name], answers, registry.models.get(name))
            for name in names
        },
        "agreement": agreement_matrix(total, names),
        "qq": qq(total, names, canary),
        "latency_histogram": histogram(total, names),
        "buckets": [bucket_view(part, names) for part in parts] if with_buckets else [],
    }
