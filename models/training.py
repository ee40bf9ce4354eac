"""Reproducible training of the example models (``rendezvous train``)."""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import sklearn
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from models import artifacts
from models.dataset import FEATURES, Split, split
from models.rules import RulesBackstop

#: The frozen reference model: trained once, never replaced by ``rendezvous train``.
CANARY = "canary"
MEAN_FEATURES = [i for i, name in enumerate(FEATURES) if name.startswith("mean ")]


def _mean_features_only(x: np.ndarray) -> np.ndarray:
    return x[:, MEAN_FEATURES]


def _linear(seed: int) -> Pipeline:
    """Logistic regression on the ten "mean" features only: simple, fast, a little weaker."""
    return make_pipeline(
        FunctionTransformer(_mean_features_only),
        StandardScaler(),
        LogisticRegression(max_iter=2000),
    )


def _forest(seed: int) -> RandomForestClassifier:
    """A 300-tree random forest on all features: strong, and the slowest to score."""
    return RandomForestClassifier(n_estimators=300, random_state=seed, n_jobs=1)


def _mlp(seed: int) -> Pipeline:
    """A small neural net (30-32-16-1) on standardised features."""
    return make_pipeline(
        StandardScaler(),
        MLPClassifier(hidden_layer_sizes=(32, 16), max_iter=3000, random_state=seed),
    )


def _canary(seed: int) -> Pipeline:
    """A plain, strongly regularised logistic regression on all features: the reference."""
    return make_pipeline(StandardScaler(), LogisticRegression(C=0.1, max_iter=2000))


BUILDERS: dict[str, Callable[[int], Any]] = {
    "linear": _linear,
    "forest": _forest,
    "mlp": _mlp,
    CANARY: _canary,
}


@dataclass(frozen=True)
class Trained:
    """What training one model produced."""

    name: str
    version: str
    accuracy: float
    seconds: float
    frozen: bool = False


def data_fingerprint(data: Split) -> str:
    """A short hash of the training and test data."""
    digest = hashlib.sha256()
    for array in (data.x_train, data.y_train, data.x_test, data.y_test):
        digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()[:16]


def accuracy(estimator: Any, data: Split) -> float:
    """Held-out accuracy."""
    return float(np.mean(estimator.predict(data.x_test) == data.y_test))


def rules_accuracy(data: Split) -> float:
    """Held-out accuracy of the rule-based backstop (it has no artifact)."""
    rule = RulesBackstop()
    radius = data.x_test[:, FEATURES.index("worst radius")]
    return float(np.mean((radius > rule.threshold).astype(int) == data.y_test))


def train(
    name: str, seed: int, root: Path | None = None, *, retrain_canary: bool = False
) -> Trained:
    """Train one model on the seeded split and store it; the canary is kept once it exists."""
    if name == CANARY and not retrain_canary:
        existing = artifacts.latest_version(CANARY, root)
        if existing is not None:
            _, meta = artifacts.load(CANARY, existing, root)
            return Trained(CANARY, existing, meta["accuracy"], 0.0, frozen=True)
    data = split(seed)
    started = time.perf_counter()
    estimator = BUILDERS[name](seed).fit(data.x_train, data.y_train)
    seconds = time.perf_counter() - started
    score = accuracy(estimator, data)
    meta = {
        "seed": seed,
        "accuracy": score,
        "test_size": len(data.y_test),
        "train_size": len(data.y_train),
        "sklearn": sklearn.__version__,
        "features": list(FEATURES),
        "trained_seconds": round(seconds, 3),
        "role": "canary" if name == CANARY else "model",
    }
    recipe = {
        "model": name,
        "seed": seed,
        "params": re.sub(r" at 0x[0-9a-f]+", "", repr(BUILDERS[name](seed).get_params())),
        "sklearn": sklearn.__version__,
        "data": data_fingerprint(data),
    }
    version = artifacts.save(name, estimator, meta, root, recipe=recipe)
    return Trained(name, version, score, seconds)
