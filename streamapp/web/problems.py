"""Helpers shared by the REST views: JSON errors, strict bodies and the admin token."""

from __future__ import annotations

import hmac
import json
from typing import Any, TypeVar

from faust.web import Request, Response, View
from pydantic import BaseModel, ValidationError

from streamapp.settings import Settings

BodyT = TypeVar("BodyT", bound=BaseModel)


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


def require_admin(request: Request, settings: Settings) -> str:
    """Check the bearer token of a mutating request; return the actor name for the history."""
    configured = settings.admin_token.get_secret_value() if settings.admin_token else ""
    header = request.headers.get("Authorization", "")
    if not header:
        raise HTTPProblem(401, "missing bearer token (Authorization: Bearer <token>)")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise HTTPProblem(401, "the Authorization header must be 'Bearer <token>'")
    if not configured:
        raise HTTPProblem(403, "changes are disabled: RENDEZVOUS_ADMIN_TOKEN is not set")
    if not hmac.compare_digest(token.encode(), configured.encode()):
        raise HTTPProblem(403, "wrong admin token")
    actor = request.headers.get("X-Actor", "admin").strip()[:64]
    return f"rest:{actor or 'admin'}"


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
