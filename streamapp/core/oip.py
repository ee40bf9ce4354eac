"""Open Inference Protocol (KServe v2 REST) mappings: how payloads and tensors correspond. Pure.

A mapping declares which part of a payload becomes which input tensor, and which output
tensor becomes which field of a result. Without a declaration, every key of
``payload["features"]`` is a named FP64 input (``[N, 1]``), and every output tensor becomes a
result field of the same name. Both directions check shapes and types and name what is wrong.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from streamapp.core.oip_tensors import NUMERIC


class MappingError(ValueError):
    """A mapping declaration is not valid (names the offending part)."""


@dataclass(frozen=True)
class InputSpec:
    """One input tensor: the value at ``path`` in each payload, one row per payload.

    With ``fields``, the value at ``path`` is an object and the row is those keys' values in
    that order (one vector); else it is a number, string, boolean or (nested) list.
    """

    name: str
    datatype: str = "FP64"
    path: tuple[str, ...] = ("features",)
    fields: tuple[str, ...] | None = None
    #: The shape of one row (without the batch dimension); -1 matches any length.
    shape: tuple[int, ...] | None = None


@dataclass(frozen=True)
class OutputSpec:
    """One result field from one output tensor: its row, one element of it, or a label."""

    field: str
    tensor: str
    index: int | None = None
    labels: Mapping[str, str] | None = None


@dataclass(frozen=True)
class OipMapping:
    """How payloads become an OIP request and its outputs become results."""

    #: None: one named FP64 input per key of ``payload["features"]``.
    inputs: tuple[InputSpec, ...] | None = None
    #: Empty: every output tensor becomes the result field of its name (and none is requested).
    outputs: tuple[OutputSpec, ...] = ()
    #: The most requests sent in one OIP call (1: no batching).
    max_batch: int = 32
    #: Sent as the request's ``parameters`` (e.g. ``{"content_type": "np"}`` for MLServer).
    parameters: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def feature_vector(cls, features: Sequence[str], *, name: str = "input-0") -> OipMapping:
        """One FP64 tensor ``[N, len(features)]`` of ``payload["features"]`` in this order."""
        return cls(inputs=(InputSpec(name, "FP64", ("features",), tuple(features)),))


def _path(raw: Any, where: str) -> tuple[str, ...]:
    if isinstance(raw, str):
        return tuple(part for part in raw.split(".") if part)
    if isinstance(raw, list) and all(isinstance(part, str) for part in raw):
        return tuple(raw)
    raise MappingError(f"{where}.path must be a dotted string or a list of keys")


def _strings(raw: Any, where: str) -> tuple[str, ...]:
    if not isinstance(raw, list) or not raw or not all(isinstance(s, str) and s for s in raw):
        raise MappingError(f"{where} must be a non-empty list of non-empty strings")
    if len(set(raw)) != len(raw):
        raise MappingError(f"{where} names a key twice")
    return tuple(raw)


def _only(raw: Mapping[str, Any], allowed: set[str], where: str) -> None:
    unknown = sorted(set(raw) - allowed)
    if unknown:
        raise MappingError(f"{where} has unknown key(s) {unknown}; known: {sorted(allowed)}")


def _input(raw: Any, where: str) -> InputSpec:
    if not isinstance(raw, Mapping):
        raise MappingError(f"{where} must be an object")
    _only(raw, {"name", "datatype", "path", "fields", "shape"}, where)
    name, datatype = raw.get("name"), raw.get("datatype", "FP64")
    if not isinstance(name, str) or not name:
        raise MappingError(f"{where}.name must be a non-empty string")
    if datatype not in NUMERIC and datatype not in {"BOOL", "BYTES"}:
        raise MappingError(f"{where}.datatype {datatype!r} is not an OIP datatype")
    fields = _strings(raw["fields"], f"{where}.fields") if "fields" in raw else None
    shape = raw.get("shape")
    if shape is not None and (
        not isinstance(shape, list)
        or not all(isinstance(d, int) and not isinstance(d, bool) and d >= -1 for d in shape)
    ):
        raise MappingError(f"{where}.shape must be a list of sizes (-1 for any)")
    return InputSpec(
        name=name,
        datatype=datatype,
        path=_path(raw.get("path", "features"), where),
        fields=fields,
        shape=tuple(shape) if shape is not None else None,
    )


def _output(raw: Any, where: str) -> OutputSpec:
    if not isinstance(raw, Mapping):
        raise MappingError(f"{where} must be an object")
    _only(raw, {"field", "tensor", "index", "labels"}, where)
    name, tensor, index, labels = (raw.get(k) for k in ("field", "tensor", "index", "labels"))
    if not isinstance(name, str) or not name:
        raise MappingError(f"{where}.field must be a non-empty string")
    if not isinstance(tensor, str) or not tensor:
        raise MappingError(f"{where}.tensor must be a non-empty string")
    if index is not None and (isinstance(index, bool) or not isinstance(index, int) or index < 0):
        raise MappingError(f"{where}.index must be a non-negative integer")
    if labels is not None and (
        not isinstance(labels, Mapping) or not all(isinstance(v, str) for v in labels.values())
    ):
        raise MappingError(f"{where}.labels must map values (as text) to label strings")
    return OutputSpec(name, tensor, index, dict(labels) if labels is not None else None)


def parse_mapping(raw: Any) -> OipMapping:
    """A mapping from its JSON form (see the README, "OIP models"); MappingError if invalid."""
    if not isinstance(raw, Mapping):
        raise MappingError("an OIP mapping must be a JSON object")
    _only(raw, {"inputs", "features", "outputs", "max_batch", "parameters"}, "mapping")
    if "inputs" in raw and "features" in raw:
        raise MappingError("mapping: give either inputs or features, not both")
    inputs: tuple[InputSpec, ...] | None = None
    if "features" in raw:
        inputs = OipMapping.feature_vector(_strings(raw["features"], "mapping.features")).inputs
    elif "inputs" in raw:
        if not isinstance(raw["inputs"], list) or not raw["inputs"]:
            raise MappingError("mapping.inputs must be a non-empty list")
        inputs = tuple(_input(item, f"mapping.inputs[{i}]") for i, item in enumerate(raw["inputs"]))
        if len({spec.name for spec in inputs}) != len(inputs):
            raise MappingError("mapping.inputs names a tensor twice")
    outputs_raw = raw.get("outputs", [])
    if not isinstance(outputs_raw, list):
        raise MappingError("mapping.outputs must be a list")
    outputs = tuple(_output(item, f"mapping.outputs[{i}]") for i, item in enumerate(outputs_raw))
    max_batch = raw.get("max_batch", 32)
    if isinstance(max_batch, bool) or not isinstance(max_batch, int) or max_batch < 1:
        raise MappingError("mapping.max_batch must be an integer >= 1")
    parameters = raw.get("parameters", {})
    if not isinstance(parameters, Mapping):
        raise MappingError("mapping.parameters must be an object")
    return OipMapping(inputs, outputs, max_batch, dict(parameters))
