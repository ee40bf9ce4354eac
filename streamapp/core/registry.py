"""The model registry: its stored document (a Record) as the policy sees it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from streamapp.core.policy import ModelRule, Registry, ScheduleStep
from streamapp.core.records import ModelEntry, RegistryDoc


class Seed(Protocol):
    """How a model starts before any control command (``settings.ModelSeed`` is one)."""

    @property
    def state(self) -> str: ...
    @property
    def priority(self) -> int: ...
    @property
    def backstop(self) -> bool: ...


def seed_doc(models: Mapping[str, Seed]) -> RegistryDoc:
    """Version 1: the seeded models (``RENDEZVOUS_MODELS``), no schedule steps."""
    return RegistryDoc(
        version=1,
        models=[
            ModelEntry(name=name, state=seed.state, priority=seed.priority, backstop=seed.backstop)
            for name, seed in sorted(models.items())
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
