"""OIP requests to a model server: payloads -> input tensors, output tensors -> results. Pure."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from streamapp.core.oip import InputSpec, OipMapping
from streamapp.core.oip_tensors import TensorError, check_value, flatten, shape_of, tensor_rows


def _at(payload: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    value: Any = payload
    seen = "payload"
    for key in path:
        if not isinstance(value, Mapping):
            raise TensorError(f"{seen} must be an object (to read {key!r})")
        if key not in value:
            raise TensorError(f"{seen} has no {key!r}")
        value = value[key]
        seen = f"{seen}.{key}" if key.isidentifier() else f"{seen}[{key!r}]"
    return value


def _label(path: tuple[str, ...]) -> str:
    return "payload" + "".join(f".{k}" if k.isidentifier() else f"[{k!r}]" for k in path)


def _default_inputs(payloads: Sequence[Mapping[str, Any]]) -> tuple[InputSpec, ...]:
    """One named FP64 input per key of ``payload["features"]`` (the same keys in every one)."""
    first = _at(payloads[0], ("features",))
    if not isinstance(first, Mapping) or not first:
        raise TensorError("payload.features must be a non-empty object of numbers")
    names = list(first)
    for i, payload in enumerate(payloads[1:], start=1):
        other = _at(payload, ("features",))
        if not isinstance(other, Mapping) or set(other) != set(names):
            raise TensorError(
                f"payload {i} of the batch has other features than payload 0; named inputs "
                "need the same features in every request"
            )
    return tuple(InputSpec(str(name), "FP64", ("features", str(name))) for name in names)


def _row(spec: InputSpec, payload: Mapping[str, Any]) -> Any:
    value = _at(payload, spec.path)
    where = _label(spec.path)
    if spec.fields is None:
        return value
    if not isinstance(value, Mapping):
        raise TensorError(f"{where} must be an object with {len(spec.fields)} field(s)")
    missing = [name for name in spec.fields if name not in value]
    if missing:
        raise TensorError(f"{where} lacks {len(missing)} field(s), e.g. {missing[0]!r}")
    return [value[name] for name in spec.fields]


def _shape_fits(have: tuple[int, ...], declared: tuple[int, ...] | None) -> bool:
    if declared is None:
        return True
    return len(have) == len(declared) and all(
        d in (-1, h) for h, d in zip(have, declared, strict=True)
    )


def encode_inputs(
    mapping: OipMapping, payloads: Sequence[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """The OIP input tensors for a batch of payloads (one row each); TensorError if one does
    not fit (the message names the payload path, the tensor and, in a batch, the payload)."""
    if not payloads:
        raise TensorError("no payloads to encode")
    specs = mapping.inputs if mapping.inputs is not None else _default_inputs(payloads)
    tensors = []
    for spec in specs:
        data: list[Any] = []
        first_shape: tuple[int, ...] | None = None
        for i, payload in enumerate(payloads):
            batch = f"payload {i} of the batch: " if i else ""
            try:
                row = _row(spec, payload)
                shape = shape_of(row, _label(spec.path))
                check_value(flatten(row), spec.datatype, _label(spec.path))
                if not _shape_fits(shape, spec.shape):
                    raise TensorError(
                        f"{_label(spec.path)} has shape {list(shape)}; the input declares "
                        f"{list(spec.shape or ())}"
                    )
                if first_shape is not None and shape != first_shape:
                    raise TensorError(
                        f"{_label(spec.path)} has shape {list(shape)} but payload 0's has "
                        f"{list(first_shape)}; every row of a tensor needs one shape"
                    )
            except TensorError as error:
                raise TensorError(f"{batch}{error} (input {spec.name!r})") from None
            first_shape = shape
            data.extend(flatten(row))
        row_dims = list(first_shape or ()) or ([] if spec.shape == () else [1])
        tensors.append(
            {
                "name": spec.name,
                "shape": [len(payloads), *row_dims],
                "datatype": spec.datatype,
                "data": data,
            }
        )
    return tensors


def infer_body(
    mapping: OipMapping, payloads: Sequence[Mapping[str, Any]], *, request_id: str | None = None
) -> dict[str, Any]:
    """The JSON body of ``POST /v2/models/<model>/infer`` for a batch of payloads."""
    body: dict[str, Any] = {"inputs": encode_inputs(mapping, payloads)}
    if request_id is not None:
        body["id"] = request_id
    wanted = list(dict.fromkeys(spec.tensor for spec in mapping.outputs))
    if wanted:
        body["outputs"] = [{"name": name} for name in wanted]
    if mapping.parameters:
        body["parameters"] = dict(mapping.parameters)
    return body


def _label_of(value: Any, labels: Mapping[str, str], where: str) -> str:
    key = str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)
    if isinstance(value, bool):
        key = str(value).lower()
    if key not in labels:
        raise TensorError(f"{where} is {value!r}, which the labels do not name ({sorted(labels)})")
    return labels[key]


def _tensors_by_name(response: Any) -> dict[str, Mapping[str, Any]]:
    if not isinstance(response, Mapping) or not isinstance(response.get("outputs"), list):
        raise TensorError("the OIP response has no outputs list")
    found: dict[str, Mapping[str, Any]] = {}
    for i, tensor in enumerate(response["outputs"]):
        if not isinstance(tensor, Mapping) or not isinstance(tensor.get("name"), str):
            raise TensorError(f"OIP output {i} is not a tensor with a name")
        found[tensor["name"]] = tensor
    return found


def decode_outputs(mapping: OipMapping, response: Any, rows: int) -> list[dict[str, Any]]:
    """One result object per request from an OIP response to a batch of ``rows``."""
    tensors = _tensors_by_name(response)
    split = {
        name: tensor_rows(tensor, rows, f"output {name!r}") for name, tensor in tensors.items()
    }
    if not mapping.outputs:
        return [{name: values[r] for name, values in split.items()} for r in range(rows)]
    results: list[dict[str, Any]] = [{} for _ in range(rows)]
    for spec in mapping.outputs:
        if spec.tensor not in split:
            raise TensorError(
                f"the OIP response has no output {spec.tensor!r} (has {sorted(split)})"
            )
        for r, value in enumerate(split[spec.tensor]):
            where = f"output {spec.tensor!r} row {r}"
            if spec.index is not None:
                flat = flatten(value)
                if spec.index >= len(flat):
                    raise TensorError(
                        f"{where} has {len(flat)} value(s); index {spec.index} is past it"
                    )
                value = flat[spec.index]
            if spec.labels is not None:
                value = _label_of(value, spec.labels, where)
            results[r][spec.field] = value
    return results
