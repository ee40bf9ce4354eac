"""Unit tests run against pure code; no test may see the caller's RENDEZVOUS_* environment."""

from __future__ import annotations

import os

import pytest


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Remove every RENDEZVOUS_* variable so Settings() shows only what a test sets."""
    for name in list(os.environ):
        if name.startswith("RENDEZVOUS_"):
            monkeypatch.delenv(name)
