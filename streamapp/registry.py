"""The model registry as the policy sees it (seeded from settings)."""

from __future__ import annotations

from streamapp.policy import ModelRule, Registry
from streamapp.settings import Settings


def registry_from_settings(settings: Settings) -> Registry:
    """The registry before any control command: the models named in ``RENDEZVOUS_MODELS``."""
    return Registry(
        models={
            name: ModelRule(state=seed.state, priority=seed.priority, backstop=seed.backstop)
            for name, seed in settings.models.items()
        }
    )
