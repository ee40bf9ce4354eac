"""Integration tests: a real Apache Kafka started by the project's own dev-broker code.

Set RENDEZVOUS_TEST_BOOTSTRAP to use a broker that is already running instead. A broker that
cannot start is a failure, never a skip.
"""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.harness import System

REPO = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="session")
def kafka_bootstrap() -> Iterator[str]:
    """Bootstrap address of a throwaway broker for this test session."""
    given = os.environ.get("RENDEZVOUS_TEST_BOOTSTRAP")
    if given:
        yield given
        return
    from streamapp import devkafka
    from streamapp.settings import Settings

    root = Path(tempfile.mkdtemp(prefix="rendezvous-test-kafka-"))
    settings = Settings(
        kafka_dir=root,
        kafka_libs_dir=REPO / ".cache" / "kafka" / "libs",
        kafka_port=_free_port(),
        kafka_controller_port=_free_port(),
    )
    try:
        seconds = devkafka.start(settings, timeout_s=120)
    except devkafka.BrokerError as error:
        pytest.fail(f"the test broker did not start: {error}", pytrace=False)
    print(f"\ntest broker on 127.0.0.1:{settings.kafka_port} ready in {seconds:.1f}s")
    yield f"127.0.0.1:{settings.kafka_port}"
    devkafka.stop(settings)
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture()
def system(
    kafka_bootstrap: str, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[System]:
    """A fresh deployment (own topics, groups, data dir and web port) for one test."""
    deployment = System(kafka_bootstrap, tmp_path, request.node.name, web_port=_free_port())
    try:
        yield deployment
    finally:
        deployment.close()
