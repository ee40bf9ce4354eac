"""Bytes written by an earlier version (on the wire, in RocksDB) still read and write the same."""

from __future__ import annotations

import json
from pathlib import Path

import faust
import pytest

from streamapp.core import records

STORED = json.loads((Path(__file__).parents[1] / "fixtures" / "stored-records.json").read_text())


@pytest.mark.parametrize("name", sorted(STORED["records"]))
def test_stored_bytes_decode_and_encode_to_the_same_bytes(name: str) -> None:
    stored = STORED["records"][name]
    record_type: type[faust.Record] = getattr(records, name)
    assert record_type._options.namespace == stored["namespace"]
    decoded = record_type.loads(stored["bytes"].encode(), serializer="json")
    assert isinstance(decoded, record_type)
    assert decoded.dumps().decode() == stored["bytes"]
