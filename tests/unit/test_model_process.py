"""Running one model on one request: failures become data, and models load by entry point."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import pytest

from models.base import Model, ModelInputError
from models.scorecard import Scorecard
from streamapp.core.records import Request
from streamapp.processes.model import UnknownModelError, available_models, load_model, score_one

REQUEST = Request(request_id="r1", payload={"features": {"worst radius": 12.0}})


class Echo:
    version = "echo-3"

    def predict(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        return {"seen": dict(payload)}


class Broken:
    version = "broken-1"

    def predict(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        raise ModelInputError("payload.features['age'] must be a number")


class ReturnsList:
    version = "list-1"

    def predict(self, payload: Mapping[str, Any]) -> Any:
        return [0.3, 0.7]


def test_good_model_result_becomes_a_score_with_its_version_and_times() -> None:
    read_at = time.time()
    score = score_one(Echo(), "echo", REQUEST, read_at)
    assert (score.request_id, score.model, score.model_version) == ("r1", "echo", "echo-3")
    assert score.result == {"seen": {"features": {"worst radius": 12.0}}}
    assert score.error is None
    assert score.read_at == read_at <= score.finished_at


def test_model_exception_becomes_a_score_error_with_its_type_and_message() -> None:
    score = score_one(Broken(), "broken", REQUEST, time.time())
    assert score.result is None
    assert score.error == "ModelInputError: payload.features['age'] must be a number"
    assert score.model_version == "broken-1"


def test_model_returning_a_non_dict_becomes_a_score_error() -> None:
    score = score_one(ReturnsList(), "lister", REQUEST, time.time())
    assert score.result is None
    assert score.error == "TypeError: predict returned list, not a dict"


def test_installed_project_registers_the_example_models() -> None:
    models = available_models()
    assert models["scorecard"] == "models.scorecard:Scorecard"
    assert models["rules"] == "models.rules:RulesBackstop"


def test_load_model_instantiates_the_registered_class() -> None:
    model = load_model("scorecard")
    assert isinstance(model, Scorecard) and isinstance(model, Model)


def test_load_model_with_an_unknown_name_lists_the_known_ones() -> None:
    known = ", ".join(sorted(available_models()))
    assert {"canary", "forest", "linear", "mlp", "rules", "scorecard"} <= set(available_models())
    with pytest.raises(UnknownModelError, match=rf"no model 'nope'.*known: {known}\)"):
        load_model("nope")
