"""Summarise a py-spy raw (folded) profile: each function's own and inclusive share of samples.

    py-spy record -f raw -r 200 -p <pid> -d 20 -o profile.txt
    python -m benchmarks.profile_summary profile.txt [--top 25] [--lines] [--json]

Each line of a raw profile is ``frame;frame;...;frame COUNT`` (outermost first), a frame being
``function (file:line)``. A function's *self* samples are those where it is the innermost
frame; its *total* (inclusive) samples are those where it is anywhere on the stack, counted
once per stack even when it recurses. Functions are keyed by name and file; ``--lines``
keeps the line numbers apart.
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


@dataclass(frozen=True)
class Summary:
    """Samples per function: where it was innermost (self) and anywhere on the stack (total)."""

    samples: int
    own: Counter[str]
    total: Counter[str]

    def top(self, by: str, count: int) -> list[tuple[str, float, float]]:
        """The ``count`` functions with most ``by`` ("self" or "total") samples, as
        (function, self %, total %)."""
        ranking = self.own if by == "self" else self.total
        scale = 100 / max(1, self.samples)
        return [
            (name, self.own[name] * scale, self.total[name] * scale)
            for name, _ in ranking.most_common(count)
        ]


def frame_key(frame: str, *, lines: bool) -> str:
    """A frame as a function key: ``name (file)``, or ``name (file:line)`` with ``lines``."""
    return frame if lines else _LINE_NUMBER.sub(")", frame)


def summarize(folded: Iterable[str], *, lines: bool = False) -> Summary:
    """Aggregate folded stack lines into per-function self and inclusive sample counts."""
    own: Counter[str] = Counter()
    total: Counter[str] = Counter()
    samples = 0
    for line in folded:
        stack, _, count_text = line.rstrip("\n").rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [frame_key(frame, lines=lines) for frame in stack.split(";")]
        samples += count
        own[frames[-1]] += count
        for name in set(frames):
            total[name] += count
    return Summary(samples, own, total)


def table(summary: Summary, by: str, count: int) -> str:
    """A text table of the top functions by self or total samples."""
    rows = [
        f"top {count} by {by} ({summary.samples} samples)",
        f"{'self%':>7} {'total%':>7}  function",
    ]
    rows += [f"{own:>7.2f} {total:>7.2f}  {name}" for name, own, total in summary.top(by, count)]
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> None:
    """Print the top functions by self and by total samples (or JSON with ``--json``)."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("profile", type=Path, help="py-spy raw output (-f raw)")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--lines", action="store_true", help="keep line numbers apart")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead")
    args = parser.parse_args(argv)
    with args.profile.open(errors="replace") as folded:
        summary = summarize(folded, lines=args.lines)
    if args.json:
        print(
            json.dumps(
                {
                    "samples": summary.samples,
                    "by_self": summary.top("self", args.top),
                    "by_total": summary.top("total", args.top),
                }
            )
        )
        return
    print(table(summary, "self", args.top))
    print()
    print(table(summary, "total", args.top))


if __name__ == "__main__":
    main()
