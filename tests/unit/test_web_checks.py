"""The REST views' checks: strict query integers, the read token, JSON bodies, the canary."""

from __future__ import annotations

import time
from collections.abc import Callable
from urllib.parse import quote

import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request
from pydantic import SecretStr

from streamapp.core.records import Control, ModelEntry, RegistryDoc
from streamapp.settings import Settings
from streamapp.web.problems import (
    HTTPProblem,
    query_int,
    require_admin,
    require_json_content,
    require_reader,
)

ADMIN, READER = "admin-secret", "read-secret"


def get(path: str, **headers: str) -> web.Request:
    """A GET as aiohttp hands it to a view."""
    return make_mocked_request("GET", path, headers=headers)


def problem_of(call: Callable[[], object]) -> HTTPProblem:
    """Run ``call`` and return the HTTPProblem it raises."""
    with pytest.raises(HTTPProblem) as raised:
        call()
    return raised.value


@pytest.mark.parametrize(
    "raw",
    ["²", "٣", "--5", "-5", "+5", "1e3", "1.0", " 5", "5 ", "0x10", "5_000", "9" * 19, "abc"],
)
def test_a_query_integer_that_is_not_plain_ascii_digits_is_a_422_naming_the_field(
    raw: str,
) -> None:
    request = get(f"/v1/stats?since={quote(raw, safe='')}")
    assert request.query["since"] == raw
    problem = problem_of(lambda: query_int(request, "since", default=1, minimum=0, maximum=10))
    assert problem.status == 422
    assert problem.body == {"error": "since must be an integer from 0 to 10", "field": "since"}


@pytest.mark.parametrize(("raw", "expected"), [("0", 0), ("007", 7), ("10", 10)])
def test_a_query_integer_within_bounds_is_read(raw: str, expected: int) -> None:
    request = get(f"/x?limit={raw}")
    assert query_int(request, "limit", default=3, minimum=0, maximum=10) == expected


@pytest.mark.parametrize("raw", ["11", "1000000"])
def test_a_query_integer_out_of_bounds_is_a_422(raw: str) -> None:
    request = get(f"/x?limit={raw}")
    problem = problem_of(lambda: query_int(request, "limit", default=3, minimum=0, maximum=10))
    assert (problem.status, problem.body["field"]) == (422, "limit")


@pytest.mark.parametrize("path", ["/x", "/x?limit=", "/x?other=5"])
def test_an_absent_or_empty_query_integer_takes_its_default(path: str) -> None:
    assert query_int(get(path), "limit", default=3, minimum=0, maximum=10) == 3


def settings(*, read: str | None = READER, admin: str | None = ADMIN) -> Settings:
    return Settings(
        read_token=SecretStr(read) if read is not None else None,
        admin_token=SecretStr(admin) if admin is not None else None,
    )


def test_without_a_read_token_the_inspector_is_open() -> None:
    require_reader(get("/v1/requests/r"), settings(read=None))
    require_reader(get("/v1/requests/r"), settings(read=""))


@pytest.mark.parametrize("token", [READER, ADMIN])
def test_with_a_read_token_the_read_or_the_admin_token_passes(token: str) -> None:
    request = get("/v1/requests/r", Authorization=f"Bearer {token}")
    require_reader(request, settings())


@pytest.mark.parametrize(
    ("headers", "status", "error"),
    [
        ({}, 401, "missing bearer token (Authorization: Bearer <token>)"),
        (
            {"Authorization": f"Basic {READER}"},
            401,
            "the Authorization header must be 'Bearer <token>'",
        ),
        ({"Authorization": "Bearer"}, 401, "the Authorization header must be 'Bearer <token>'"),
        ({"Authorization": "Bearer nope"}, 403, "wrong read token"),
        ({"Authorization": f"Bearer {READER}x"}, 403, "wrong read token"),
    ],
)
def test_with_a_read_token_a_missing_or_wrong_one_is_refused(
    headers: dict[str, str], status: int, error: str
) -> None:
    request = get("/v1/requests/r", **headers)
    problem = problem_of(lambda: require_reader(request, settings()))
    assert (problem.status, problem.body) == (status, {"error": error})


