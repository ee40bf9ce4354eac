"""The rendezvous as one OIP model: input tensors -> payloads, results -> output tensors. Pure."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from streamapp.core.oip import OipMapping
from streamapp.core.oip_tensors import (
    NUMERIC,
    TensorError,
    check_value,
    flatten,
    json_value,
    shape_of,
    tensor_rows,
)

#: The one input named so carries a whole payload as JSON text (BYTES).
PAYLOAD_INPUT = "payload"


def _payload_row(text: Any, where: str) -> dict[str, Any]:
    if not isinstance(text, str):
        raise TensorError(f"{where} must be JSON text (BYTES)")
    try:
        value = json.loads(text)
    except ValueError as error:
        raise TensorError(f"{where} is not JSON: {error}") from None
    if not isinstance(value, dict):
        raise TensorError(f"{where} must be a JSON object")
    return value


def _put(payload: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    target = payload
    for key in path[:-1]:
        target = target.setdefault(key, {})
    target[path[-1]] = value


def payloads_from_inputs(mapping: OipMapping | None, inputs: Any) -> list[dict[str, Any]]:
    """The payload of each row of OIP input tensors (the REST front's direction).

    Without a declared mapping, each input ``X`` becomes ``payload["features"][X]`` (a number
    for one value per row), and an input named ``payload`` (BYTES) carries a whole payload.
    """
    if not isinstance(inputs, list) or not inputs:
        raise TensorError("inputs must be a non-empty list of tensors")
    tensors: dict[str, Mapping[str, Any]] = {}
    for i, tensor in enumerate(inputs):
        if not isinstance(tensor, Mapping) or not isinstance(tensor.get("name"), str):
            raise TensorError(f"inputs[{i}] must be a tensor with a name")
        if tensor["name"] in tensors:
            raise TensorError(f"input {tensor['name']!r} is given twice")
        tensors[tensor["name"]] = tensor
    shapes = {name: t.get("shape") for name, t in tensors.items()}
    first = next(iter(shapes.values()))
    rows = first[0] if isinstance(first, list) and first and isinstance(first[0], int) else 1
    split = {name: tensor_rows(t, rows, f"input {name!r}") for name, t in tensors.items()}
    payloads: list[dict[str, Any]] = [{} for _ in range(rows)]
    if mapping is None or mapping.inputs is None:
        if PAYLOAD_INPUT in split:
            if len(split) > 1:
                raise TensorError("the 'payload' input carries the whole payload; send it alone")
            return [
                _payload_row(v, f"input 'payload' row {r}")
                for r, v in enumerate(split[PAYLOAD_INPUT])
            ]
        for name, values in split.items():
            for r, value in enumerate(values):
                _put(payloads[r], ("features", name), value)
        return payloads
    for spec in mapping.inputs:
        if spec.name not in split:
            raise TensorError(
                f"input {spec.name!r} is missing "
                f"(the mapping needs {[s.name for s in mapping.inputs]})"
            )
        datatype = tensors[spec.name].get("datatype")
        if (datatype in NUMERIC) != (spec.datatype in NUMERIC) or (
            spec.datatype not in NUMERIC and datatype != spec.datatype
        ):
            raise TensorError(
                f"input {spec.name!r} is {datatype}, the mapping needs {spec.datatype}"
            )
        for r, value in enumerate(split[spec.name]):
            if spec.fields is None:
                _put(payloads[r], spec.path, value)
                continue
            flat = flatten(value)
            if len(flat) != len(spec.fields):
                raise TensorError(
                    f"input {spec.name!r} row {r} has {len(flat)} value(s); the mapping names "
                    f"{len(spec.fields)} field(s)"
                )
            _put(payloads[r], spec.path, dict(zip(spec.fields, flat, strict=True)))
    return payloads


def _column(field_name: str, values: list[Any]) -> dict[str, Any]:
    """One output tensor for a result field across rows, its datatype from the values."""
    rows = len(values)
    if all(isinstance(v, bool) for v in values):
        return {"name": field_name, "datatype": "BOOL", "shape": [rows], "data": values}
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
        kind = "INT64" if all(isinstance(v, int) for v in values) else "FP64"
        return {"name": field_name, "datatype": kind, "shape": [rows], "data": values}
    if all(isinstance(v, str) for v in values):
        return {"name": field_name, "datatype": "BYTES", "shape": [rows], "data": values}
    if all(isinstance(v, list) for v in values):
        try:
            shapes = {shape_of(v, field_name) for v in values}
            flat = [x for v in values for x in flatten(v)]
            check_value(flat, "FP64", field_name)
        except TensorError:
            shapes = set()
        if len(shapes) == 1:
            return {
                "name": field_name,
                "datatype": "FP64",
                "shape": [rows, *shapes.pop()],
                "data": flat,
            }
    text = [json.dumps(json_value(v), separators=(",", ":")) for v in values]
    return {
        "name": field_name,
        "datatype": "BYTES",
        "shape": [rows],
        "data": text,
        "parameters": {"content_type": "json"},
    }


def outputs_from_results(results: Sequence[Mapping[str, Any] | None]) -> list[dict[str, Any]]:
    """OIP output tensors for result objects, one row each: the fields every row has, in the
    first row's order (a row without a result leaves only the fields common to all)."""
    present = [r for r in results if r is not None]
    if len(present) != len(results) or not present:
        return []
    names = [k for k in present[0] if all(k in r for r in present[1:])]
    return [_column(name, [r[name] for r in present]) for name in names]
