"""A hand-weighted logistic scorecard over a few features: simple, but better than one rule."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from models.base import features

WEIGHTS = {"worst radius": 0.9, "worst concave points": 25.0, "worst texture": 0.12}
BIAS = -22.0


class Scorecard:
    """Logistic score of a weighted sum; ``score`` is the probability of malignant."""

    version = "scorecard-1"
    #: Arithmetic on three features: the model process may call it on its event loop.
    quick_calls = True

    def predict(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        """Probability and label from the weighted features."""
        values = features(payload, tuple(WEIGHTS))
        z = BIAS + sum(WEIGHTS[name] * value for name, value in values.items())
        probability = 1.0 / (1.0 + math.exp(-z))
        return {"label": "malignant" if probability >= 0.5 else "benign", "score": probability}

    def predict_batch(self, payloads: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """One result per payload (cheap enough one by one, in one call)."""
        return [self.predict(payload) for payload in payloads]
