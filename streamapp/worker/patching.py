"""Replacing a method of a Faust class once per process, however often the worker's modules load.

Each of the worker's Faust patches (``recovery_patch``, ``fetch_patch``, ``inline_consumer``,
``changelog_pause``, ``eager_delivery``, ``memtable_bloom``) installs itself when imported, and
a test may install it again: the replacement carries a mark, and a method that already carries
it is left alone.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def patch_once(
    owner: type, name: str, mark: str, replacement_for: Callable[[Any], Callable[..., Any]]
) -> None:
    """Set ``owner.name`` to ``replacement_for(original)``, unless it is already marked ``mark``."""
    original = getattr(owner, name)
    if getattr(original, mark, False):
        return
    replacement = replacement_for(original)
    setattr(replacement, mark, True)
    setattr(owner, name, replacement)
