"""The registry as this worker sees it: the global table's document and the policy's view."""

from __future__ import annotations

from streamapp.app import REGISTRY_KEY, registry_table, settings
from streamapp.core.policy import Registry
from streamapp.core.records import RegistryDoc
from streamapp.core.registry import registry_from_doc, seed_doc

_seed = seed_doc(settings.models)
_cached: tuple[int, Registry] = (_seed.version, registry_from_doc(_seed))


def current_doc() -> RegistryDoc:
    """The registry document as this worker sees it now (the seed before any command)."""
    doc = registry_table.get(REGISTRY_KEY)
    return doc if doc is not None else _seed


def current_registry() -> Registry:
    """The policy's view of the registry, rebuilt only when the version changes."""
    global _cached
    doc = current_doc()
    if doc.version != _cached[0]:
        _cached = (doc.version, registry_from_doc(doc))
    return _cached[1]


def canary_name() -> str | None:
    """The registered canary (the model labelled ``role: canary``), if any."""
    return next((m.name for m in current_doc().models if m.labels.get("role") == "canary"), None)
