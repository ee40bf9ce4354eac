"""The decoy's archive format: segment names, rotation and bound decisions, records, reading.

An archive is a directory of gzip-compressed JSON Lines segments named
``requests-<epoch ms>-<seq>.jsonl.gz``. Each line is one request exactly as it came off the
requests topic: ``topic``, ``partition``, ``offset``, ``timestamp_ms`` (Kafka's), ``received_ms``
(when the decoy read it), and the key and value as text (``key``, ``value``) when they are UTF-8,
else as base64 (``key_b64``, ``value_b64``), so the bytes come back exactly.
"""

from __future__ import annotations

import base64
import heapq
import json
import re
import zlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SEGMENT_GLOB = "requests-*.jsonl.gz"
_SEGMENT_NAME = re.compile(r"^requests-(\d+)-(\d+)\.jsonl\.gz$")
_READ_CHUNK = 1 << 16


class ArchiveError(ValueError):
    """The archive is missing, empty or holds a line that is not an archived request."""


@dataclass(frozen=True)
class ArchivedRequest:
    """One request as the decoy read it from Kafka; ``key`` and ``value`` are the raw bytes."""

    topic: str
    partition: int
    offset: int
    timestamp_ms: int
    received_ms: int
    key: bytes | None
    value: bytes | None


def segment_name(opened_ms: int, seq: int) -> str:
    """The file name of a segment opened at ``opened_ms``; names sort in opening order."""
    return f"requests-{opened_ms:013d}-{seq:06d}.jsonl.gz"


def segment_order(name: str) -> tuple[int, int] | None:
    """(opened ms, seq) of a segment file name, or None when the name is not a segment's."""
    match = _SEGMENT_NAME.match(name)
    return (int(match[1]), int(match[2])) if match else None


def should_rotate(written_bytes: int, segment_bytes: int) -> bool:
    """Close the open segment once it holds ``segment_bytes`` of uncompressed lines."""
    return written_bytes >= segment_bytes


def segments_to_delete(
    sizes: Sequence[tuple[str, int]], max_bytes: int, *, keep: str | None = None
) -> list[str]:
    """Oldest segments to delete so the total size is at most ``max_bytes``.

    ``sizes`` is (name, compressed bytes) oldest first. ``keep`` (the open segment) is never
    deleted, so it alone may exceed the bound.
    """
    total = sum(size for _, size in sizes)
    doomed = []
    for name, size in sizes:
        if total <= max_bytes:
            break
        if name == keep:
            continue
        doomed.append(name)
        total -= size
    return doomed


def _text_or_b64(field: str, raw: bytes | None) -> dict[str, str | None]:
    if raw is None:
        return {field: None}
    try:
        return {field: raw.decode("utf-8")}
    except UnicodeDecodeError:
        return {f"{field}_b64": base64.b64encode(raw).decode("ascii")}


def _raw_bytes(data: dict[str, Any], field: str) -> bytes | None:
    if f"{field}_b64" in data:
        return base64.b64decode(data[f"{field}_b64"], validate=True)
    text = data.get(field)
    return None if text is None else str(text).encode("utf-8")


def to_line(record: ArchivedRequest) -> bytes:
    """One JSON line (ending in a newline) for a record."""
    data: dict[str, Any] = {
        "topic": record.topic,
        "partition": record.partition,
        "offset": record.offset,
        "timestamp_ms": record.timestamp_ms,
        "received_ms": record.received_ms,
        **_text_or_b64("key", record.key),
        **_text_or_b64("value", record.value),
    }
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8") + b"\n"


def from_line(line: bytes) -> ArchivedRequest:
    """The record of one JSON line, or :class:`ArchiveError`."""
    try:
        data = json.loads(line)
        return ArchivedRequest(
            topic=data["topic"],
            partition=int(data["partition"]),
            offset=int(data["offset"]),
            timestamp_ms=int(data["timestamp_ms"]),
            received_ms=int(data["received_ms"]),
            key=_raw_bytes(data, "key"),
            value=_raw_bytes(data, "value"),
        )
    except (ValueError, KeyError, TypeError) as error:
        raise ArchiveError(f"not an archived request: {error}") from None


def find_segments(path: Path) -> list[Path]:
    """The segment files at ``path`` (one file, or a directory's segments oldest first)."""
    if not path.exists():
        raise ArchiveError(f"no archive at {path}")
    if path.is_file():
        return [path]
    named = [(segment_order(p.name), p) for p in path.glob(SEGMENT_GLOB) if p.is_file()]
    found = sorted((order, p) for order, p in named if order is not None)
    if not found:
        raise ArchiveError(f"no archive segments ({SEGMENT_GLOB}) in {path}")
    return [p for _, p in found]


def _decompressed(path: Path) -> Iterator[bytes]:
    """The uncompressed bytes of a gzip file, every member, stopping quietly at a cut-off end.

    A segment still being written, or left by a crash, ends without a gzip trailer; what was
    flushed before that point is still returned.
    """
    inflater = zlib.decompressobj(wbits=31)
    with path.open("rb") as file:
        while chunk := file.read(_READ_CHUNK):
            while chunk:
                try:
                    yield inflater.decompress(chunk)
                except zlib.error as error:
                    raise ArchiveError(f"{path.name}: not gzip data ({error})") from None
                if not inflater.eof:
                    break
                chunk = inflater.unused_data  # a further gzip member follows
                inflater = zlib.decompressobj(wbits=31)


def read_segment(path: Path) -> Iterator[ArchivedRequest]:
    """Records of one segment in file order; an unfinished last line is left out."""
    pending = b""
    number = 0
    for block in _decompressed(path):
        pending += block
        *lines, pending = pending.split(b"\n")
        for line in lines:
            number += 1
            if not line:
                continue
            try:
                yield from_line(line)
            except ArchiveError as error:
                raise ArchiveError(f"{path.name} line {number}: {error}") from None


def read_archive(segments: Iterable[Path]) -> Iterator[ArchivedRequest]:
    """Records of several segments, in file order."""
    for segment in segments:
        yield from read_segment(segment)


def in_time_order(
    records: Iterable[ArchivedRequest], *, window: int = 10_000
) -> Iterator[ArchivedRequest]:
    """Records by (Kafka timestamp, partition, offset), each (topic, partition, offset) once.

    The decoy writes records as it reads them, so they are close to time order; a reorder
    window of ``window`` records puts them in order without loading the archive. Duplicates
    (after a crash the decoy may archive a request again) are dropped.
    """
    seen: set[tuple[str, int, int]] = set()
    heap: list[tuple[int, int, int, str, ArchivedRequest]] = []
    for record in records:
        where = (record.topic, record.partition, record.offset)
        if where in seen:
            continue
        seen.add(where)
        entry = (record.timestamp_ms, record.partition, record.offset, record.topic, record)
        if len(heap) < window:
            heapq.heappush(heap, entry)
        else:
            yield heapq.heappushpop(heap, entry)[-1]
    while heap:
        yield heapq.heappop(heap)[-1]
