"""Versioned model artifacts in the data folder: ``<data>/models/<name>/<version>/``.

The version is the model name and a hash of its training recipe, so an identical training
run gives an identical version; ``meta.json`` also records the sha256 of the artifact bytes.
``LATEST`` names the version a model process loads; it is loaded only if its bytes still have
that sha256 (unpickling runs code, so a replaced or corrupt file must never reach it).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from pathlib import Path
from typing import Any

import joblib


class ArtifactMissing(FileNotFoundError):
    """No trained artifact for that model; the message says how to make one."""


class ArtifactIntegrityError(ValueError):
    """An artifact's bytes do not have the sha256 its ``meta.json`` records (or it records none)."""


def models_root() -> Path:
    """``$RENDEZVOUS_DATA_DIR/models`` (default ``.data/models``)."""
    return Path(os.environ.get("RENDEZVOUS_DATA_DIR", ".data")) / "models"


def version_of(name: str, recipe: dict[str, Any]) -> str:
    """The version of a training recipe: the same recipe always gives the same version.

    Pickled bytes are not a stable identity (they vary with what the process loaded before),
    so the version names what was trained: model, seed, parameters, library, data.
    """
    canonical = json.dumps(recipe, sort_keys=True, default=str).encode()
    return f"{name}-{hashlib.sha256(canonical).hexdigest()[:12]}"


def save(
    name: str,
    estimator: Any,
    meta: dict[str, Any],
    root: Path | None = None,
    *,
    recipe: dict[str, Any],
) -> str:
    """Store an estimator with its metadata; return its version and make it the latest."""
    buffer = io.BytesIO()
    joblib.dump(estimator, buffer)
    blob = buffer.getvalue()
    digest = hashlib.sha256(blob).hexdigest()
    version = version_of(name, recipe)
    folder = (root or models_root()) / name / version
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "model.joblib").write_bytes(blob)
    record = {**meta, "name": name, "version": version, "sha256": digest, "recipe": recipe}
    (folder / "meta.json").write_text(json.dumps(record, indent=2, sort_keys=True))
    (folder.parent / "LATEST").write_text(version)
    return version


def latest_version(name: str, root: Path | None = None) -> str | None:
    """The version ``LATEST`` names, or None when the model was never trained."""
    pointer = (root or models_root()) / name / "LATEST"
    return pointer.read_text().strip() if pointer.exists() else None


def load(
    name: str, version: str | None = None, root: Path | None = None
) -> tuple[Any, dict[str, Any]]:
    """The estimator and metadata of a version (default: the latest)."""
    base = root or models_root()
    version = version or latest_version(name, base)
    folder = base / name / (version or "")
    if version is None or not (folder / "model.joblib").exists():
        raise ArtifactMissing(
            f"no trained artifact for model {name!r} in {base}; run `rendezvous train` "
            "(or set RENDEZVOUS_DATA_DIR to where it was trained)"
        )
    meta = json.loads((folder / "meta.json").read_text())
    blob = (folder / "model.joblib").read_bytes()
    verify(blob, meta, folder)
    return joblib.load(io.BytesIO(blob)), meta


def verify(blob: bytes, meta: dict[str, Any], folder: Path) -> None:
    """Raise ArtifactIntegrityError unless ``blob`` has the sha256 that ``meta`` records."""
    artifact, record = folder / "model.joblib", folder / "meta.json"
    expected = meta.get("sha256")
    if not isinstance(expected, str) or not expected:
        raise ArtifactIntegrityError(
            f"{record} records no sha256, so {artifact} cannot be verified; retrain it with "
            "`rendezvous train`"
        )
    actual = hashlib.sha256(blob).hexdigest()
    if actual != expected.lower():
        raise ArtifactIntegrityError(
            f"{artifact} has sha256 {actual}, but {record} records {expected}: the artifact "
            "is corrupt or was replaced; it was not loaded (retrain with `rendezvous train`)"
        )
