"""Model classes that load a trained artifact (``rendezvous train`` makes them)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from models import artifacts
from models.dataset import label, row_from_payload, rows_from_payloads


class TrainedModel:
    """Loads the latest artifact of ``artifact`` and predicts the probability of malignant."""

    artifact: ClassVar[str]
    role: ClassVar[str] = "model"
    #: Arithmetic on arrays, no I/O: the model process may call it on its event loop while its
    #: calls stay quick (a large forest's do not, and stay in a thread).
    quick_calls: ClassVar[bool] = True

    def __init__(self) -> None:
        self.estimator, self.meta = artifacts.load(self.artifact)
        self.version: str = self.meta["version"]

    def predict(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        """``{"label": "malignant"|"benign", "score": P(malignant)}``."""
        probability = float(self.estimator.predict_proba(row_from_payload(payload))[0][1])
        return {"label": label(probability), "score": probability}

    def predict_batch(self, payloads: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """The same for several payloads in one vectorised call."""
        probabilities = self.estimator.predict_proba(rows_from_payloads(payloads))[:, 1]
        return [{"label": label(float(p)), "score": float(p)} for p in probabilities]


class LinearModel(TrainedModel):
    """Logistic regression on the ten mean features."""

    artifact = "linear"


class ForestModel(TrainedModel):
    """A 300-tree random forest."""

    artifact = "forest"


class MlpModel(TrainedModel):
    """A small neural net."""

    artifact = "mlp"


class CanaryModel(TrainedModel):
    """The frozen reference: never retrained, deployable only as shadow."""

    artifact = "canary"
    role = "canary"
