"""The worker's statistics reports, built in a child process of their own.

Building a report decodes sketches for every bucket of the window: milliseconds to seconds of
CPU. In a thread of the worker it took the worker's interpreter lock in turns with the event
loop, where the deadline clock runs. Here it runs in a process of its own, at a lower priority,
and the worker only hands over bucket bytes and sends back the JSON it gets.

    python -m streamapp.processes.stats_reports <worker pid>

A frame is a 4-byte big-endian length, then the body. A request is a frame holding the pickled
``(kind, arguments, sizes)``, then the stored bucket values themselves, as they came from the
table, one after another (``sizes``: their keys and lengths): the worker writes them as they are,
neither pickled nor copied, so that its event loop is never held by a large window. A reply is
a frame of one status byte (0: the JSON report follows; 1: the error follows, as text). The
process ends when the worker closes its stdin or dies. It imports no Faust app: only the pure
report, orjson and the standard library.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import pickle
import signal
import struct
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any, BinaryIO

import orjson

from streamapp.stats.report import local_buckets, report

HEADER = struct.Struct(">I")
OK, FAILED = b"\x00", b"\x01"
#: How far below the worker the reports run (niceness steps): answers get the CPU first.
REPORT_NICENESS = 10
#: As Faust's web views encode JSON (dict keys may be numbers; datetimes in UTC with a Z).
JSON_OPTIONS = orjson.OPT_NON_STR_KEYS | orjson.OPT_UTC_Z
PR_SET_PDEATHSIG = 1


def frame(body: bytes) -> bytes:
    """``body`` with its length in front."""
    return HEADER.pack(len(body)) + body


def read_frame(stream: BinaryIO) -> bytes | None:
    """The next frame's body, or None at the end of the stream."""
    header = stream.read(HEADER.size)
    if len(header) < HEADER.size:
        return None
    (length,) = HEADER.unpack(header)
    body = stream.read(length)
    return body if len(body) == length else None


def local_part(
    *,
    stored: Mapping[tuple[int, int], bytes],
    unwritten: Mapping[tuple[int, int], Mapping[str, Any]],
    since: int,
    until: int,
    worker: Mapping[str, Any],
) -> dict[str, Any]:
    """One worker's part of a report, as a peer asks for it: its buckets, decoded."""
    return {"raw_buckets": local_buckets(stored, unwritten, since, until), "worker": worker}


def whole_report(
    *,
    stored: Mapping[tuple[int, int], bytes],
    unwritten: Mapping[tuple[int, int], Mapping[str, Any]],
    since: int,
    until: int,
    peer_buckets: Sequence[Mapping[str, Any]],
    workers: Sequence[Mapping[str, Any]],
    **options: Any,
) -> dict[str, Any]:
    """The report over this worker's buckets and its peers' (``options``: ``report``'s)."""
    buckets = [*local_buckets(stored, unwritten, since, until), *peer_buckets]
    body = report(
        buckets,
        since_ms=since,
        until_ms=until,
        pending=sum(int(w.get("pending_mailboxes", 0)) for w in workers),
        **options,
    )
    body["workers"] = {str(w.get("worker_id")): w for w in workers}
    return body


KINDS: dict[str, Callable[..., dict[str, Any]]] = {"local": local_part, "report": whole_report}


def request_parts(kind: str, arguments: Mapping[str, Any]) -> list[bytes]:
    """What the worker writes for one request, in order (``arguments["stored"]``: the bucket
    values, sent as they are)."""
    stored: Mapping[tuple[int, int], bytes] = arguments["stored"]
    rest = {name: value for name, value in arguments.items() if name != "stored"}
    sizes = [(key, len(value)) for key, value in stored.items()]
    meta = pickle.dumps((kind, rest, sizes), protocol=pickle.HIGHEST_PROTOCOL)
    return [HEADER.pack(len(meta)), meta, *stored.values()]


def read_request(stream: BinaryIO) -> tuple[str, dict[str, Any]] | None:
    """The next request's kind and arguments, or None at the end of the stream."""
    meta = read_frame(stream)
    if meta is None:
        return None
    kind, arguments, sizes = pickle.loads(meta)
    stored = {}
    for key, size in sizes:
        value = stream.read(size)
        if len(value) < size:
            return None
        stored[key] = value
    return kind, {**arguments, "stored": stored}


def answer(kind: str, arguments: Mapping[str, Any]) -> bytes:
    """The reply to one request: the JSON body, or the error that stopped it."""
    try:
        return OK + orjson.dumps(KINDS[kind](**arguments), option=JSON_OPTIONS)
    except Exception as error:  # reported to the worker, which answers 500 and goes on
        return FAILED + f"{type(error).__name__}: {error}".encode()


def die_with(parent: int) -> None:
    """Have the kernel end this process when ``parent`` ends (Linux), even by SIGKILL."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # it ended before the request above was made
        raise SystemExit(0)


def serve(requests: BinaryIO, replies: BinaryIO) -> None:
    """Answer requests until their stream ends."""
    while (request := read_request(requests)) is not None:
        replies.write(frame(answer(*request)))
        replies.flush()


def main() -> None:
    """Serve the worker that started this process (its pid is the one argument)."""
    die_with(int(sys.argv[1]))
    with contextlib.suppress(OSError):  # not permitted: reports run at the worker's priority
        os.nice(REPORT_NICENESS)
    requests, replies = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # nothing else may write into the replies' pipe
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a Ctrl-C stops the worker, which closes us
    serve(requests, replies)


if __name__ == "__main__":
    main()
