"""The console's HTTP client: replies, outages and error statuses, against httpx.MockTransport."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
import pytest

from console.api import Reply, WorkerAPI

Handler = Callable[[httpx.Request], httpx.Response]


def client(handler: Handler) -> WorkerAPI:
    """A WorkerAPI whose every request goes to ``handler``."""
    return WorkerAPI("http://worker.test", timeout_s=1.5, transport=httpx.MockTransport(handler))


def test_stats_sends_window_models_and_buckets_and_returns_the_body() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"now": 5, "totals": {"requests": 3}})

    reply = client(handler).stats(since=1000, until=2000, models=["forest", "rules"], buckets=True)

    assert reply == Reply(200, {"now": 5, "totals": {"requests": 3}})
    assert reply.ok and not reply.unreachable
    assert seen[0].url.path == "/v1/stats"
    assert dict(seen[0].url.params) == {
        "since": "1000",
        "until": "2000",
        "model": "forest,rules",
        "buckets": "1",
    }


def test_stats_without_arguments_sends_no_parameters() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={})

    assert client(handler).stats().ok
    assert seen[0].url.query == b""


def test_connection_refused_becomes_an_unreachable_reply_not_an_exception() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("[Errno 111] Connection refused", request=request)

    reply = client(handler).health()

    assert reply.status is None and reply.unreachable and not reply.ok
    assert reply.error is not None
    assert reply.error.startswith("worker unreachable: ")
    assert "Connection refused" in reply.error


def test_timeout_names_the_time_budget() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    reply = client(handler).models()

    assert reply.unreachable
    assert reply.error == "worker unreachable: no reply within 1.5s"


def test_a_reply_that_is_not_json_is_an_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, text="<html>proxy error</html>")

    reply = client(handler).history(limit=5)

    assert not reply.ok and reply.status == 200
    assert reply.error == "worker reply is not a JSON object (HTTP 200)"


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (401, {"error": "missing bearer token"}, "not authorized (401): missing bearer token"),
        (403, {"error": "wrong admin token"}, "forbidden (403): wrong admin token"),
        (404, {"error": "unknown model 'nope'"}, "not found (404): unknown model 'nope'"),
        (
            422,
            {"error": "the canary cannot be live", "field": "state"},
            "rejected (422): the canary cannot be live (field state)",
        ),
        (504, {"error": "not applied within 5s"}, "timed out (504): not applied within 5s"),
        (500, {"error": "internal error: boom"}, "worker error (HTTP 500): internal error: boom"),
    ],
)
def test_error_statuses_become_messages_from_the_json_error_field(
    status: int, body: dict[str, str], expected: str
) -> None:
    reply = client(lambda request: httpx.Response(status, json=body)).set_model(
        "nope", {"state": "live"}, token="t"
    )

    assert reply.status == status
    assert reply.error == expected
    assert reply.body == body
    assert not reply.unreachable


def test_a_5xx_without_json_still_names_the_status() -> None:
    reply = client(lambda request: httpx.Response(502, text="bad gateway")).health()

    assert reply.error == "worker error (HTTP 502): Bad Gateway"


def test_health_503_while_recovering_keeps_the_body() -> None:
    reply = client(lambda r: httpx.Response(503, json={"status": "recovering"})).health()

    assert reply.status == 503 and reply.body == {"status": "recovering"}
    assert reply.error == "worker error (HTTP 503): recovering"


def test_set_model_sends_the_token_only_as_a_bearer_header_with_a_json_body() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"version": 8, "model": {"name": "forest"}})

    reply = client(handler).set_model("forest", {"state": "off"}, token="s3cret")

    assert reply.ok and reply.body["version"] == 8
    request = seen[0]
    assert (request.method, request.url.path) == ("PUT", "/v1/models/forest")
    assert request.headers["Authorization"] == "Bearer s3cret"
    assert json.loads(request.content) == {"state": "off"}
    assert "s3cret" not in str(request.url)


def test_reads_send_no_authorization_header() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={})

    api = client(handler)
    api.health()
    api.stats()
    api.models()
    api.history()
    api.request_timeline("r-1")
    api.set_model("forest", {"priority": 3}, token=None)

    assert all("Authorization" not in request.headers for request in seen)
    assert seen[3].url.params["limit"] == "20"


def test_request_ids_are_quoted_into_one_path_segment() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(404, json={"error": "no mailbox for request 'a/b c'"})

    reply = client(handler).request_timeline("a/b c")

    assert seen[0].url.raw_path == b"/v1/requests/a%2Fb%20c"
    assert reply.status == 404
    assert reply.error == "not found (404): no mailbox for request 'a/b c'"
