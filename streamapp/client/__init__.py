"""The rendezvous client library: ``score(payload) -> Answer`` over Kafka or REST, sync or asyncio.

Imports no Faust and nothing of the worker: aiokafka, httpx and the standard library only.
"""

from __future__ import annotations

from streamapp.client.answer import (
    Answer,
    Candidate,
    ClientError,
    RequestIdInUse,
    RequestInvalid,
    RequestRejected,
    ScoreTimeout,
    Unavailable,
)
from streamapp.client.kafka import AsyncKafkaClient
from streamapp.client.rest import AsyncRestClient, RestClient
from streamapp.client.sync import KafkaClient

__all__ = [
    "Answer",
    "AsyncKafkaClient",
    "AsyncRestClient",
    "Candidate",
    "ClientError",
    "KafkaClient",
    "RequestIdInUse",
    "RequestInvalid",
    "RequestRejected",
    "RestClient",
    "ScoreTimeout",
    "Unavailable",
]
