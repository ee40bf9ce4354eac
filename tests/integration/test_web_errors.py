"""The REST API on a real worker: JSON errors, strict query integers, the canary refused at once,
JSON-only scoring, the read token, and peers reached at their advertised URL with the token."""

from __future__ import annotations

import socket
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from aiohttp import web

from streamapp.dev.ports import free_port
from tests.helpers import eventually
from tests.integration.harness import ADMIN_TOKEN, Client, System, send_and_await_answers

pytestmark = pytest.mark.integration

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
READ_TOKEN = "integration-read-token"
READER = {"Authorization": f"Bearer {READ_TOKEN}"}
BODY_LIMIT = 4096


async def call(
    method: str, url: str, *, headers: dict[str, str] | None = None, **kw: Any
) -> httpx.Response:
    """One HTTP call to a worker."""
    async with httpx.AsyncClient(timeout=15.0) as http:
        return await http.request(method, url, headers=headers, **kw)


def assert_json_error(response: httpx.Response, status: int) -> dict[str, Any]:
    """The response has ``status`` and a JSON body with an ``error`` text; return the body."""
    assert response.status_code == status, (status, response.status_code, response.text)
    assert response.headers["content-type"].startswith("application/json"), response.headers
    body: dict[str, Any] = response.json()
    assert isinstance(body.get("error"), str) and body["error"], body
    return body


async def test_every_http_error_is_json_with_its_status_and_bad_query_integers_are_422(
    system: System,
) -> None:
    system.start_worker(max_body_bytes=str(BODY_LIMIT))

    unknown = assert_json_error(await call("GET", system.url("/v1/nowhere")), 404)
    assert "/v1/nowhere" in unknown["error"]
    for method, path, allowed in [
        ("PATCH", "/v1/models", {"GET", "HEAD"}),
        ("DELETE", "/v1/policy", {"GET", "HEAD", "PUT"}),
        ("GET", "/v1/score", {"HEAD", "POST"}),
    ]:
        response = await call(method, system.url(path))
        wrong = assert_json_error(response, 405)
        assert method in wrong["error"] and path in wrong["error"]
        assert set(response.headers["Allow"].split(",")) == allowed

    too_big = {"payload": {"features": {"note": "x" * (2 * BODY_LIMIT)}}}
    declared = await call("POST", system.url("/v1/score"), json=too_big)
    assert str(BODY_LIMIT) in assert_json_error(declared, 413)["error"]

    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"steps": [], "random_split": false, "pad": "'
        for _ in range(4):
            yield b"x" * BODY_LIMIT
        yield b'"}'

    chunked = await call(
        "PUT",
        system.url("/v1/policy"),
        headers={**ADMIN, "Content-Type": "application/json"},
        content=chunks(),
    )
    assert chunked.request.headers.get("Transfer-Encoding") == "chunked"
    assert_json_error(chunked, 413)

    for query, field in [
        ("since=%C2%B2", "since"),  # "²".isdigit() is True, int("²") raises
        ("since=--5", "since"),
        ("since=-5", "since"),
        ("since=1e3", "since"),
        ("until=%D9%A3", "until"),  # an Arabic-Indic three
        ("until=123456789012345678901234567890", "until"),
        ("since=5&until=4", "since"),
    ]:
        body = assert_json_error(await call("GET", system.url(f"/v1/stats?{query}")), 422)
        assert body["field"] == field, (query, body)
    for limit in ["%C2%B2", "--5", "-1", "0", "1001", "1.5", "ten"]:
        response = await call("GET", system.url(f"/v1/control/history?limit={limit}"))
        assert assert_json_error(response, 422)["field"] == "limit", limit
    history = await call("GET", system.url("/v1/control/history?limit=1"))
    assert history.status_code == 200 and "changes" in history.json()
    assert (await call("GET", system.url("/v1/stats?since=0&until=1"))).status_code == 200
    assert (await call("GET", system.url("/health"))).status_code == 200


async def test_setting_the_canary_live_is_refused_at_once_and_nothing_is_sent(
    system: System,
) -> None:
    system.start_worker()
    url = system.url("/v1/models/scorecard")
    labelled = await call(
        "PUT", url, headers=ADMIN, json={"state": "shadow", "labels": {"role": "canary"}}
    )
    assert labelled.status_code == 200, labelled.text

    started = time.monotonic()
    refused = await call("PUT", url, headers=ADMIN, json={"state": "live"})
    took_s = time.monotonic() - started
    body = assert_json_error(refused, 422)
    assert body["field"] == "state" and "canary" in body["error"], body
    assert took_s < 1.0, f"answered in {took_s:.2f}s: it waited for the control agent"
    shown = (await call("GET", url)).json()
    assert (shown["model"]["state"], shown["version"]) == ("shadow", labelled.json()["version"])

    async with Client(system.bootstrap) as client:
        records = await client.read(
            [system.topic("control")], until=lambda r: False, idle_s=1.0, timeout_s=3.0
        )
    changes = [(v["command"], v["value"]) for _, v, _ in records if v["command"] != "announce"]
    assert changes == [("set_model", {"state": "shadow", "labels": {"role": "canary"}})]


