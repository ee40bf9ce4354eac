"""The console's only HTTP client: reads the worker's REST API, never raises on outages."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx


@dataclass(frozen=True)
class Reply:
    """A worker reply, or why there is none (``error`` set when the worker is unreachable)."""

    status: int | None
    body: dict[str, Any]
    error: str | None = None


class WorkerAPI:
    """Reads the worker's REST endpoints."""

    def __init__(
        self, base_url: str, *, timeout_s: float = 2.0, transport: httpx.BaseTransport | None = None
    ) -> None:
        self._client = httpx.Client(base_url=base_url, timeout=timeout_s, transport=transport)

    def get(self, path: str) -> Reply:
        """GET a JSON endpoint; connection failures become a Reply with ``error``."""
        try:
            response = self._client.get(path)
        except httpx.HTTPError as error:
            return Reply(None, {}, f"worker unreachable: {type(error).__name__}")
        try:
            body = response.json()
        except ValueError:
            body = {}
        return Reply(response.status_code, body if isinstance(body, dict) else {"data": body})

    def health(self) -> Reply:
        """``GET /health``."""
        return self.get("/health")
