"""A setting the environment gives that cannot be used stops a command with a clear error."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from click.testing import CliRunner

from streamapp.cli.main import main
from streamapp.settings import get_settings


@pytest.fixture(autouse=True)
def fresh_settings() -> Iterator[None]:
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_a_bad_setting_names_the_variable_and_why_without_a_traceback(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("RENDEZVOUS_EVENT_LOOP", "trio")
    monkeypatch.setenv("RENDEZVOUS_PARTITIONS", "0")
    result = CliRunner().invoke(main, ["model", "scorecard"], prog_name="rendezvous")
    assert result.exit_code == 1
    assert "error: invalid settings:" in result.output
    assert "RENDEZVOUS_EVENT_LOOP: Input should be 'uvloop' or 'asyncio'" in result.output
    assert "RENDEZVOUS_PARTITIONS: Input should be greater than or equal to 1" in result.output
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_settings_that_disagree_say_why_and_never_show_a_secret(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("RENDEZVOUS_ADMIN_TOKEN", "s3cret-value")
    monkeypatch.setenv("RENDEZVOUS_HEARTBEAT_INTERVAL_S", "10")  # not below the session timeout
    result = CliRunner().invoke(main, ["model", "scorecard"], prog_name="rendezvous")
    assert result.exit_code == 1
    assert "heartbeat_interval_s must be below session_timeout_s" in result.output
    assert "s3cret-value" not in result.output
