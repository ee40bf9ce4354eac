"""Helpers shared by the REST views: JSON errors, strict bodies, query integers and tokens."""

from __future__ import annotations

import hmac
import json
import re
from typing import Any, TypeVar

from faust.web import Request, Response, View
from pydantic import BaseModel, SecretStr, ValidationError

from streamapp.settings import Settings

BodyT = TypeVar("BodyT", bound=BaseModel)

#: A query integer: ASCII digits only (``str.isdigit`` also accepts "²" and "٣", which
#: ``int`` refuses), and at most 18 of them, so it is always a 64-bit integer.
QUERY_DIGITS = re.compile(r"[0-9]{1,18}")


class HTTPProblem(Exception):
    """An error answer: status code and a JSON body naming the problem."""

    def __init__(self, status: int, error: str, **details: Any) -> None:
        super().__init__(error)
        self.status = status
        self.body = {"error": error, **details}


def problem_response(view: View, problem: HTTPProblem) -> Response:
    """Render an HTTPProblem as JSON."""
    headers = {"WWW-Authenticate": "Bearer"} if problem.status == 401 else None
    response: Response = view.json(problem.body, status=problem.status, headers=headers)
    return response


def _bearer_token(request: Request) -> str:
    """The token of an ``Authorization: Bearer <token>`` header, or a 401."""
    header = request.headers.get("Authorization", "")
    if not header:
        raise HTTPProblem(401, "missing bearer token (Authorization: Bearer <token>)")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise HTTPProblem(401, "the Authorization header must be 'Bearer <token>'")
    return token


def _is_token(token: str, configured: SecretStr | None) -> bool:
    """Whether ``token`` is the configured one (never true when none is configured)."""
    secret = configured.get_secret_value() if configured else ""
    return bool(secret) and hmac.compare_digest(token.encode(), secret.encode())


def require_admin(request: Request, settings: Settings) -> str:
    """Check the bearer token of a mutating request; return the actor name for the history."""
    token = _bearer_token(request)
    if not (settings.admin_token and settings.admin_token.get_secret_value()):
        raise HTTPProblem(403, "changes are disabled: RENDEZVOUS_ADMIN_TOKEN is not set")
    if not _is_token(token, settings.admin_token):
        raise HTTPProblem(403, "wrong admin token")
    actor = request.headers.get("X-Actor", "admin").strip()[:64]
    return f"rest:{actor or 'admin'}"


def require_reader(request: Request, settings: Settings) -> None:
    """With ``RENDEZVOUS_READ_TOKEN`` set, a read that shows payloads needs the read token or
    the admin token as a bearer token (401 without one, 403 for another); unset: open."""
    if not (settings.read_token and settings.read_token.get_secret_value()):
        return
    token = _bearer_token(request)
    if not (_is_token(token, settings.read_token) or _is_token(token, settings.admin_token)):
        raise HTTPProblem(403, "wrong read token")


def require_json_content(request: Request) -> None:
    """A 415 unless the body is declared ``Content-Type: application/json``."""
    declared = request.headers.get("Content-Type", "")
    content_type = declared.split(";", 1)[0].strip().lower()  # the media type, no charset
    if content_type != "application/json":
        raise HTTPProblem(
            415,
            f"the body must be sent as Content-Type: application/json, not {declared or 'none'!r}",
            field="Content-Type",
        )


def query_int(request: Request, name: str, *, default: int, minimum: int, maximum: int) -> int:
    """An integer query parameter (absent or empty: ``default``); a 422 names it when it is
    not plain ASCII digits or falls outside ``minimum``..``maximum``."""
    raw = request.query.get(name)
    if raw is None or raw == "":
        return default
    if QUERY_DIGITS.fullmatch(raw) is None or not minimum <= int(raw) <= maximum:
        raise HTTPProblem(422, f"{name} must be an integer from {minimum} to {maximum}", field=name)
    return int(raw)


async def json_body(request: Request) -> Any:
    """The request body as JSON, or a 400 naming the problem."""
    raw = await request.read()
    if not raw:
        raise HTTPProblem(400, "the body is empty; send a JSON object")
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, ValueError) as error:
        raise HTTPProblem(400, f"the body is not JSON: {error}") from None


def validated(model: type[BodyT], data: Any) -> BodyT:
    """Validate a JSON value strictly; a 422 names the first offending field."""
    if not isinstance(data, dict):
        raise HTTPProblem(422, "the body must be a JSON object")
    try:
        return model.model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "body"
        raise HTTPProblem(422, f"{field}: {first['msg']}", field=field) from None
