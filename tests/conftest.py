"""Suite-wide fixtures and rules: one real broker per session; under CI, a skip is a failure."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from streamapp.dev.ports import free_port

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def kafka_bootstrap() -> Iterator[str]:
    """Bootstrap address of a throwaway Apache Kafka for this session, started by the project's
    own dev-broker code (RENDEZVOUS_TEST_BOOTSTRAP: use a running one). Failing to start is a
    failure, never a skip."""
    given = os.environ.get("RENDEZVOUS_TEST_BOOTSTRAP")
    if given:
        yield given
        return
    from streamapp.dev import kafka as devkafka
    from streamapp.settings import Settings

    root = Path(tempfile.mkdtemp(prefix="rendezvous-test-kafka-"))
    settings = Settings(
        kafka_dir=root,
        kafka_libs_dir=REPO / ".cache" / "kafka" / "libs",
        kafka_port=free_port(),
        kafka_controller_port=free_port(),
    )
    try:
        seconds = devkafka.start(settings, timeout_s=120)
    except devkafka.BrokerError as error:
        pytest.fail(f"the test broker did not start: {error}", pytrace=False)
    print(f"\ntest broker on 127.0.0.1:{settings.kafka_port} ready in {seconds:.1f}s")
    yield f"127.0.0.1:{settings.kafka_port}"
    devkafka.stop(settings)
    shutil.rmtree(root, ignore_errors=True)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """With CI=true, turn any skip into a failing exit status."""
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = len(reporter.stats.get("skipped", [])) if reporter else 0
    if os.environ.get("CI", "").lower() == "true" and skipped:
        reporter.write_line(
            f"CI=true: {skipped} test(s) skipped; skips are failures in CI", red=True
        )
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
