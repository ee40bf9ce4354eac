"""Integration tests: a fresh deployment per test on the session's real broker."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from streamapp.dev.ports import free_port
from tests.integration.harness import System


@pytest.fixture()
def system(
    kafka_bootstrap: str, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[System]:
    """A fresh deployment (own topics, groups, data dir and web port) for one test."""
    deployment = System(kafka_bootstrap, tmp_path, request.node.name, web_port=free_port())
    try:
        yield deployment
    finally:
        deployment.close()
