"""A rule-based backstop: one threshold, always fast, always answers a well-formed payload."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from models.base import features


class RulesBackstop:
    """Calls a tumour malignant when its worst radius is large (a classic single-feature rule)."""

    version = "rules-1"
    threshold = 16.8
    #: A dictionary lookup and a comparison: the worker may run it itself, as the backstop, and
    #: a model process may call it on its event loop.
    in_process = True
    quick_calls = True

    def predict(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        """Label by the worst-radius threshold."""
        radius = features(payload, ("worst radius",))["worst radius"]
        malignant = radius > self.threshold
        return {"label": "malignant" if malignant else "benign", "score": 1.0 if malignant else 0.0}

    def predict_batch(self, payloads: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """One result per payload (cheap enough one by one, in one call)."""
        return [self.predict(payload) for payload in payloads]
