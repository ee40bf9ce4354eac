"""The console sends its read token on every read, and only the admin token on changes."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

import console.api
from console.api import WorkerAPI, worker_api
from console.settings import ConsoleSettings, get_console_settings


@pytest.fixture()
def seen() -> list[httpx.Request]:
    return []


def api(seen: list[httpx.Request], read_token: str | None) -> WorkerAPI:
    """A WorkerAPI that records every request it sends."""

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"version": 1})

    transport = httpx.MockTransport(handler)
    return WorkerAPI("http://worker.test", transport=transport, read_token=read_token)


def test_every_read_carries_the_read_token(seen: list[httpx.Request]) -> None:
    client = api(seen, "reader-1")
    client.health()
    client.stats()
    client.models()
    client.history()
    client.request_timeline("r-42")
    assert [r.url.path for r in seen] == [
        "/health",
        "/v1/stats",
        "/v1/models",
        "/v1/control/history",
        "/v1/requests/r-42",
    ]
    assert {r.headers.get("Authorization") for r in seen} == {"Bearer reader-1"}


def test_a_change_carries_the_admin_token_not_the_read_token(seen: list[httpx.Request]) -> None:
    client = api(seen, "reader-1")
    client.set_model("scorecard", {"state": "shadow"}, token="admin-1")
    client.set_model("scorecard", {"state": "shadow"}, token=None)
    assert [r.headers.get("Authorization") for r in seen] == ["Bearer admin-1", None]


def test_without_a_read_token_reads_carry_no_authorization(seen: list[httpx.Request]) -> None:
    api(seen, None).request_timeline("r-42")
    assert "Authorization" not in seen[0].headers


@pytest.fixture()
def fresh_console_settings() -> Iterator[None]:
    get_console_settings.cache_clear()
    worker_api.cache_clear()
    yield
    get_console_settings.cache_clear()
    worker_api.cache_clear()


@pytest.mark.usefixtures("fresh_console_settings")
@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, None),
        ({"RENDEZVOUS_READ_TOKEN": "shared"}, "shared"),
        ({"RENDEZVOUS_CONSOLE_READ_TOKEN": "own"}, "own"),
        ({"RENDEZVOUS_CONSOLE_READ_TOKEN": "own", "RENDEZVOUS_READ_TOKEN": "shared"}, "own"),
    ],
)
def test_the_console_reads_its_token_from_its_own_variable_or_the_workers(
    env: dict[str, str], expected: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    token = ConsoleSettings().read_token
    assert (token.get_secret_value() if token else None) == expected
    built: list[dict[str, object]] = []
    monkeypatch.setattr(console.api, "WorkerAPI", lambda url, **options: built.append(options))
    worker_api()
    assert built[0]["read_token"] == expected
