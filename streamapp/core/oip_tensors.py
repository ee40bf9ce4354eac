"""OIP tensors in JSON: shapes, datatypes, and splitting a batch tensor into rows. Pure."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

#: Integer datatypes and their ranges.
INTEGER = {
    "INT8": (-(2**7), 2**7 - 1),
    "INT16": (-(2**15), 2**15 - 1),
    "INT32": (-(2**31), 2**31 - 1),
    "INT64": (-(2**63), 2**63 - 1),
    "UINT8": (0, 2**8 - 1),
    "UINT16": (0, 2**16 - 1),
    "UINT32": (0, 2**32 - 1),
    "UINT64": (0, 2**64 - 1),
}
FLOAT = {"FP16", "FP32", "FP64"}
NUMERIC = set(INTEGER) | FLOAT


class TensorError(ValueError):
    """A payload or a tensor does not fit: the message names where and what was expected."""


def flatten(value: Any) -> list[Any]:
    """The elements of a (nested) list in row-major order; a scalar is one element."""
    if not isinstance(value, list):
        return [value]
    flat: list[Any] = []
    for item in value:
        flat.extend(flatten(item))
    return flat


def shape_of(value: Any, where: str) -> tuple[int, ...]:
    """The shape of a scalar (``()``) or a rectangular nested list; TensorError if ragged."""
    if not isinstance(value, list):
        if isinstance(value, Mapping):
            raise TensorError(f"{where} is an object; a tensor needs numbers, text or lists")
        return ()
    if not value:
        return (0,)
    inner = {shape_of(item, where) for item in value}
    if len(inner) != 1:
        raise TensorError(f"{where} is ragged: its items have different shapes")
    return (len(value), *inner.pop())


def _type_name(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def check_value(flat: list[Any], datatype: str, where: str) -> None:
    """TensorError unless every element fits ``datatype`` (no bool as a number, no NaN)."""
    for value in flat:
        if datatype == "BOOL":
            ok = isinstance(value, bool)
            wanted = "a boolean"
        elif datatype == "BYTES":
            ok = isinstance(value, str)
            wanted = "text"
        elif datatype in INTEGER:
            low, high = INTEGER[datatype]
            ok = isinstance(value, int) and not isinstance(value, bool) and low <= value <= high
            wanted = f"an integer in {low}..{high}"
        elif datatype in FLOAT:
            ok = (
                isinstance(value, int | float)
                and not isinstance(value, bool)
                and math.isfinite(value)
            )
            wanted = "a finite number"
        else:
            raise TensorError(f"{where}: {datatype!r} is not an OIP datatype")
        if not ok:
            raise TensorError(
                f"{where} must hold {wanted} for {datatype}, got {_type_name(value)} {value!r}"
            )


def nested(flat: list[Any], shape: tuple[int, ...]) -> Any:
    """Rebuild a nested list of ``shape`` from row-major elements (``()`` is a scalar)."""
    if not shape:
        return flat[0]
    if len(shape) == 1:
        return list(flat)
    step = math.prod(shape[1:])
    return [nested(flat[i * step : (i + 1) * step], shape[1:]) for i in range(shape[0])]


def _declared_shape(tensor: Mapping[str, Any], where: str) -> tuple[int, ...]:
    shape = tensor.get("shape")
    if not isinstance(shape, list) or not all(
        isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape
    ):
        raise TensorError(f"{where}: shape must be a list of non-negative integers")
    return tuple(shape)


def tensor_rows(tensor: Mapping[str, Any], rows: int, where: str) -> list[Any]:
    """Split a tensor whose first dimension is the batch into ``rows`` values: a scalar when a
    row holds one element, else a nested list of the row's shape. A lone row may come without
    the batch dimension."""
    shape = _declared_shape(tensor, where)
    datatype = tensor.get("datatype")
    if not isinstance(datatype, str):
        raise TensorError(f"{where}: datatype must be a string")
    flat = flatten(tensor.get("data"))
    if tensor.get("data") is None or len(flat) != math.prod(shape):
        raise TensorError(
            f"{where} has {0 if tensor.get('data') is None else len(flat)} value(s) "
            f"for shape {list(shape)}"
        )
    check_value(flat, datatype, where)
    if rows == 1 and (not shape or shape[0] != 1):
        shape = (1, *shape)
    if shape[0] != rows:
        raise TensorError(f"{where} has {shape[0]} row(s) for a batch of {rows}")
    row_shape = shape[1:]
    if math.prod(row_shape) == 1:
        row_shape = ()
    step = math.prod(shape[1:])
    return [nested(flat[r * step : (r + 1) * step], row_shape) for r in range(rows)]


def json_value(value: Any) -> Any:
    """A value as it can travel in JSON (tuples as lists; everything else as is)."""
    if isinstance(value, tuple | list):
        return [json_value(item) for item in value]
    if isinstance(value, Mapping):
        return {str(k): json_value(v) for k, v in value.items()}
    return value
