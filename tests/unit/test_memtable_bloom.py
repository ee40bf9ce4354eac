"""The worker's RocksDB tables get a memtable bloom filter, and still store and find keys."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import rocksdict
from faust.stores.rocksdb import RocksDBOptions

from streamapp.worker import memtable_bloom


class RecordedOptions:
    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []

    def set_memtable_prefix_bloom_ratio(self, ratio: float) -> None:
        self.calls.append(("ratio", ratio))

    def set_memtable_whole_key_filtering(self, enabled: bool) -> None:
        self.calls.append(("whole_key", enabled))


def test_the_options_filter_whole_keys_in_the_memtable() -> None:
    options = RecordedOptions()

    assert memtable_bloom.with_memtable_bloom(options) is options
    assert options.calls == [("ratio", memtable_bloom.MEMTABLE_BLOOM_RATIO), ("whole_key", True)]


def test_installed_twice_the_options_still_open_a_store_that_finds_and_misses_keys(
    tmp_path: Path,
) -> None:
    memtable_bloom.install()
    memtable_bloom.install()  # a second install leaves the first in place
    patched = RocksDBOptions.as_options
    memtable_bloom.install()
    assert RocksDBOptions.as_options is patched

    options = RocksDBOptions(use_rocksdict=True)
    db = options.open(tmp_path / "closed")
    try:
        keys = [f"request-{n}".encode() for n in range(2000)]
        for key in keys:
            db[key] = b"closed:" + key
        assert all(db.get(key) == b"closed:" + key for key in keys)
        assert db.get(b"request-2000") is None and db.get(b"never-seen") is None
    finally:
        db.close()
    assert isinstance(options.as_options(), rocksdict.Options)
