"""Summarise a py-spy raw (folded) profile: each function's own and inclusive share of samples.

    py-spy record -f raw -r 200 -p <pid> -d 20 -o profile.txt
    python -m benchmarks.profile_summary profile.txt [--top 25] [--trunk 90] [--lines]
        [--keep-idle] [--json]

Each line of a raw profile is ``frame;frame;...;frame COUNT`` (outermost first), a frame being
``function (file:line)``. A function's *self* samples are those where it is the innermost
frame; its *total* (inclusive) samples are those where it is anywhere on the stack, counted
once per stack even when it recurses. Functions are keyed by name and file; ``--lines``
keeps the line numbers apart.

py-spy also samples threads that wait in a selector (an event loop with nothing to do, such
as Faust's web thread), so stacks whose innermost frame is such a wait are left out and the
shares are of the busy samples; ``--keep-idle`` counts them too. The inclusive table leaves
out the trunk, functions on more than ``--trunk`` % of the stacks (event loop, CLI entry).
"""

from __future__ import annotations

import argparse
import json
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

_LINE_NUMBER = re.compile(r":\d+\)$")
#: Innermost frames that mean "waiting, not working": selector waits and thread waits.
_IDLE = re.compile(r"^\w*Selector\.select \(selectors\.py|^(Condition\.)?wait \(threading\.py")


@dataclass(frozen=True)
class Summary:
    """Samples per function: where it was innermost (self) and anywhere on the stack (total)."""

    samples: int
    own: Counter[str]
    total: Counter[str]
    idle: int = 0  # samples left out as waits

    def top(self, by: str, count: int, trunk: float = 100.0) -> list[tuple[str, float, float]]:
        """The ``count`` functions with most ``by`` ("self" or "total") samples, as
        (function, self %, total %); by total, functions on more than ``trunk`` % of the
        stacks (the event loop, the CLI entry) are left out."""
        ranking = self.own if by == "self" else self.total
        scale = 100 / max(1, self.samples)
        rows = [
            (name, self.own[name] * scale, self.total[name] * scale)
            for name, _ in ranking.most_common()
            if by == "self" or self.total[name] * scale <= trunk
        ]
        return rows[:count]


def frame_key(frame: str, *, lines: bool) -> str:
    """A frame as a function key: ``name (file)``, or ``name (file:line)`` with ``lines``."""
    return frame if lines else _LINE_NUMBER.sub(")", frame)


def summarize(folded: Iterable[str], *, lines: bool = False, keep_idle: bool = False) -> Summary:
    """Aggregate folded stack lines into per-function self and inclusive sample counts."""
    own: Counter[str] = Counter()
    total: Counter[str] = Counter()
    samples = idle = 0
    for line in folded:
        stack, _, count_text = line.rstrip("\n").rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [frame_key(frame, lines=lines) for frame in stack.split(";")]
        if not keep_idle and _IDLE.match(frames[-1]):
            idle += count
            continue
        samples += count
        own[frames[-1]] += count
        for name in set(frames):
            total[name] += count
    return Summary(samples, own, total, idle)


def table(summary: Summary, by: str, count: int, trunk: float = 100.0) -> str:
    """A text table of the top functions by self or total samples."""
    waits = f", {summary.idle} waiting samples left out" if summary.idle else ""
    trunk_note = f", functions on > {trunk:g}% of stacks left out" if by == "total" else ""
    rows = [
        f"top {count} by {by} (% of {summary.samples} busy samples{waits}{trunk_note})",
        f"{'self%':>7} {'total%':>7}  function",
    ]
    top = summary.top(by, count, trunk)
    rows += [f"{own:>7.2f} {total:>7.2f}  {name}" for name, own, total in top]
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> None:
    """Print the top functions by self and by total samples (or JSON with ``--json``)."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("profile", type=Path, help="py-spy raw output (-f raw)")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--lines", action="store_true", help="keep line numbers apart")
    parser.add_argument("--trunk", type=float, default=90.0, help="by total: hide above this %%")
    parser.add_argument("--keep-idle", action="store_true", help="count selector waits too")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead")
    args = parser.parse_args(argv)
    with args.profile.open(errors="replace") as folded:
        summary = summarize(folded, lines=args.lines, keep_idle=args.keep_idle)
    if args.json:
        top = {
            "by_self": summary.top("self", args.top),
            "by_total": summary.top("total", args.top, args.trunk),
        }
        print(json.dumps({"samples": summary.samples, "idle_samples": summary.idle, **top}))
        return
    print(table(summary, "self", args.top))
    print()
    print(table(summary, "total", args.top, args.trunk))


if __name__ == "__main__":
    main()
