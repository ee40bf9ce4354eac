"""Export trained example models for MLServer: plain scikit-learn estimators, no project code.

``rendezvous train --export-mlserver DIR`` writes a model repository MLServer loads as it is::

    DIR/settings.json                    {"parallel_workers": 0}
    DIR/<name>/model-settings.json       mlserver_sklearn.SKLearnModel, version = the artifact's
    DIR/<name>/model.joblib              the estimator, pickling only scikit-learn and numpy
    DIR/<name>/rendezvous-oip.json       the mapping for `rendezvous model --oip`

The artifacts in the data folder pickle a project function (the ``linear`` pipeline selects
its columns with one), so MLServer could not load them without this project installed.
"""

from __future__ import annotations

import io
import json
import pickle
from pathlib import Path
from typing import Any

import joblib
import numpy as np
from sklearn.compose import ColumnTransformer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer

from models import artifacts
from models.dataset import FEATURES

#: Modules a plain estimator's pickle may name.
PLAIN_MODULES = ("sklearn", "numpy", "scipy", "builtins", "copyreg", "_codecs", "collections")
#: MLServer settings: its parallel inference pool crashes at start with today's uvloop
#: ("There is no current event loop"); inference in the main process avoids it.
SERVER_SETTINGS = {"parallel_workers": 0}


class NotPlainError(ValueError):
    """An estimator would pickle modules other than scikit-learn's and numpy's."""


class _Recorder(pickle.Unpickler):
    """Records the modules a pickle names (and loads nothing it did not already have)."""

    def __init__(self, blob: bytes) -> None:
        super().__init__(io.BytesIO(blob))
        self.modules: set[str] = set()

    def find_class(self, module: str, name: str) -> Any:
        """Note the module, then resolve as usual."""
        self.modules.add(module)
        return super().find_class(module, name)


def pickled_modules(estimator: Any) -> set[str]:
    """The modules the estimator's pickle names."""
    recorder = _Recorder(pickle.dumps(estimator))
    recorder.load()
    return recorder.modules


def plain_estimator(estimator: Any) -> Any:
    """The same predictions from scikit-learn classes only: a column-selecting
    ``FunctionTransformer`` with a project function becomes a ``ColumnTransformer``."""
    if isinstance(estimator, Pipeline):
        steps = []
        for step_name, step in estimator.steps:
            func = step.func if isinstance(step, FunctionTransformer) else None
            if func is not None and str(getattr(func, "__module__", "")).startswith("models."):
                selected = _selected_columns(step)
                step = ColumnTransformer([("columns", "passthrough", selected)], remainder="drop")
                step.fit(np.zeros((1, len(FEATURES))))
            steps.append((step_name, step))
        estimator = Pipeline(steps)
    foreign = sorted(m for m in pickled_modules(estimator) if not m.startswith(PLAIN_MODULES))
    if foreign:
        raise NotPlainError(f"the estimator pickles {foreign}; MLServer could not load it")
    return estimator


def _selected_columns(step: FunctionTransformer) -> list[int]:
    """Which input columns a column-selecting function keeps (found by probing it)."""
    probe = np.arange(len(FEATURES), dtype=float).reshape(1, -1)
    kept = np.asarray(step.func(probe))
    return [int(v) for v in kept.ravel()]


def oip_mapping() -> dict[str, Any]:
    """The ``rendezvous model --oip`` mapping for an exported example model."""
    return {
        "features": list(FEATURES),
        "outputs": [
            {"field": "label", "tensor": "predict", "labels": {"0": "benign", "1": "malignant"}},
            {"field": "score", "tensor": "predict_proba", "index": 1},
        ],
    }


def export_mlserver(names: list[str], dest: Path, root: Path | None = None) -> dict[str, str]:
    """Write the latest artifact of each model as an MLServer model; return name -> version."""
    dest.mkdir(parents=True, exist_ok=True)
    (dest / "settings.json").write_text(json.dumps(SERVER_SETTINGS, indent=2))
    exported = {}
    for name in names:
        estimator, meta = artifacts.load(name, root=root)
        folder = dest / name
        folder.mkdir(exist_ok=True)
        joblib.dump(plain_estimator(estimator), folder / "model.joblib")
        settings = {
            "name": name,
            "implementation": "mlserver_sklearn.SKLearnModel",
            "versions": [meta["version"]],
            "parameters": {"uri": "./model.joblib", "version": meta["version"]},
            "inputs": [{"name": "input-0", "datatype": "FP64", "shape": [-1, len(FEATURES)]}],
        }
        (folder / "model-settings.json").write_text(json.dumps(settings, indent=2))
        (folder / "rendezvous-oip.json").write_text(json.dumps(oip_mapping(), indent=2))
        exported[name] = meta["version"]
    return exported
