"""The registry as this worker sees it, kept decoded and refreshed when it changes.

The global table is read at most every ``REFRESH_MS``, and decoded only when its version
moved: the hot path reads a plain ``Registry``, never a Faust Record.
"""

from __future__ import annotations

import time

from streamapp.app import REGISTRY_KEY, registry_table, settings
from streamapp.core.policy import Registry
from streamapp.core.records import RegistryDoc
from streamapp.core.registry import registry_from_doc, seed_doc

#: How stale the hot path's registry may be (a control change is live within this).
REFRESH_MS = 50

_seed = seed_doc(settings.models)
_doc: RegistryDoc = _seed
_registry: Registry = registry_from_doc(_seed)
_checked_at = 0.0


def _canary_of(doc: RegistryDoc) -> str | None:
    return next((m.name for m in doc.models if m.labels.get("role") == "canary"), None)


_canary = _canary_of(_seed)


def _refresh() -> None:
    global _doc, _registry, _canary, _checked_at
    _checked_at = time.monotonic()
    doc = registry_table.get(REGISTRY_KEY) or _seed
    if doc is not _doc:
        if doc.version != _doc.version:
            _registry = registry_from_doc(doc)
            _canary = _canary_of(doc)
        _doc = doc


def _fresh() -> None:
    if (time.monotonic() - _checked_at) * 1000 >= REFRESH_MS:
        _refresh()


def current_doc() -> RegistryDoc:
    """The registry document as this worker sees it now (the seed before any command)."""
    _refresh()
    return _doc


def current_registry() -> Registry:
    """The policy's view of the registry, at most ``REFRESH_MS`` old."""
    _fresh()
    return _registry


def canary_name() -> str | None:
    """The registered canary (the model labelled ``role: canary``), at most ``REFRESH_MS`` old."""
    _fresh()
    return _canary
