"""An artifact is loaded only if its bytes have the sha256 its meta.json records."""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

import joblib
import pytest
from click.testing import CliRunner

from models import artifacts
from streamapp.cli.main import main

RECIPE = {"seed": 1, "what": "a stand-in estimator"}


def stored(root: Path, name: str = "linear", estimator: object = None) -> Path:
    """Save an artifact under ``root``; return its folder."""
    version = artifacts.save(name, estimator or {"coef": [1.0, 2.0]}, {}, root, recipe=RECIPE)
    return root / name / version


def test_an_intact_artifact_loads(tmp_path: Path) -> None:
    stored(tmp_path)
    estimator, meta = artifacts.load("linear", root=tmp_path)
    assert estimator == {"coef": [1.0, 2.0]}
    assert (
        meta["sha256"]
        == hashlib.sha256(
            (tmp_path / "linear" / meta["version"] / "model.joblib").read_bytes()
        ).hexdigest()
    )


def test_a_corrupt_artifact_is_refused_naming_the_file_and_both_digests(tmp_path: Path) -> None:
    folder = stored(tmp_path)
    blob = bytearray((folder / "model.joblib").read_bytes())
    blob[-5] ^= 0xFF
    (folder / "model.joblib").write_bytes(bytes(blob))
    recorded = json.loads((folder / "meta.json").read_text())["sha256"]
    actual = hashlib.sha256(bytes(blob)).hexdigest()

    with pytest.raises(artifacts.ArtifactIntegrityError) as raised:
        artifacts.load("linear", root=tmp_path)

    message = str(raised.value)
    assert str(folder / "model.joblib") in message and str(folder / "meta.json") in message
    assert f"has sha256 {actual}" in message and f"records {recorded}" in message
    assert isinstance(raised.value, ValueError), "the CLI reports ValueErrors as load errors"


def test_a_replaced_artifact_is_refused_before_it_is_unpickled(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = stored(tmp_path)
    other = io.BytesIO()
    joblib.dump({"coef": [6.0, 6.0]}, other)
    (folder / "model.joblib").write_bytes(other.getvalue())
    unpickled: list[object] = []
    monkeypatch.setattr(artifacts.joblib, "load", lambda *args, **kw: unpickled.append(args))

    with pytest.raises(artifacts.ArtifactIntegrityError, match="corrupt or was replaced"):
        artifacts.load("linear", root=tmp_path)
    assert unpickled == [], "joblib.load must not run on unverified bytes"


def test_meta_without_a_digest_is_refused(tmp_path: Path) -> None:
    folder = stored(tmp_path)
    meta = json.loads((folder / "meta.json").read_text())
    del meta["sha256"]
    (folder / "meta.json").write_text(json.dumps(meta))
    with pytest.raises(artifacts.ArtifactIntegrityError, match="records no sha256"):
        artifacts.load("linear", root=tmp_path)


def test_rendezvous_model_fails_with_the_integrity_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = stored(tmp_path / "models")
    (folder / "model.joblib").write_bytes(b"not the trained bytes")
    monkeypatch.setenv("RENDEZVOUS_DATA_DIR", str(tmp_path))

    result = CliRunner().invoke(main, ["model", "linear"])

    assert result.exit_code == 1, result.output
    assert "error: " in result.output
    assert str(folder / "model.joblib") in result.output
    assert hashlib.sha256(b"not the trained bytes").hexdigest() in result.output
