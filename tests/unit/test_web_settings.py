"""The web and security settings: the advertised URL, the read token, the body limit."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from streamapp.settings import Settings


def test_by_default_nothing_is_advertised_or_guarded_and_bodies_stop_at_one_mebibyte() -> None:
    settings = Settings()
    assert settings.advertised_url is None
    assert settings.read_token is None
    assert settings.max_body_bytes == 1024 * 1024


@pytest.mark.parametrize(
    "url", ["http://worker-1:6066", "https://rendezvous.example.com", "http://10.0.0.7:6066/", ""]
)
def test_an_advertised_url_is_read_from_the_environment(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RENDEZVOUS_ADVERTISED_URL", url)
    assert Settings().advertised_url == url


@pytest.mark.parametrize(
    "url", ["worker-1:6066", "ftp://worker-1", "http://worker-1:6066/api", "http://a b", "http://"]
)
def test_an_advertised_url_peers_cannot_use_is_refused_at_start(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RENDEZVOUS_ADVERTISED_URL", url)
    with pytest.raises(ValidationError, match="advertised_url"):
        Settings()


def test_the_read_token_is_a_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RENDEZVOUS_READ_TOKEN", "s3cret")
    settings = Settings()
    assert settings.read_token is not None
    assert settings.read_token.get_secret_value() == "s3cret"
    assert "s3cret" not in repr(settings)


@pytest.mark.parametrize("value", ["100", "0", str(65 * 1024 * 1024)])
def test_a_body_limit_out_of_bounds_is_refused(value: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RENDEZVOUS_MAX_BODY_BYTES", value)
    with pytest.raises(ValidationError, match="max_body_bytes"):
        Settings()
