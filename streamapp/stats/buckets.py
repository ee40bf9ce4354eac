"""Per-minute buckets of statistics, as plain functions over plain values.

A *bucket* is a plain dict per minute: counters plus mergeable DDSketch quantile sketches per
model, folded from observations (``streamapp.stats.observations``). Inside its minute a bucket
also counts answers per 10-second slot (``slots``), so throughput and outcome rates have a
10 s resolution while the sketches stay per minute.
"""

from __future__ import annotations

import base64
import functools
from collections.abc import Iterable, Mapping
from typing import Any

from ddsketch import DDSketch
from ddsketch.pb import ddsketch_pb2
from ddsketch.pb.proto import DDSketchProto

from streamapp.core.policy import ModelRule
from streamapp.stats.observations import agree

BUCKET_MS = 60_000
SLOT_MS = 10_000
SLOTS_PER_BUCKET = BUCKET_MS // SLOT_MS
#: What each 10-second slot counts: answers, ``no_result`` answers, scores and failed scores.
SLOT_COUNTERS = ("requests", "no_result", "scores", "errors")
RELATIVE_ACCURACY = 0.01
QUANTILES = {"p50": 0.5, "p90": 0.9, "p99": 0.99, "p999": 0.999}
#: The score quantiles of the Q-Q plot: every 5 % in the middle, denser in the tails.
QQ_POINTS = [0.01, 0.02, 0.05, *(round(0.1 + 0.05 * i, 2) for i in range(17)), 0.95, 0.98, 0.99]
SKETCHES = ("eval", "rtt", "values")


def bucket_of(at_ms: int) -> int:
    """The minute an instant belongs to (epoch ms of its start)."""
    return at_ms - at_ms % BUCKET_MS


def slot_of(at_ms: int) -> int:
    """The index (0..5) of the 10-second slot an instant falls in, within its minute."""
    return (at_ms % BUCKET_MS) // SLOT_MS


class Accumulator:
    """One minute's statistics being folded (sketches kept live, serialised on ``dump``)."""

    def __init__(self, bucket: Mapping[str, Any] | None, minute: int) -> None:
        bucket = bucket or {}
        self.minute = minute
        self.counts: dict[str, Any] = {
            k: bucket.get(k, 0) for k in ("requests", "answers", "deadline_misses", "late_answers")
        }
        self.by_status: dict[str, int] = dict(bucket.get("by_status", {}))
        self.by_rule: dict[str, int] = dict(bucket.get("by_rule", {}))
        self.pairs: dict[str, list[int]] = {k: list(v) for k, v in bucket.get("pairs", {}).items()}
        stored_slots = bucket.get("slots", {})
        self.slots: dict[str, list[int]] = {
            k: list(stored_slots.get(k, [0] * SLOTS_PER_BUCKET)) for k in SLOT_COUNTERS
        }
        #: Time from the mailbox opening to its answer, every answer of the minute.
        self.e2e = load_sketch(bucket.get("e2e"))
        self.models: dict[str, dict[str, Any]] = {}
        for name, stored in bucket.get("models", {}).items():
            entry = {k: v for k, v in stored.items() if k not in SKETCHES}
            entry.update({k: load_sketch(stored.get(k)) for k in SKETCHES})
            self.models[name] = entry

    def model(self, name: str) -> dict[str, Any]:
        """The running entry of one model."""
        if name not in self.models:
            self.models[name] = {
                "scores": 0,
                "errors": 0,
                "late": 0,
                "wins": 0,
                "wins_by_rule": {},
                "would_have_won": 0,
                "agree_official": [0, 0],
                "agree_canary": [0, 0],
                **{k: DDSketch(RELATIVE_ACCURACY) for k in SKETCHES},
            }
        return self.models[name]

    def add(self, observation: Mapping[str, Any], canary: str | None) -> None:
        """Fold one observation in."""
        if observation["kind"] == "late":
            entry = self.model(observation["model"])
            entry["late"] += 1
            entry["eval"].add(observation["eval_ms"])
            entry["rtt"].add(float(observation["rtt_ms"]))
            return
        counts = self.counts
        counts["requests"] += 1
        counts["answers"] += 1
        if observation["deadline_missed"]:
            counts["deadline_misses"] += 1
        if observation["late"]:
            counts["late_answers"] += 1
        status, rule, winner = observation["status"], observation["rule"], observation["winner"]
        _bump(self.by_status, status)
        _bump(self.by_rule, rule)
        scores = observation["scores"]
        slot = slot_of(observation["at"])
        slots = self.slots
        slots["requests"][slot] += 1
        if status == "no_result":
            slots["no_result"][slot] += 1
        slots["scores"][slot] += len(scores)
        if "e2e_ms" in observation:
            self.e2e.add(float(observation["e2e_ms"]))
        results = {s["model"]: s["result"] for s in scores if s["ok"]}
        official = observation["result"]
        canary_result = results.get(canary) if canary else None
        models = self.models
        errors = 0
        for score in scores:
            name = score["model"]
            entry = models.get(name) or self.model(name)
            entry["scores"] += 1
            entry["eval"].add(score["eval_ms"])
            entry["rtt"].add(float(score["rtt_ms"]))
            if not score["ok"]:
                entry["errors"] += 1
                errors += 1
                continue
            result = score["result"]
            value = result.get("score")
            if isinstance(value, int | float):
                entry["values"].add(float(value))
            if score["would_have_won"]:
                entry["would_have_won"] += 1
            if name != winner:  # the winner agrees by construction
                _tally(entry["agree_official"], agree(result, official))
            if canary and name != canary:
                _tally(entry["agree_canary"], agree(result, canary_result))
        if errors:
            slots["errors"][slot] += errors
        if winner:
            won = models.get(winner) or self.model(winner)
            won["wins"] += 1
            _bump(won["wins_by_rule"], rule)
        if len(results) > 1:
            pairs = self.pairs
            for a, b, key in _pairs_of(tuple(sorted(results))):
                _tally(pairs.setdefault(key, [0, 0]), agree(results[a], results[b]))

    def dump(self) -> dict[str, Any]:
        """The bucket as a plain JSON-ready dict."""
        models = {}
        for name, entry in self.models.items():
            plain = {k: v for k, v in entry.items() if k not in SKETCHES}
            plain.update({k: dump_sketch(entry[k]) for k in SKETCHES})
            models[name] = plain
        return {
            "minute": self.minute,
            **self.counts,
            "by_status": self.by_status,
            "by_rule": self.by_rule,
            "pairs": self.pairs,
            "slots": self.slots,
            "e2e": dump_sketch(self.e2e),
            "models": models,
        }


