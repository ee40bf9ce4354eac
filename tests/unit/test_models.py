"""The example models on fixed tumour measurements, and their input errors."""

from __future__ import annotations

from typing import Any

import pytest

from models.base import ModelInputError, features
from models.rules import RulesBackstop
from models.scorecard import Scorecard

LARGE = {"worst radius": 25.4, "worst texture": 31.2, "worst concave points": 0.21}
SMALL = {"worst radius": 12, "worst texture": 18, "worst concave points": 0.06}
MODELS = [Scorecard(), RulesBackstop()]


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.version)
@pytest.mark.parametrize(("measured", "label"), [(LARGE, "malignant"), (SMALL, "benign")])
def test_models_label_fixed_tumours(model: Any, measured: dict[str, float], label: str) -> None:
    assert model.predict({"features": measured})["label"] == label


def test_scorecard_score_is_the_probability_of_malignant() -> None:
    large = Scorecard().predict({"features": LARGE})["score"]
    small = Scorecard().predict({"features": SMALL})["score"]
    assert large == pytest.approx(0.999947, abs=1e-6)
    assert small == pytest.approx(0.000531, abs=1e-6)


@pytest.mark.parametrize(("radius", "label"), [(16.8, "benign"), (16.81, "malignant")])
def test_rules_threshold_is_strictly_above_16_8(radius: float, label: str) -> None:
    result = RulesBackstop().predict({"features": {"worst radius": radius}})
    assert result == {"label": label, "score": 1.0 if label == "malignant" else 0.0}


@pytest.mark.parametrize("value", [None, "25.4", True, [25.4]])
def test_bad_feature_value_is_refused_by_name(value: Any) -> None:
    measured = {**LARGE, "worst texture": value}
    with pytest.raises(ModelInputError, match=r"payload\.features\['worst texture'\] must be a"):
        Scorecard().predict({"features": measured})


def test_missing_feature_is_refused_by_name() -> None:
    with pytest.raises(ModelInputError, match=r"\['worst radius'\]"):
        RulesBackstop().predict({"features": {"worst texture": 20.0}})


@pytest.mark.parametrize("payload", [{}, {"features": [25.4]}, {"features": "25.4"}])
def test_payload_without_a_features_object_is_refused(payload: dict[str, Any]) -> None:
    with pytest.raises(ModelInputError, match=r"^payload\.features must be an object of numbers$"):
        RulesBackstop().predict(payload)


def test_features_picks_the_named_numbers_as_floats() -> None:
    picked = features({"features": {"a": 1, "b": 2.5, "c": "ignored"}}, ("a", "b"))
    assert picked == {"a": 1.0, "b": 2.5}
    assert all(type(v) is float for v in picked.values())
