"""Every HTTP error is JSON: unknown paths, wrong methods, bodies over the limit, crashes."""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from streamapp.web.middleware import json_errors

LIMIT = 2048


async def echo(request: web.Request) -> web.Response:
    """Read the whole body, as the views do, and say how long it was."""
    return web.json_response({"read": len(await request.read())})


async def crash(request: web.Request) -> web.Response:
    raise RuntimeError("a bug in a view")


async def not_found_inside(request: web.Request) -> web.Response:
    return web.json_response({"error": "no mailbox for request 'x'"}, status=404)


@pytest.fixture()
async def client() -> AsyncIterator[TestClient[web.Request, web.Application]]:
    """A small aiohttp app, routed like Faust routes its views, behind the middleware."""
    application = web.Application(middlewares=[json_errors(max_body_bytes=LIMIT)])
    application.router.add_route("GET", "/v1/models", echo)
    application.router.add_route("PUT", "/v1/models", echo)
    application.router.add_route("POST", "/v1/score", echo)
    application.router.add_route("GET", "/crash", crash)
    application.router.add_route("GET", "/v1/requests/x", not_found_inside)
    async with TestClient(TestServer(application)) as test_client:
        yield test_client


async def test_an_unknown_path_is_a_json_404(
    client: TestClient[web.Request, web.Application],
) -> None:
    response = await client.get("/v1/nowhere")
    assert response.status == 404
    assert response.content_type == "application/json"
    assert await response.json() == {"error": "no endpoint /v1/nowhere (see GET /openapi.json)"}


async def test_a_wrong_method_is_a_json_405_that_says_what_is_allowed(
    client: TestClient[web.Request, web.Application],
) -> None:
    response = await client.delete("/v1/models")
    assert response.status == 405
    assert response.content_type == "application/json"
    body = await response.json()
    assert body == {"error": "method DELETE is not allowed on /v1/models; allowed: GET, PUT"}
    assert set(response.headers["Allow"].split(",")) == {"GET", "PUT"}


async def test_a_body_declared_over_the_limit_is_a_json_413_without_reading_it(
    client: TestClient[web.Request, web.Application],
) -> None:
    response = await client.post("/v1/score", data=b"x" * (LIMIT + 1))
    assert response.status == 413
    assert await response.json() == {"error": f"the body is over the limit of {LIMIT} bytes"}


async def test_a_chunked_body_over_the_limit_is_a_json_413_too(
    client: TestClient[web.Request, web.Application],
) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(4):
            yield b"x" * (LIMIT // 2)

    response = await client.put("/v1/models", data=chunks())
    assert response.request_info.headers.get("Transfer-Encoding") == "chunked"
    assert response.status == 413
    assert await response.json() == {"error": f"the body is over the limit of {LIMIT} bytes"}


async def test_a_body_at_the_limit_is_read(
    client: TestClient[web.Request, web.Application],
) -> None:
    response = await client.post("/v1/score", data=b"x" * LIMIT)
    assert (response.status, await response.json()) == (200, {"read": LIMIT})


async def test_an_exception_in_a_view_is_a_json_500_naming_its_type(
    client: TestClient[web.Request, web.Application], caplog: pytest.LogCaptureFixture
) -> None:
    response = await client.get("/crash")
    assert response.status == 500
    assert await response.json() == {"error": "internal error (RuntimeError); see the worker log"}
    assert "GET /crash failed" in caplog.text and "a bug in a view" in caplog.text


async def test_answers_of_the_views_pass_unchanged(
    client: TestClient[web.Request, web.Application],
) -> None:
    ok = await client.get("/v1/models")
    assert (ok.status, await ok.json()) == (200, {"read": 0})
    own = await client.get("/v1/requests/x")
    assert (own.status, await own.json()) == (404, {"error": "no mailbox for request 'x'"})


def test_the_worker_installs_it_on_fausts_web_application() -> None:
    from streamapp.app import WORKER_MODULES, app

    assert "streamapp.web.middleware" in WORKER_MODULES
    for module in WORKER_MODULES:
        importlib.import_module(module)
    names = [getattr(m, "__qualname__", "") for m in app.web.web_app.middlewares]
    assert names.count("json_errors.<locals>.middleware") == 1
