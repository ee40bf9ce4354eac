"""Strict decoding of wire records: raw bytes in, a validated Record or a clear reason out."""

from __future__ import annotations

import json
from types import UnionType
from typing import Any, TypeVar, Union, get_args, get_origin, get_type_hints

import faust
import pydantic

RecordT = TypeVar("RecordT", bound=faust.Record)


class DecodeError(ValueError):
    """A message that is not a valid record; ``str(error)`` names the problem."""


def _schema_type(annotation: Any) -> Any:
    """Replace Record types inside an annotation by their strict validators."""
    if isinstance(annotation, type) and issubclass(annotation, faust.Record):
        return _validator(annotation)
    args = get_args(annotation)
    if not args:
        return annotation
    origin = get_origin(annotation)
    mapped = tuple(_schema_type(arg) for arg in args)
    if origin is Union or origin is UnionType:
        return Union[mapped]  # noqa: UP007 - rebuilds a runtime union
    return origin[mapped] if len(mapped) > 1 else origin[mapped[0]]


_VALIDATORS: dict[str, type[pydantic.BaseModel]] = {}


def _validator(record_type: type[faust.Record]) -> type[pydantic.BaseModel]:
    """A strict pydantic model built from a Record's own annotations (one schema, two uses)."""
    name = f"{record_type.__module__}.{record_type.__qualname__}"
    if name not in _VALIDATORS:
        _VALIDATORS[name] = _build_validator(record_type)
    return _VALIDATORS[name]


def _build_validator(record_type: type[faust.Record]) -> type[pydantic.BaseModel]:
    hints = get_type_hints(record_type)
    defaults = record_type._options.defaults
    fields: dict[str, Any] = {
        name: (_schema_type(hints[name]), defaults.get(name, ...))
        for name in record_type._options.fields
    }
    return pydantic.create_model(
        f"{record_type.__name__}Schema",
        __config__=pydantic.ConfigDict(strict=True, extra="ignore"),
        **fields,
    )


def json_schema(record_type: type[faust.Record]) -> dict[str, Any]:
    """The JSON Schema of a record, as its strict validator sees it (for the OpenAPI doc)."""
    return _validator(record_type).model_json_schema()


def describe(error: pydantic.ValidationError) -> str:
    """Summarise validation errors as ``field: problem; ...``."""
    parts = []
    for item in error.errors():
        where = ".".join(str(p) for p in item["loc"]) or "message"
        parts.append(f"{where}: {item['msg']}")
    return "; ".join(parts)


def validate(record_type: type[RecordT], data: Any) -> RecordT:
    """Check a decoded JSON value against a record's schema and build the record."""
    if not isinstance(data, dict):
        raise DecodeError(f"expected a JSON object, got {type(data).__name__}")
    try:
        checked = _validator(record_type).model_validate(data)
    except pydantic.ValidationError as error:
        raise DecodeError(describe(error)) from None
    return record_type.from_data(checked.model_dump())


def decode(record_type: type[RecordT], raw: bytes | None) -> RecordT:
    """Decode UTF-8 JSON bytes into a validated record, or raise :class:`DecodeError`."""
    if raw is None:
        raise DecodeError("empty message (no value)")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise DecodeError("value is not UTF-8 text") from None
    try:
        data = json.loads(text, parse_constant=_refuse_constant)
    except json.JSONDecodeError as error:
        raise DecodeError(f"value is not JSON: {error.msg} at position {error.pos}") from None
    except ValueError as error:
        raise DecodeError(str(error)) from None
    return validate(record_type, data)


def _refuse_constant(name: str) -> Any:
    """NaN and Infinity are not JSON; other clients could not read them back."""
    raise ValueError(f"value is not JSON: {name} is not allowed")


def encode(record: faust.Record) -> bytes:
    """Serialize a record to its public JSON form."""
    return record.dumps()
