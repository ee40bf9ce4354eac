"""Every HTTP error as JSON, and the body limit: an aiohttp middleware on Faust's web app.

The views answer their own errors as JSON (``problems``). What aiohttp answers by itself (an
unknown path, a wrong method, a body over the limit) and an exception a view lets escape would
otherwise be text or HTML. The worker imports this module (``WORKER_MODULES``) before its web
server starts, and the import installs the middleware.
"""

from __future__ import annotations

import logging

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware
from faust.web.drivers.aiohttp import Web as AiohttpWeb

from streamapp.app import app, settings

log = logging.getLogger(__name__)
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


def json_error(status: int, error: str, *, allow: str | None = None) -> web.Response:
    """A JSON error answer ``{"error": ...}`` (with ``Allow`` for a 405)."""
    headers = {"Allow": allow} if allow is not None else None
    return web.json_response({"error": error}, status=status, headers=headers)


def too_large(limit: int) -> web.Response:
    """The 413 answer for a body over ``limit`` bytes."""
    return json_error(413, f"the body is over the limit of {limit} bytes")


def from_http_exception(request: web.Request, error: web.HTTPException, limit: int) -> web.Response:
    """The JSON version of an error aiohttp raised (the status and ``Allow`` are kept)."""
    if isinstance(error, web.HTTPNotFound):
        return json_error(404, f"no endpoint {request.path} (see GET /openapi.json)")
    if isinstance(error, web.HTTPMethodNotAllowed):
        allowed = sorted(error.allowed_methods - {"HEAD"}) or sorted(error.allowed_methods)
        return json_error(
            405,
            f"method {error.method} is not allowed on {request.path}; allowed: "
            + ", ".join(allowed),
            allow=error.headers.get("Allow"),
        )
    if isinstance(error, web.HTTPRequestEntityTooLarge):
        return too_large(limit)
    return json_error(error.status, error.reason.lower())


def json_errors(*, max_body_bytes: int) -> Middleware:
    """A middleware that bounds request bodies and turns every error into a JSON answer."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.method in BODY_METHODS:
            if (request.content_length or 0) > max_body_bytes:
                return too_large(max_body_bytes)
            # A chunked body has no length: reading more than the limit raises a 413.
            request = request.clone(client_max_size=max_body_bytes)
        try:
            return await handler(request)
        except web.HTTPException as error:
            if error.status < 400:
                raise  # redirects and the like are answers, not errors
            return from_http_exception(request, error, max_body_bytes)
        except Exception as error:
            log.exception("%s %s failed", request.method, request.path)
            return json_error(500, f"internal error ({type(error).__name__}); see the worker log")

    return middleware


def install(web_app: web.Application, *, max_body_bytes: int) -> None:
    """Add the middleware to a web application that has not started yet."""
    web_app.middlewares.append(json_errors(max_body_bytes=max_body_bytes))


if not isinstance(app.web, AiohttpWeb):  # the only driver Faust ships; anything else is a bug
    raise TypeError(f"the JSON error middleware needs Faust's aiohttp driver, not {app.web!r}")
install(app.web.web_app, max_body_bytes=settings.max_body_bytes)
