"""The generic model process hands each request's deadline to a model that takes deadlines."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import orjson

from streamapp.processes.model import deadline_of, readable_request_and_deadline
from streamapp.processes.scoring import Outcome, predict_many


def test_a_request_s_deadline_counts_from_when_it_entered_kafka() -> None:
    assert deadline_of(1_700_000_000_000, 150, 200) == 1_700_000_000.15
    assert deadline_of(1_700_000_000_000, None, 200) == 1_700_000_000.2


def test_the_deadline_ms_a_request_carries_is_read_with_it_and_nonsense_is_the_default() -> None:
    raw = orjson.dumps({"request_id": "r1", "payload": {"x": 1}, "deadline_ms": 150})
    assert readable_request_and_deadline(raw) == ("r1", {"x": 1}, 150)
    for odd in (0, -5, True, "150", 1.5):
        raw = orjson.dumps({"request_id": "r1", "payload": {}, "deadline_ms": odd})
        assert readable_request_and_deadline(raw) == ("r1", {}, None)


class Recorder:
    """A model that takes deadlines and reports each payload's as its result."""

    version = "recorder-1"

    def predict(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        raise AssertionError("predict_outcomes is used when deadlines are known")

    def predict_outcomes(
        self, payloads: Sequence[Mapping[str, Any]], deadlines: Sequence[float]
    ) -> list[Outcome]:
        return [({"deadline": d}, None) for d in deadlines]


class Broken(Recorder):
    def predict_outcomes(
        self, payloads: Sequence[Mapping[str, Any]], deadlines: Sequence[float]
    ) -> list[Outcome]:
        raise RuntimeError("down")


def test_a_model_that_takes_deadlines_gets_them_and_its_failure_is_every_request_s_error() -> None:
    assert predict_many(Recorder(), [{}, {}], [1.0, 2.0]) == [
        ({"deadline": 1.0}, None),
        ({"deadline": 2.0}, None),
    ]
    assert predict_many(Broken(), [{}, {}], [1.0, 2.0]) == [(None, "RuntimeError: down")] * 2
