"""Fault suite fixtures: a fresh deployment per case on the session's real broker, and the table
of every case's numbers at the end of the run."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from streamapp.dev.ports import free_port
from tests.faults.wire import COLUMNS, RESULTS, SCALE
from tests.integration.harness import System


@pytest.fixture()
def system(
    kafka_bootstrap: str, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[System]:
    """A fresh deployment (own topics, groups, data dir and web port) for one case."""
    deployment = System(kafka_bootstrap, tmp_path, request.node.name, web_port=free_port())
    try:
        yield deployment
    finally:
        deployment.close()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """The fault table: one row per case (sent / missing / conflicting / duplicates / late),
    then each case's full JSON line."""
    if not RESULTS:
        return
    terminalreporter.section(f"fault suite ({SCALE})")
    width = max(len(row["case"]) for row in RESULTS)
    header = f"{'case':<{width}}  " + "  ".join(f"{c:>11}" for c in COLUMNS)
    terminalreporter.write_line(header)
    terminalreporter.write_line("-" * len(header))
    for row in RESULTS:
        cells = "  ".join(f"{row.get(c, '-')!s:>11}" for c in COLUMNS)
        terminalreporter.write_line(f"{row['case']:<{width}}  {cells}")
    terminalreporter.write_line("")
    for row in RESULTS:
        terminalreporter.write_line(f"FAULTS_JSON {json.dumps(row, default=str)}")
