"""Exported models are plain scikit-learn estimators that predict as the trained artifacts do."""

from __future__ import annotations

import json
from pathlib import Path

import joblib
import numpy as np
import pytest
from sklearn.preprocessing import FunctionTransformer

from models import artifacts
from models.dataset import split
from models.export import NotPlainError, export_mlserver, pickled_modules, plain_estimator
from models.training import train

PLAIN = {"sklearn", "numpy", "scipy", "builtins", "copyreg", "_codecs", "collections"}


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("models")
    for name in ("linear", "canary"):
        train(name, 42, root)
    dest = tmp_path_factory.mktemp("mlserver")
    export_mlserver(["linear", "canary"], dest, root)
    return root, dest


def test_the_export_is_a_model_repository_mlserver_loads_without_the_project(
    exported: tuple[Path, Path],
) -> None:
    root, dest = exported
    assert json.loads((dest / "settings.json").read_text()) == {"parallel_workers": 0}
    for name in ("linear", "canary"):
        settings = json.loads((dest / name / "model-settings.json").read_text())
        assert settings["implementation"] == "mlserver_sklearn.SKLearnModel"
        assert settings["parameters"]["version"] == artifacts.latest_version(name, root)
        estimator = joblib.load(dest / name / "model.joblib")
        assert {m.split(".")[0] for m in pickled_modules(estimator)} <= PLAIN
        mapping = json.loads((dest / name / "rendezvous-oip.json").read_text())
        assert len(mapping["features"]) == 30


def test_the_exported_linear_model_predicts_exactly_as_the_trained_artifact(
    exported: tuple[Path, Path],
) -> None:
    root, dest = exported
    trained, _ = artifacts.load("linear", root=root)
    plain = joblib.load(dest / "linear" / "model.joblib")
    x = split(42).x_test
    assert any(m.startswith("models") for m in pickled_modules(trained))
    assert np.array_equal(trained.predict_proba(x), plain.predict_proba(x))


def _project_function(x: np.ndarray) -> np.ndarray:
    return x * 2


def test_an_estimator_that_would_pickle_other_code_is_refused_by_name() -> None:
    with pytest.raises(NotPlainError, match=r"tests\.unit\.test_export_mlserver"):
        plain_estimator(FunctionTransformer(_project_function))
