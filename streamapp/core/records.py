"""Every Record: the wire contracts on rendezvous topics and the values of its tables.

Every record serializes to plain JSON (no Faust metadata), so any Kafka client can produce
and read them. Field names are public: extend, never rename.
"""

from __future__ import annotations

from typing import Any

import faust

NAMESPACE = "rendezvous"


class Request(
    faust.Record,
    serializer="json",
    include_metadata=False,
    namespace=f"{NAMESPACE}.Request",
):
    """A request for an answer, on the requests topic; key = request id."""

    request_id: str
    payload: dict[str, Any]
    return_topic: str | None = None
    deadline_ms: int | None = None
    sent_at: float | None = None


class Score(
    faust.Record,
    serializer="json",
    include_metadata=False,
    namespace=f"{NAMESPACE}.Score",
):
    """One model's result for one request, on the scores topic; key = request id.

    ``read_at`` and ``finished_at`` are epoch seconds when the model read the request and
    when it finished scoring. ``replayed`` marks scores produced from an archive.
    """

    request_id: str
    model: str
    model_version: str
    read_at: float
    finished_at: float
    result: dict[str, Any] | None = None
    error: str | None = None
    replayed: bool = False


class ScoredRequest(
    faust.Record,
    serializer="json",
    include_metadata=False,
    namespace=f"{NAMESPACE}.ScoredRequest",
):
    """One request's result inside a :class:`ScoreBatch` (the model and version are the batch's)."""

    request_id: str
    read_at: float
    finished_at: float
    result: dict[str, Any] | None = None
    error: str | None = None


class ScoreBatch(
    faust.Record,
    serializer="json",
    include_metadata=False,
    namespace=f"{NAMESPACE}.ScoreBatch",
):
    """Several Scores of one model in one message, on the scores topic.

    Every request in ``scores`` came from the partition the batch is written to, so the batch
    meets their mailboxes. A batch is told from a single Score by its ``scores`` list; both may
    be mixed on the topic. The key is free (the model process uses the model's name).
    """

    model: str
    model_version: str
    scores: list[ScoredRequest]
    replayed: bool = False


class Candidate(
    faust.Record,
    serializer="json",
    include_metadata=False,
    namespace=f"{NAMESPACE}.Candidate",
):
    """A model that had answered when the choice was made, as recorded in an Answer."""

    model: str
    model_version: str
    ok: bool
    arrived_ms: int


class Answer(
    faust.Record,
    serializer="json",
    include_metadata=False,
    namespace=f"{NAMESPACE}.Answer",
):
    """The one official answer to a request, on its return topic; key = request id.

    ``status`` is ``ok`` (with ``result``), ``no_result`` or ``rejected`` (with ``reason``).
    Times are epoch milliseconds.
    """

    request_id: str
    status: str
    rule: str
    policy_version: int
    opened_at: int
    answered_at: int
    model: str | None = None
    model_version: str | None = None
    result: dict[str, Any] | None = None
    reason: str | None = None
    candidates: list[Candidate] = []
    deadline_at: int | None = None
    late: bool = False


class Control(
    faust.Record,
    serializer="json",
    include_metadata=False,
    namespace=f"{NAMESPACE}.Control",
):
    """A change to the model registry or policy, on the control topic."""

    command: str
    model: str | None = None
    value: Any | None = None
    actor: str = "anonymous"
    issued_at: float | None = None
    command_id: str | None = None


class DeadLetter(
    faust.Record,
    serializer="json",
    include_metadata=False,
    namespace=f"{NAMESPACE}.DeadLetter",
):
    """A message that could not be decoded or validated, with where it came from and why."""

    reason: str
    topic: str
    partition: int
    offset: int
    key: str | None = None
    value: str | None = None
    failed_at: float | None = None


class ModelEntry(
    faust.Record, serializer="json", include_metadata=False, namespace="rendezvous.ModelEntry"
):
    """One model as the registry knows it (``state``: live, shadow or off)."""

    name: str
    state: str = "shadow"
    priority: int = 0
    backstop: bool = False
    weight: float = 1.0
    labels: dict[str, str] = {}
    model_version: str | None = None


class StepEntry(
    faust.Record, serializer="json", include_metadata=False, namespace="rendezvous.StepEntry"
):
    """A schedule step: after ``after_ms`` accept live models of priority >= ``min_priority``."""

    after_ms: int
    min_priority: int


class RegistryDoc(
    faust.Record, serializer="json", include_metadata=False, namespace="rendezvous.RegistryDoc"
):
    """The whole registry and policy at one version (the ``registry`` table's one value)."""

    version: int
    models: list[ModelEntry] = []
    steps: list[StepEntry] = []
    random_split: bool = False
    updated_at: float | None = None
    last_command_id: str | None = None

    def model(self, name: str) -> ModelEntry | None:
        """The entry for a model, or None."""
        return next((m for m in self.models if m.name == name), None)


class ControlChange(
    faust.Record, serializer="json", include_metadata=False, namespace="rendezvous.ControlChange"
):
    """One applied control command: who, when, what, and the values before and after."""

    version: int
    command: str
    actor: str
    at: float
    model: str | None = None
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None
    command_id: str | None = None
