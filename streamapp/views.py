"""REST endpoints served by every worker (Faust web views)."""

from __future__ import annotations

from faust.web import Request, Response, View

from streamapp.app import app, settings
from streamapp.runtime import clock


@app.page("/health")
class Health(View):
    """``GET /health``: 200 when this worker has recovered its tables and serves, else 503."""

    async def get(self, request: Request) -> Response:
        """Readiness of this worker, with the size of its deadline clock."""
        recovery = app.tables.recovery
        ready = recovery.completed.is_set() and not app.rebalancing
        body = {
            "status": "ready" if ready else "recovering",
            "app_id": settings.app_id,
            "pending_wakeups": len(clock),
        }
        return self.json(body, status=200 if ready else 503)
