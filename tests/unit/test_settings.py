"""Settings come from RENDEZVOUS_* variables, typed, and refuse values that cannot work."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from streamapp.settings import ModelSeed, Settings


def test_defaults_seed_a_preferred_model_and_a_backstop() -> None:
    settings = Settings()
    assert settings.models == {
        "scorecard": ModelSeed(state="live", priority=10),
        "rules": ModelSeed(state="live", priority=0, backstop=True),
    }


def test_model_table_is_read_as_json_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "RENDEZVOUS_MODELS",
        '{"fast": {"priority": 7}, "rules": {"state": "shadow", "backstop": true}}',
    )
    assert Settings().models == {
        "fast": ModelSeed(state="live", priority=7, backstop=False),
        "rules": ModelSeed(state="shadow", priority=0, backstop=True),
    }


def test_model_table_given_as_text_is_parsed_too() -> None:
    settings = Settings(models='{"solo": {"priority": 3}}')
    assert settings.models == {"solo": ModelSeed(priority=3)}


def test_unknown_key_in_a_model_seed_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RENDEZVOUS_MODELS", '{"fast": {"priorty": 7}}')
    with pytest.raises(ValidationError, match="priorty"):
        Settings()


def test_model_state_outside_live_shadow_off_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RENDEZVOUS_MODELS", '{"fast": {"state": "Live", "priority": 7}}')
    with pytest.raises(ValidationError):
        Settings()


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("RENDEZVOUS_MIN_DEADLINE_MS", "201"),
        ("RENDEZVOUS_MAX_DEADLINE_MS", "199"),
        ("RENDEZVOUS_DEFAULT_DEADLINE_MS", "60001"),
    ],
)
def test_inconsistent_deadline_bounds_are_refused(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError, match="min_deadline_ms <= default_deadline_ms"):
        Settings()


def test_equal_deadline_bounds_are_accepted(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("MIN", "DEFAULT", "MAX"):
        monkeypatch.setenv(f"RENDEZVOUS_{name}_DEADLINE_MS", "250")
    settings = Settings()
    assert (settings.min_deadline_ms, settings.max_deadline_ms) == (250, 250)


def test_heartbeat_must_be_below_the_session_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RENDEZVOUS_HEARTBEAT_INTERVAL_S", "6")
    with pytest.raises(ValidationError, match="heartbeat_interval_s must be below"):
        Settings()


def test_topics_are_named_by_prefix_and_role(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RENDEZVOUS_TOPIC_PREFIX", "shop")
    settings = Settings()
    assert settings.topic("requests") == "shop-requests"
    assert settings.topic("answers") == "shop-answers"


def test_settings_are_frozen() -> None:
    settings = Settings()
    with pytest.raises(ValidationError):
        settings.app_id = "other"  # type: ignore[misc]


def test_broker_data_dir_defaults_under_the_kafka_dir_unless_set() -> None:
    assert Settings(kafka_dir=Path("/k")).broker_data_dir == Path("/k/data")
    assert Settings(kafka_data_dir=Path("/d")).broker_data_dir == Path("/d")
