"""The model registry: stored documents (Records) and the policy's view of them."""

from __future__ import annotations

from typing import Any

import faust

from streamapp.policy import ModelRule, Registry, ScheduleStep
from streamapp.settings import Settings


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


def seed_doc(settings: Settings) -> RegistryDoc:
    """Version 1: the models named in ``RENDEZVOUS_MODELS``, no schedule steps."""
    return RegistryDoc(
        version=1,
        models=[
            ModelEntry(name=name, state=seed.state, priority=seed.priority, backstop=seed.backstop)
            for name, seed in sorted(settings.models.items())
        ],
    )


def registry_from_doc(doc: RegistryDoc) -> Registry:
    """The policy's plain view of a registry document."""
    return Registry(
        models={
            m.name: ModelRule(
                state=m.state, priority=m.priority, backstop=m.backstop, weight=m.weight
            )
            for m in doc.models
        },
        steps=tuple(ScheduleStep(s.after_ms, s.min_priority) for s in doc.steps),
        version=doc.version,
        random_split=doc.random_split,
    )
