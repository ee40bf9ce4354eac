"""Records written in bulk land in a real Faust RocksDB store as its own changelog recovery would
leave them: the values readable, deleted keys gone, and the persisted offset where recovery
resumes."""

from __future__ import annotations

import asyncio
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import faust
import pytest
from faust.stores.rocksdb import Store
from faust.types import TP

from streamapp.worker.bulk import Records, Written

TOPIC = "app-closed-changelog"


def _store(datadir: Path) -> Any:
    app = faust.App("bulk-landing", store="rocksdb://", datadir=str(datadir))
    table = app.Table("closed", partitions=4)
    return Store("rocksdb://", app, table)


def _delivered(offset: int) -> asyncio.Future[Any]:
    future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
    future.set_result(SimpleNamespace(offset=offset))
    return future


async def _land(store: Any, partition: int, parts: list[tuple[int, Records]]) -> None:
    written = Written(SimpleNamespace(data=store), TOPIC, partition)
    for first, records in parts:
        written.add(_delivered(first), records)
    await written.landed()


@pytest.mark.asyncio
async def test_landed_records_are_stored_with_the_offset_recovery_resumes_from(
    tmp_path: Path,
) -> None:
    store = _store(tmp_path)
    await _land(store, 2, [(40, [(b"a", b"1"), (b"b", b"2")]), (42, [(b"c", b"3")])])
    db = store._db_for_partition(2)
    assert (db[b"a"], db[b"b"], db[b"c"]) == (b"1", b"2", b"3")
    assert store.persisted_offset(TP(TOPIC, 2)) == 42
    assert store.persisted_offset(TP(TOPIC, 1)) is None  # other partitions untouched

    await _land(store, 2, [(43, [(b"a", None), (b"d", b"4")])])
    assert db.get(b"a") is None
    assert db[b"d"] == b"4"
    assert store.persisted_offset(TP(TOPIC, 2)) == 44
    assert sorted(store._visible_keys(db)) == [b"b", b"c", b"d"]  # the offset key stays hidden


@pytest.mark.asyncio
async def test_a_store_reopened_reads_what_landed(tmp_path: Path) -> None:
    store = _store(tmp_path)
    await _land(store, 0, [(7, [(b"k", b"v")])])
    store._dbs[0].close()
    reopened = _store(tmp_path)
    assert reopened._db_for_partition(0)[b"k"] == b"v"
    assert reopened.persisted_offset(TP(TOPIC, 0)) == 7
