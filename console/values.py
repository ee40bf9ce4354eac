"""Pure coercions of the worker's JSON values: anything odd or missing becomes empty or None."""

from __future__ import annotations

from typing import Any


def as_dict(value: object) -> dict[str, Any]:
    """The value if it is a JSON object, else an empty dict."""
    return value if isinstance(value, dict) else {}


def as_list(value: object) -> list[Any]:
    """The value if it is a JSON array, else an empty list."""
    return value if isinstance(value, list) else []


def number(value: object) -> float | None:
    """A finite JSON number as float, else None (booleans are not numbers here)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if value == value and abs(value) != float("inf") else None
