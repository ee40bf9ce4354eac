"""The archive writer: appends archived requests to rotating gzip segments, bounded in size."""

from __future__ import annotations

import contextlib
import gzip
import logging
import os
import time
from pathlib import Path
from typing import BinaryIO

from streamapp.archive.format import (
    SEGMENT_GLOB,
    ArchivedRequest,
    segment_name,
    segment_order,
    segments_to_delete,
    should_rotate,
    to_line,
)

log = logging.getLogger(__name__)
COMPRESS_LEVEL = 6


class ArchiveWriter:
    """Appends records to rotating gzip segments in one directory, deleting the oldest.

    After every :meth:`flush` and rotation the archive holds at most ``max_bytes`` (unless the
    open segment alone is larger); in between it grows only by the open segment's new bytes.
    """

    def __init__(self, directory: Path, *, segment_bytes: int, max_bytes: int) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.directory = directory
        self.segment_bytes = segment_bytes
        self.max_bytes = max_bytes
        self.archived = 0
        self.rotations = 0
        self.deleted = 0
        existing = sorted(
            (order, p) for p in directory.glob(SEGMENT_GLOB) if (order := segment_order(p.name))
        )
        self._closed = [(p.name, p.stat().st_size) for _, p in existing]
        self._seq = 0
        self._name: str | None = None
        self._raw: BinaryIO | None = None
        self._gzip: gzip.GzipFile | None = None
        self._written = 0
        self._dirty = False

    @property
    def total_bytes(self) -> int:
        """Compressed bytes of all segments, the open one as far as it has been written."""
        open_bytes = self._raw.tell() if self._raw is not None else 0
        return sum(size for _, size in self._closed) + open_bytes

    @property
    def dirty(self) -> bool:
        """True when records were written since the last flush."""
        return self._dirty

    def write(self, record: ArchivedRequest) -> None:
        """Append one record, closing the segment once it is full."""
        if self._gzip is None:
            self._open()
        assert self._gzip is not None
        line = to_line(record)
        self._gzip.write(line)
        self._written += len(line)
        self.archived += 1
        self._dirty = True
        if should_rotate(self._written, self.segment_bytes):
            self._close_segment()
            self._prune()

    def flush(self) -> None:
        """Make everything written so far readable and durable, then enforce the bound."""
        if self._gzip is not None and self._raw is not None:
            self._gzip.flush()  # zlib sync flush: the bytes so far decompress on their own
            self._raw.flush()
            os.fsync(self._raw.fileno())
        self._dirty = False
        self._prune()

    def close(self) -> None:
        """Finish the open segment (gzip trailer included) and enforce the bound."""
        self._close_segment()
        self._dirty = False
        self._prune()

    def _open(self) -> None:
        path = self.directory / segment_name(int(time.time() * 1000), self._seq)
        while path.exists():
            self._seq += 1
            path = self.directory / segment_name(int(time.time() * 1000), self._seq)
        self._seq += 1
        self._name = path.name
        self._raw = path.open("xb")
        self._gzip = gzip.GzipFile(
            filename="", mode="wb", compresslevel=COMPRESS_LEVEL, fileobj=self._raw
        )
        self._written = 0

    def _close_segment(self) -> None:
        if self._gzip is None or self._raw is None or self._name is None:
            return
        self._gzip.close()
        self._raw.flush()
        os.fsync(self._raw.fileno())
        size = self._raw.tell()
        self._raw.close()
        self._closed.append((self._name, size))
        self.rotations += 1
        log.info(
            "decoy closed segment %s (%d bytes uncompressed, %d compressed)",
            self._name,
            self._written,
            size,
        )
        self._name, self._raw, self._gzip = None, None, None

    def _prune(self) -> None:
        sizes = list(self._closed)
        if self._name is not None and self._raw is not None:
            sizes.append((self._name, self._raw.tell()))
        doomed = set(segments_to_delete(sizes, self.max_bytes, keep=self._name))
        for name in doomed:
            with contextlib.suppress(FileNotFoundError):
                (self.directory / name).unlink()
            self.deleted += 1
            log.info("decoy deleted segment %s to stay within %d bytes", name, self.max_bytes)
        self._closed = [entry for entry in self._closed if entry[0] not in doomed]
