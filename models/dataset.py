"""The example data: scikit-learn's bundled breast-cancer set (no download), and the payload.

A request payload is ``{"features": {<feature name>: number, ...}}`` with the 30 feature names
below; the label is ``malignant`` (1) or ``benign`` (0).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
from sklearn.datasets import load_breast_cancer
from sklearn.model_selection import train_test_split

from models.base import ModelInputError

TEST_SIZE = 0.25


@lru_cache(maxsize=1)
def _raw() -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    data = load_breast_cancer()
    malignant = (data.target == 0).astype(int)  # scikit-learn codes malignant as 0
    return data.data, malignant, tuple(str(name) for name in data.feature_names)


FEATURES: tuple[str, ...] = _raw()[2]


@dataclass(frozen=True)
class Split:
    """A seeded, stratified train/test split."""

    x_train: np.ndarray
    x_test: np.ndarray
    y_train: np.ndarray
    y_test: np.ndarray


def split(seed: int) -> Split:
    """The same seed gives the same split."""
    x, y, _ = _raw()
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=TEST_SIZE, random_state=seed, stratify=y
    )
    return Split(x_train, x_test, y_train, y_test)


def payload_from_row(row: np.ndarray) -> dict[str, Any]:
    """A request payload for one row of features."""
    return {"features": {name: round(float(v), 6) for name, v in zip(FEATURES, row, strict=True)}}


def rows_from_payloads(payloads: Sequence[Mapping[str, Any]]) -> np.ndarray:
    """The feature matrix of several payloads (one row each), with clear errors."""
    return np.vstack([row_from_payload(payload) for payload in payloads])


def row_from_payload(payload: Mapping[str, Any]) -> np.ndarray:
    """The feature vector of a payload, in training order, with clear errors."""
    raw = payload.get("features")
    if not isinstance(raw, Mapping):
        raise ModelInputError("payload.features must be an object of numbers")
    missing = [name for name in FEATURES if name not in raw]
    if missing:
        raise ModelInputError(
            f"payload.features lacks {len(missing)} feature(s), e.g. {missing[0]!r}"
        )
    values = []
    for name in FEATURES:
        value = raw[name]
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ModelInputError(f"payload.features[{name!r}] must be a number")
        values.append(float(value))
    return np.asarray(values, dtype=float).reshape(1, -1)


def label(probability_malignant: float) -> str:
    """The class label for a probability of malignant."""
    return "malignant" if probability_malignant >= 0.5 else "benign"