async def test_the_score_endpoint_takes_only_json_bodies(system: System) -> None:
    system.start_worker()
    url = system.url("/v1/score")
    body = b'{"payload": [1, 2]}'
    for content_type in [None, "text/plain", "application/x-www-form-urlencoded"]:
        headers = {"Content-Type": content_type} if content_type else {}
        refused = assert_json_error(await call("POST", url, headers=headers, content=body), 415)
        assert refused["field"] == "Content-Type" and "application/json" in refused["error"]
    declared = {"Content-Type": "application/json; charset=utf-8"}
    checked = assert_json_error(await call("POST", url, headers=declared, content=body), 422)
    assert checked["field"] == "payload", "a JSON body goes on to be validated"


async def answered_ids(system: System, prefix: str, count: int) -> list[str]:
    """Send ``count`` requests that the in-process backstop answers; return their ids once
    every one is answered."""
    ids = [f"{prefix}-{n:03d}" for n in range(count)]
    await send_and_await_answers(system, ids, deadline_ms=50)
    return ids


async def test_with_a_read_token_the_inspector_needs_it_and_other_reads_stay_open(
    system: System,
) -> None:
    system.start_worker(read_token=READ_TOKEN)
    [request_id] = await answered_ids(system, "guarded", 1)
    url = system.url(f"/v1/requests/{request_id}")

    missing = await call("GET", url)
    assert "bearer" in assert_json_error(missing, 401)["error"].lower()
    assert missing.headers["WWW-Authenticate"] == "Bearer"
    for token in ["nope", ADMIN_TOKEN + "x", READ_TOKEN[:-1]]:
        wrong = await call("GET", url, headers={"Authorization": f"Bearer {token}"})
        assert assert_json_error(wrong, 403)["error"] == "wrong read token"
    unknown = await call("GET", system.url("/v1/requests/never-sent"))
    assert_json_error(unknown, 401)  # whether a request exists is not told without the token

    for headers in (READER, ADMIN):
        shown = await call("GET", url, headers=headers)
        assert shown.status_code == 200, shown.text
        assert shown.json()["request"]["request_id"] == request_id
    for path in ("/v1/models", "/v1/policy", "/v1/stats", "/health"):
        assert (await call("GET", system.url(path))).status_code == 200, path


@asynccontextmanager
async def recording_proxy(target: str) -> AsyncIterator[tuple[str, list[tuple[str, str]]]]:
    """An HTTP proxy on a free port that forwards to ``target`` and records (path and query,
    Authorization) of every request; yields its URL and the records."""
    seen: list[tuple[str, str]] = []

    async def forward(request: web.Request) -> web.Response:
        seen.append((request.path_qs, request.headers.get("Authorization", "")))
        headers = {k: v for k, v in request.headers.items() if k.lower() != "host"}
        async with httpx.AsyncClient(timeout=5.0) as http:
            reply = await http.request(
                request.method, f"{target}{request.path_qs}", headers=headers
            )
        return web.Response(
            status=reply.status_code, body=reply.content, content_type="application/json"
        )

    application = web.Application()
    application.router.add_route("*", "/{tail:.*}", forward)
    runner = web.AppRunner(application)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield f"http://127.0.0.1:{port}", seen
    finally:
        await runner.cleanup()


async def test_peers_are_asked_at_their_advertised_url_with_the_callers_token(
    system: System,
) -> None:
    port2 = free_port()
    async with recording_proxy(f"http://127.0.0.1:{port2}") as (advertised, seen):
        system.start_worker(read_token=READ_TOKEN)
        system.start_worker(
            "worker2",
            web_port=str(port2),
            data_dir=str(system.tmp_path / "data2"),
            read_token=READ_TOKEN,
            advertised_url=advertised,
        )
        own = f"http://127.0.0.1:{system.web_port}"
        mailbox_topic = f"{system.prefix}-closed-mailboxes-changelog"

        async def both_hold_partitions() -> bool:
            routes = (await call("GET", system.url("/router/"))).json()
            held = {url.rstrip("/"): tables.get(mailbox_topic) for url, tables in routes.items()}
            return set(held) == {own, advertised} and all(held.values())

        await eventually(
            both_hold_partitions, timeout_s=60, what=f"worker 2 listed at {advertised}"
        )
        ids = await answered_ids(system, "advertised", 24)
        worker2 = f"{socket.gethostname()}-{port2}".lower()
        held_by_worker2 = []
        for request_id in ids:
            url = system.url(f"/v1/requests/{request_id}")
            shown = await call("GET", url, headers=READER)
            assert shown.status_code == 200, (request_id, shown.text)
            if shown.json()["worker"] == worker2:
                held_by_worker2.append(request_id)

    assert held_by_worker2, "no request landed on worker 2: nothing was forwarded"
    forwarded = {path.split("/")[-1].split("?")[0]: auth for path, auth in seen}
    assert set(held_by_worker2) <= set(forwarded), "worker 1 asked its peer at the advertised URL"
    assert {forwarded[i] for i in held_by_worker2} == {f"Bearer {READ_TOKEN}"}