@functools.lru_cache(maxsize=256)
def _pairs_of(names: tuple[str, ...]) -> tuple[tuple[str, str, str], ...]:
    """Each pair of the (sorted) names that gave a result, with its key in ``pairs``."""
    return tuple((a, b, f"{a}|{b}") for i, a in enumerate(names) for b in names[i + 1 :])


def _bump(counter: dict[str, int], key: str) -> None:
    counter[key] = counter.get(key, 0) + 1


def _tally(pair: list[int], agreed: bool | None) -> None:
    if agreed is not None:
        pair[0] += 1
        pair[1] += int(agreed)


def dump_sketch(sketch: Any) -> str:
    """A sketch as base64 protobuf (DDSketch's own wire format)."""
    proto = DDSketchProto.to_proto(sketch)  # type: ignore[no-untyped-call]
    return base64.b64encode(proto.SerializeToString()).decode()


def load_sketch(text: str | None) -> Any:
    """A sketch from ``dump_sketch`` (an empty one for None)."""
    if not text:
        return DDSketch(RELATIVE_ACCURACY)
    proto = ddsketch_pb2.DDSketch()
    proto.ParseFromString(base64.b64decode(text))
    return DDSketchProto.from_proto(proto)  # type: ignore[no-untyped-call]


def merged(buckets: Iterable[Mapping[str, Any]]) -> Accumulator:
    """Several buckets summed into one (sketches merged)."""
    return combine(Accumulator(bucket, bucket.get("minute", 0)) for bucket in buckets)


def combine(parts: Iterable[Accumulator], *, minute: int = 0) -> Accumulator:
    """Parsed buckets summed into a new one (the parts are left as they are)."""
    total = Accumulator(None, minute)
    for part in parts:
        for key in total.counts:
            total.counts[key] += part.counts[key]
        for name, count in part.by_status.items():
            total.by_status[name] = total.by_status.get(name, 0) + count
        for name, count in part.by_rule.items():
            total.by_rule[name] = total.by_rule.get(name, 0) + count
        for key, (n, agreed) in part.pairs.items():
            pair = total.pairs.setdefault(key, [0, 0])
            pair[0] += n
            pair[1] += agreed
        for key, counts in part.slots.items():
            total.slots[key] = [a + b for a, b in zip(total.slots[key], counts, strict=True)]
        if part.e2e.count:
            total.e2e.merge(part.e2e)
        for name, entry in part.models.items():
            into = total.model(name)
            for key in ("scores", "errors", "late", "wins", "would_have_won"):
                into[key] += entry[key]
            for rule, count in entry["wins_by_rule"].items():
                into["wins_by_rule"][rule] = into["wins_by_rule"].get(rule, 0) + count
            for key in ("agree_official", "agree_canary"):
                into[key] = [into[key][0] + entry[key][0], into[key][1] + entry[key][1]]
            for key in SKETCHES:
                if entry[key].count:
                    into[key].merge(entry[key])
    return total


def quantiles(sketch: Any) -> dict[str, float | None]:
    """p50/p90/p99/p99.9 of a sketch (None when empty)."""
    if not sketch.count:
        return dict.fromkeys(QUANTILES)
    return {k: round(float(sketch.get_quantile_value(q)), 3) for k, q in QUANTILES.items()}


def rate(numerator: int, denominator: int) -> float | None:
    """A ratio, or None without data."""
    return round(numerator / denominator, 4) if denominator else None


def model_summary(entry: Mapping[str, Any], answers: int, rule: ModelRule | None) -> dict[str, Any]:
    """One model's figures as the API shows them."""
    return {
        "state": rule.state if rule else None,
        "priority": rule.priority if rule else None,
        "backstop": rule.backstop if rule else None,
        "scores": entry["scores"],
        "errors": entry["errors"],
        "error_rate": rate(entry["errors"], entry["scores"]),
        "late": entry["late"],
        "late_rate": rate(entry["late"], entry["scores"] + entry["late"]),
        "wins": entry["wins"],
        "win_rate": rate(entry["wins"], answers),
        "wins_by_rule": entry["wins_by_rule"],
        "would_have_won": entry["would_have_won"],
        "would_have_won_rate": rate(entry["would_have_won"], answers),
        "agree_official": {
            "n": entry["agree_official"][0],
            "rate": rate(entry["agree_official"][1], entry["agree_official"][0]),
        },
        "agree_canary": {
            "n": entry["agree_canary"][0],
            "rate": rate(entry["agree_canary"][1], entry["agree_canary"][0]),
        },
        "eval_ms": quantiles(entry["eval"]),
        "rtt_ms": quantiles(entry["rtt"]),
    }