def test_no_admin_token_configured_does_not_make_any_token_a_reader() -> None:
    request = get("/v1/requests/r", Authorization="Bearer anything")
    problem = problem_of(lambda: require_reader(request, settings(admin=None)))
    assert problem.status == 403


def test_the_read_token_does_not_authorise_changes() -> None:
    request = make_mocked_request(
        "PUT", "/v1/policy", headers={"Authorization": f"Bearer {READER}"}
    )
    problem = problem_of(lambda: require_admin(request, settings()))
    assert (problem.status, problem.body["error"]) == (403, "wrong admin token")
    admin = make_mocked_request("PUT", "/v1/policy", headers={"Authorization": f"Bearer {ADMIN}"})
    assert require_admin(admin, settings()) == "rest:admin"


@pytest.mark.parametrize(
    "content_type", ["application/json", "application/json; charset=utf-8", "Application/JSON"]
)
def test_a_json_body_passes_the_content_type_check(content_type: str) -> None:
    request = make_mocked_request("POST", "/v1/score", headers={"Content-Type": content_type})
    require_json_content(request)


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Content-Type": "text/plain"},
        {"Content-Type": "application/x-www-form-urlencoded"},
        {"Content-Type": "application/jsonx"},
    ],
)
def test_any_other_body_is_a_415_naming_what_was_sent(headers: dict[str, str]) -> None:
    request = make_mocked_request("POST", "/v1/score", headers=headers)
    problem = problem_of(lambda: require_json_content(request))
    assert (problem.status, problem.body["field"]) == (415, "Content-Type")
    assert "application/json" in problem.body["error"]
    assert repr(headers.get("Content-Type", "none")) in problem.body["error"]


def registry_with_canary() -> RegistryDoc:
    return RegistryDoc(
        version=3,
        models=[
            ModelEntry(name="scorecard", state="live", priority=10),
            ModelEntry(name="canary", state="shadow", labels={"role": "canary"}),
        ],
    )


def test_setting_the_canary_live_is_refused_before_anything_is_sent() -> None:
    from streamapp.web.registry_views import refuse_if_not_applicable

    command = Control(command="set_model", model="canary", value={"state": "live"})
    started = time.monotonic()
    problem = problem_of(lambda: refuse_if_not_applicable(registry_with_canary(), command))
    assert time.monotonic() - started < 0.1
    assert (problem.status, problem.body["field"]) == (422, "state")
    assert "canary" in problem.body["error"] and "shadow or off" in problem.body["error"]


def test_labelling_a_live_model_canary_is_refused_naming_labels() -> None:
    from streamapp.web.registry_views import refuse_if_not_applicable

    command = Control(command="set_model", model="scorecard", value={"labels": {"role": "canary"}})
    problem = problem_of(lambda: refuse_if_not_applicable(registry_with_canary(), command))
    assert (problem.status, problem.body["field"]) == (422, "labels")


@pytest.mark.parametrize(
    ("model", "value"),
    [("canary", {"state": "off"}), ("canary", {"priority": 3}), ("scorecard", {"state": "live"})],
)
def test_changes_the_registry_accepts_pass_the_check(model: str, value: dict[str, object]) -> None:
    from streamapp.web.registry_views import refuse_if_not_applicable

    command = Control(command="set_model", model=model, value=value)
    refuse_if_not_applicable(registry_with_canary(), command)


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("since=%C2%B2", "since"),
        ("until=--5", "until"),
        ("since=-5", "since"),
        ("until=99999999999999", "until"),
        ("since=5&until=4", "since"),
    ],
)
def test_a_bad_stats_window_is_a_422_naming_the_field(query: str, field: str) -> None:
    from streamapp.web.stats_views import window

    problem = problem_of(lambda: window(get(f"/v1/stats?{query}"), 10_000_000))
    assert (problem.status, problem.body["field"]) == (422, field)


def test_the_stats_window_defaults_to_the_hour_before_until() -> None:
    from streamapp.web.stats_views import window

    assert window(get("/v1/stats"), 10_000_000) == (10_000_000 - 3_600_000, 10_000_000)
    assert window(get("/v1/stats?until=5000"), 10_000_000) == (0, 5000)
    assert window(get("/v1/stats?since=1&until=2"), 10_000_000) == (1, 2)
