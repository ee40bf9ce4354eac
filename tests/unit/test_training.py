"""Training is reproducible, artifacts are versioned, and trained models predict sensibly."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from models import artifacts
from models.base import ModelInputError
from models.dataset import FEATURES, payload_from_row, row_from_payload, split
from models.trained import CanaryModel, ForestModel, LinearModel, MlpModel
from models.training import BUILDERS, CANARY, rules_accuracy, train


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("models")
    for name in BUILDERS:
        train(name, 42, root)
    return root


def test_same_seed_gives_the_same_version_and_the_same_predictions(
    trained: Path, tmp_path: Path
) -> None:
    data = split(42)
    for name in ("linear", "forest", "mlp"):
        again = train(name, 42, tmp_path)
        assert again.version == artifacts.latest_version(name, trained)
        first, _ = artifacts.load(name, root=trained)
        second, _ = artifacts.load(name, root=tmp_path)
        assert np.array_equal(first.predict_proba(data.x_test), second.predict_proba(data.x_test))


def test_another_seed_gives_another_version(trained: Path, tmp_path: Path) -> None:
    assert train("forest", 7, tmp_path).version != artifacts.latest_version("forest", trained)


def test_accuracy_is_recorded_with_the_artifact_and_models_differ_clearly(trained: Path) -> None:
    scores = {}
    for name in BUILDERS:
        _, meta = artifacts.load(name, root=trained)
        assert meta["seed"] == 42 and meta["test_size"] == 143 and len(meta["sha256"]) == 64
        scores[name] = meta["accuracy"]
    scores["rules"] = rules_accuracy(split(42))
    assert scores["rules"] < scores["linear"] < scores["forest"] <= scores["mlp"]
    assert all(0.85 < value <= 1.0 for value in scores.values())


def test_the_canary_is_frozen_once_trained(trained: Path) -> None:
    before = artifacts.latest_version(CANARY, trained)
    again = train(CANARY, 99, trained)
    assert again.frozen and again.version == before
    assert artifacts.latest_version(CANARY, trained) == before


def test_retraining_the_canary_needs_the_explicit_flag(tmp_path: Path) -> None:
    first = train(CANARY, 42, tmp_path)
    replaced = train(CANARY, 7, tmp_path, retrain_canary=True)
    assert not replaced.frozen and replaced.version != first.version


def test_trained_models_predict_fixed_inputs(
    trained: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RENDEZVOUS_DATA_DIR", str(trained.parent / trained.name / ".."))
    monkeypatch.setattr(artifacts, "models_root", lambda: trained)
    data = split(42)
    malignant = payload_from_row(data.x_test[data.y_test == 1][0])
    benign = payload_from_row(data.x_test[data.y_test == 0][0])
    for model_class in (LinearModel, ForestModel, MlpModel, CanaryModel):
        model = model_class()
        assert model.version == artifacts.latest_version(model_class.artifact, trained)
        assert model.predict(malignant)["label"] == "malignant"
        assert model.predict(benign)["label"] == "benign"
        assert 0.0 <= model.predict(benign)["score"] <= 1.0
    assert CanaryModel.role == "canary"


def test_payload_round_trip_and_clear_errors() -> None:
    row = split(42).x_test[0]
    assert np.allclose(row_from_payload(payload_from_row(row))[0], row, atol=1e-5)
    payload = payload_from_row(row)
    del payload["features"]["worst area"]
    with pytest.raises(ModelInputError, match="worst area"):
        row_from_payload(payload)
    payload = payload_from_row(row)
    payload["features"]["mean radius"] = "12"
    with pytest.raises(ModelInputError, match="mean radius"):
        row_from_payload(payload)
    assert len(FEATURES) == 30


def test_missing_artifact_says_how_to_make_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(artifacts, "models_root", lambda: tmp_path)
    with pytest.raises(artifacts.ArtifactMissing, match="rendezvous train"):
        ForestModel()


def test_example_request_matches_the_payload_schema() -> None:
    example = json.loads(Path("examples/request.json").read_text())
    assert row_from_payload(example["payload"]).shape == (1, 30)
