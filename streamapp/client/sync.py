"""The blocking Kafka client: an :class:`AsyncKafkaClient` on its own event-loop thread."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine, Mapping
from typing import Any, TypeVar

from streamapp.client.answer import Answer
from streamapp.client.kafka import AsyncKafkaClient

T = TypeVar("T")


class KafkaClient:
    """``client.score(payload)`` over Kafka, blocking and thread-safe: calls from many threads
    share one producer and one reply consumer (arguments as :class:`AsyncKafkaClient`)."""

    def __init__(self, bootstrap_servers: str = "127.0.0.1:9092", **options: Any) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="rendezvous-client", daemon=True
        )
        self._thread.start()
        self._client = self._run(self._make(bootstrap_servers, options))
        try:
            self._run(self._client.start())
        except BaseException:
            self._stop_loop()
            raise

    @staticmethod
    async def _make(bootstrap_servers: str, options: dict[str, Any]) -> AsyncKafkaClient:
        return AsyncKafkaClient(bootstrap_servers, **options)

    def _run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result()

    @property
    def reply_topic(self) -> str:
        """The topic this client reads its answers from."""
        return self._client.reply_topic

    def __enter__(self) -> KafkaClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def score(
        self,
        payload: Mapping[str, Any],
        *,
        deadline_ms: int | None = None,
        request_id: str | None = None,
    ) -> Answer:
        """As :meth:`AsyncKafkaClient.score`, blocking."""
        return self._run(
            self._client.score(payload, deadline_ms=deadline_ms, request_id=request_id)
        )

    def close(self) -> None:
        """Stop the client and its thread."""
        if self._loop.is_running():
            self._run(self._client.close())
            self._stop_loop()

    def _stop_loop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()
