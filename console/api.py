"""The console's only HTTP client: reads the worker's REST API, never raises on outages."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any
from urllib.parse import quote

import httpx

from console.settings import get_console_settings

STATUS_WORDS = {
    401: "not authorized",
    403: "forbidden",
    404: "not found",
    409: "conflict",
    422: "rejected",
    504: "timed out",
}


@dataclass(frozen=True)
class Reply:
    """A worker reply, or why there is none: ``error`` is set for every failed call."""

    status: int | None
    body: dict[str, Any] = field(default_factory=dict)
    error: str | None = None

    @property
    def ok(self) -> bool:
        """True when the worker answered 2xx with a JSON object."""
        return self.error is None

    @property
    def unreachable(self) -> bool:
        """True when the worker did not answer at all (refused, timed out, broken reply)."""
        return self.status is None


def problem_message(status: int, body: Mapping[str, Any], reason: str) -> str:
    """A one-line message for an error status, using the JSON ``error`` field when present."""
    detail = body.get("error") or body.get("status") or reason or "no details"
    where = body.get("field")
    if where and str(where) not in str(detail):
        detail = f"{detail} (field {where})"
    if status in STATUS_WORDS:
        return f"{STATUS_WORDS[status]} ({status}): {detail}"
    if status >= 500:
        return f"worker error (HTTP {status}): {detail}"
    return f"HTTP error ({status}): {detail}"


def transport_message(error: httpx.HTTPError, timeout_s: float) -> str:
    """Why the worker could not be reached, in words an operator understands."""
    if isinstance(error, httpx.TimeoutException):
        return f"worker unreachable: no reply within {timeout_s:g}s"
    if isinstance(error, httpx.ConnectError):
        return f"worker unreachable: connection failed ({error or 'refused'})"
    return f"worker unreachable: {type(error).__name__}: {error}"


class WorkerAPI:
    """Reads and changes the worker through its REST endpoints; every method returns a Reply."""

    def __init__(
        self,
        base_url: str,
        *,
        timeout_s: float = 2.0,
        transport: httpx.BaseTransport | None = None,
        read_token: str | None = None,
    ) -> None:
        self.base_url = base_url
        self._timeout_s = timeout_s
        self._read_headers = {"Authorization": f"Bearer {read_token}"} if read_token else {}
        self._client = httpx.Client(base_url=base_url, timeout=timeout_s, transport=transport)

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str | int] | None = None,
        json: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Reply:
        """Send one request; outages, non-JSON and error statuses become a Reply with ``error``.

        A GET carries the read token (when configured) unless ``headers`` set Authorization.
        """
        if method == "GET" and self._read_headers:
            headers = {**self._read_headers, **(headers or {})}
        try:
            response = self._client.request(method, path, params=params, json=json, headers=headers)
        except httpx.HTTPError as error:
            return Reply(None, {}, transport_message(error, self._timeout_s))
        try:
            body = response.json()
        except ValueError:
            body = None
        status = response.status_code
        if not isinstance(body, dict):
            if response.is_success:
                return Reply(status, {}, f"worker reply is not a JSON object (HTTP {status})")
            body = {}
        if response.is_success:
            return Reply(status, body)
        return Reply(status, body, problem_message(status, body, response.reason_phrase))

    def health(self) -> Reply:
        """``GET /health`` (a 503 while the worker recovers its tables)."""
        return self.request("GET", "/health")

    def stats(
        self,
        *,
        since: int | None = None,
        until: int | None = None,
        models: Iterable[str] | None = None,
        buckets: bool = False,
    ) -> Reply:
        """``GET /v1/stats``: totals, per-model stats, agreement, Q-Q, histograms, buckets."""
        params: dict[str, str | int] = {}
        if since is not None:
            params["since"] = since
        if until is not None:
            params["until"] = until
        names = ",".join(models or ())
        if names:
            params["model"] = names
        if buckets:
            params["buckets"] = 1
        return self.request("GET", "/v1/stats", params=params)

    def models(self) -> Reply:
        """``GET /v1/models``: every model the registry knows."""
        return self.request("GET", "/v1/models")

    def set_model(self, name: str, changes: Mapping[str, Any], *, token: str | None) -> Reply:
        """``PUT /v1/models/{name}`` with the admin token as a bearer Authorization header."""
        headers = {"Authorization": f"Bearer {token}"} if token else None
        return self.request(
            "PUT", f"/v1/models/{quote(name, safe='')}", json=changes, headers=headers
        )

    def history(self, *, limit: int = 20) -> Reply:
        """``GET /v1/control/history``: applied changes, newest first."""
        return self.request("GET", "/v1/control/history", params={"limit": limit})

    def latest_answers(
        self,
        *,
        limit: int = 50,
        rule: str | None = None,
        status: str | None = None,
        model: str | None = None,
    ) -> Reply:
        """``GET /v1/requests``: the latest answers, newest first, filtered by the worker."""
        params: dict[str, str | int] = {"limit": limit}
        for key, value in (("rule", rule), ("status", status), ("model", model)):
            if value:
                params[key] = value
        return self.request("GET", "/v1/requests", params=params)

    def request_timeline(self, request_id: str) -> Reply:
        """``GET /v1/requests/{id}``: one request's mailbox timeline (404 when unknown)."""
        return self.request("GET", f"/v1/requests/{quote(request_id, safe='')}")


@lru_cache(maxsize=1)
def worker_api() -> WorkerAPI:
    """The one client of this console's worker, configured from the console settings."""
    settings = get_console_settings()
    read_token = settings.read_token.get_secret_value() if settings.read_token else None
    return WorkerAPI(settings.worker_url, timeout_s=settings.timeout_s, read_token=read_token)
