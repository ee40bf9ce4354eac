"""Pure summaries for the capacity benchmark: per-rung figures, overload, recovery, the tables.

Everything here takes plain values (outcomes, send windows, CPU milliseconds) and returns
plain dicts or text; nothing reads a clock, a process or Kafka.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from benchmarks.openloop import Outcome, SendWindow

#: A rung holds when answers keep up with the offer and the preferred model answers in time.
HOLD_THROUGHPUT = 0.95
HOLD_PREFERRED = 0.99
#: Overload passes when throughput stays at this share of the capacity that held.
OVERLOAD_THROUGHPUT = 0.90
#: A second of answers is "on time" when this share arrived within the deadline.
ON_TIME_SHARE = 0.99


@dataclass(frozen=True)
class Usage:
    """What each process used over a measurement: CPU ms, and ms its main thread spent
    runnable but waiting for a CPU (the kernel's run queue: starved by other processes).

    The main thread is the event loop of every Python process here; the JVM broker's main
    thread only waits for the others, so its run-queue wait reads 0 and says nothing.
    """

    cpu_ms: dict[str, float | None]
    wait_ms: dict[str, float | None]
    wall_s: float
    machine_busy_pct: float
    cpus: int

    def _pct(self, values: dict[str, float | None]) -> dict[str, float | None]:
        return {
            n: None if v is None else round(v / (self.wall_s * 10), 1) for n, v in values.items()
        }

    def as_dict(self) -> dict[str, Any]:
        """% of one core per process, run-queue wait %, machine busy %, others' % of a core."""
        cpu_pct = self._pct(self.cpu_ms)
        ours = sum(pct for pct in cpu_pct.values() if pct is not None)
        return {
            "cpu_pct": cpu_pct,
            "runqueue_wait_pct": self._pct(self.wait_ms),
            "machine_busy_pct": round(self.machine_busy_pct, 1),
            "others_core_pct": round(max(0.0, self.machine_busy_pct * self.cpus - ours), 1),
        }


def quantiles(samples: Sequence[float]) -> dict[str, float] | None:
    """n, p50, p99 and max (nearest rank, 0.01 ms), or None without samples."""
    if not samples:
        return None
    ordered = sorted(samples)

    def rank(q: float) -> float:
        return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]

    return {
        "n": len(ordered),
        "p50": round(rank(0.50), 2),
        "p99": round(rank(0.99), 2),
        "max": round(ordered[-1], 2),
    }


def e2e_ms(outcome: Outcome) -> float | None:
    """Request sent -> first answer received, in ms."""
    return None if outcome.answered is None else (outcome.answered - outcome.sent) * 1000


def on_time(outcome: Outcome, deadline_ms: int) -> bool:
    """Answered, as the client saw it, within the request's deadline."""
    latency = e2e_ms(outcome)
    return latency is not None and latency <= deadline_ms


def by_status_rule(outcomes: Iterable[Outcome]) -> dict[str, int]:
    """Answers counted by ``status:model:rule``."""
    counts = Counter(
        f"{o.status}:{o.model or '-'}:{o.rule}" for o in outcomes if o.answered is not None
    )
    return dict(counts.most_common())


def reasons(outcomes: Iterable[Outcome]) -> dict[str, int]:
    """The reasons given with ``no_result`` and ``rejected`` answers, counted."""
    counts = Counter(o.reason for o in outcomes if o.reason is not None)
    return dict(counts.most_common(5))


def answered_between(outcomes: Iterable[Outcome], began: float, ended: float) -> int:
    """How many first answers arrived in [began, ended)."""
    return sum(1 for o in outcomes if o.answered is not None and began <= o.answered < ended)


def summarize_rung(
    window: SendWindow,
    phase: Sequence[Outcome],
    everything: Sequence[Outcome],
    *,
    preferred: str,
    deadline_ms: int,
    usage: Usage,
) -> dict[str, Any]:
    """One rung's figures; ``held`` says whether the system kept up with this rate.

    ``others_core_pct`` is the CPU (in % of one core) that processes other than the measured
    ones used meanwhile, and ``runqueue_wait_pct`` how long each main thread waited for a CPU:
    on a shared machine, the noise under the figures.
    """
    seconds = window.ended - window.began
    answered = [o for o in phase if o.answered is not None]
    preferred_on_time = sum(
        1 for o in answered if o.status == "ok" and o.model == preferred and on_time(o, deadline_ms)
    )
    sent = max(window.sent, 1)
    row: dict[str, Any] = {
        "offered_per_s": window.rate,
        "seconds": round(seconds, 2),
        "sent": window.sent,
        "sent_per_s": round(window.sent / seconds, 1),
        "send_errors": window.send_errors,
        "sender_lag_ms": quantiles(window.lag_ms),
        "answered_per_s": round(
            answered_between(everything, window.began, window.ended) / seconds, 1
        ),
        "answered": len(answered),
        "missing": window.sent - len(answered),
        "duplicates": sum(o.duplicates for o in phase),
        "preferred_on_time_share": round(preferred_on_time / sent, 4),
        "on_time_share": round(sum(on_time(o, deadline_ms) for o in answered) / sent, 4),
        "late_flagged": sum(o.late_flag for o in answered),
        "answers": by_status_rule(answered),
        "reasons": reasons(answered),
        "e2e_ms": quantiles([(o.answered - o.sent) * 1000 for o in answered if o.answered]),
        "direct_ms": quantiles([(o.score_at - o.sent) * 1000 for o in phase if o.score_at]),
        "rendezvous_added_ms": quantiles(
            [(o.answered - o.score_at) * 1000 for o in answered if o.answered and o.score_at]
        ),
        "cpu_ms_per_request": {
            name: None if ms is None else round(ms / sent, 3) for name, ms in usage.cpu_ms.items()
        },
        **usage.as_dict(),
        "per_second": latency_per_second(phase, window.began, max(1, round(seconds)), deadline_ms),
    }
    row["held"] = (
        row["answered_per_s"] >= HOLD_THROUGHPUT * window.rate
        and row["preferred_on_time_share"] >= HOLD_PREFERRED
        and row["missing"] == 0
    )
    row["sender_kept_schedule"] = row["sent_per_s"] >= 0.99 * window.rate
    return row


def per_second(
    everything: Sequence[Outcome], began: float, seconds: int, deadline_ms: int
) -> list[dict[str, Any]]:
    """Per second from ``began``: answers received, and the share of them that was on time."""
    bins: list[list[Outcome]] = [[] for _ in range(seconds)]
    for outcome in everything:
        if outcome.answered is not None and outcome.answered >= began:
            index = int(outcome.answered - began)
            if index < seconds:
                bins[index].append(outcome)
    return [
        {
            "second": n,
            "answered": len(b),
            "on_time_share": round(sum(on_time(o, deadline_ms) for o in b) / len(b), 3)
            if b
            else None,
        }
        for n, b in enumerate(bins)
    ]


def latency_per_second(
    phase: Sequence[Outcome], began: float, seconds: int, deadline_ms: int
) -> list[dict[str, Any]]:
    """Per second of sending from ``began``: requests sent, the share answered within the
    deadline, and their end-to-end p99 (a missing answer counts as late), so a rung that fails
    shows whether its late answers came in one stall or all along. A request sent in the
    moments after the last whole second (the sender ends a little late) counts in that second."""
    bins: list[list[Outcome]] = [[] for _ in range(seconds)]
    for outcome in phase:
        index = int(outcome.sent - began)
        if index >= 0:
            bins[min(index, seconds - 1)].append(outcome)
    series = []
    for n, sent in enumerate(bins):
        latencies = [e2e_ms(o) for o in sent]
        answered = [ms for ms in latencies if ms is not None]
        stats = quantiles(answered)
        series.append(
            {
                "second": n,
                "sent": len(sent),
                "on_time_share": round(sum(on_time(o, deadline_ms) for o in sent) / len(sent), 3)
                if sent
                else None,
                "e2e_p99_ms": None if stats is None else stats["p99"],
            }
        )
    return series


def phase_counts(phase: Sequence[Outcome], deadline_ms: int) -> dict[str, Any]:
    """Counts of a phase's requests: answered, missing, no_result, late, over the deadline."""
    answered = [o for o in phase if o.answered is not None]
    return {
        "sent": len(phase),
        "answered": len(answered),
        "missing": len(phase) - len(answered),
        "no_result": sum(o.status == "no_result" for o in answered),
        "late_flagged": sum(o.late_flag for o in answered),
        "over_deadline": sum(not on_time(o, deadline_ms) for o in answered),
        "answers": by_status_rule(answered),
        "reasons": reasons(answered),
        "e2e_ms": quantiles([(o.answered - o.sent) * 1000 for o in answered if o.answered]),
        "direct_ms": quantiles([(o.score_at - o.sent) * 1000 for o in phase if o.score_at]),
    }


def summarize_idle(usage: Usage) -> dict[str, Any]:
    """What every process costs with no traffic (% of one core): the floor under each rung."""
    return {"seconds": round(usage.wall_s, 1), **usage.as_dict()}


def summarize_overload(
    window: SendWindow,
    phase: Sequence[Outcome],
    everything: Sequence[Outcome],
    *,
    capacity_per_s: float | None,
    deadline_ms: int,
    usage: Usage | None = None,
) -> dict[str, Any]:
    """Throughput while offered more than the capacity, and what the answers looked like;
    with ``usage`` (measured while sending), what each process used meanwhile, per answer."""
    seconds = max(1, round(window.ended - window.began))
    series = per_second(everything, window.began, seconds, deadline_ms)
    mean = sum(s["answered"] for s in series) / seconds
    share = None if not capacity_per_s else round(mean / capacity_per_s, 3)
    used: dict[str, Any] = {}
    if usage is not None:
        answers = max(1, answered_between(everything, window.began, window.ended))
        used = {
            "cpu_ms_per_answer": {
                name: None if ms is None else round(ms / answers, 3)
                for name, ms in usage.cpu_ms.items()
            },
            **usage.as_dict(),
        }
    return {
        "offered_per_s": window.rate,
        "sent_per_s": round(window.sent / (window.ended - window.began), 1),
        "send_errors": window.send_errors,
        "sender_lag_ms": quantiles(window.lag_ms),
        "capacity_per_s": capacity_per_s,
        "answered_per_s": round(mean, 1),
        "share_of_capacity": share,
        "throughput_held": share is not None and share >= OVERLOAD_THROUGHPUT,
        "per_second": series,
        **used,
        **phase_counts(phase, deadline_ms),
    }


def summarize_recovery(
    window: SendWindow,
    phase: Sequence[Outcome],
    everything: Sequence[Outcome],
    *,
    overload_ended: float,
    deadline_ms: int,
) -> dict[str, Any]:
    """How long after the overload answers came on time again (by when they were received)."""
    seconds = max(1, round(window.ended - overload_ended))
    series = per_second(everything, overload_ended, seconds, deadline_ms)
    recovered: int | None = None
    for s in reversed(series):
        if s["on_time_share"] is None or s["on_time_share"] < ON_TIME_SHARE:
            break
        recovered = s["second"]
    return {
        "offered_per_s": window.rate,
        "sent_per_s": round(window.sent / (window.ended - window.began), 1),
        "on_time_again_after_s": recovered,
        "per_second": series,
        **phase_counts(phase, deadline_ms),
    }


def _pair(stats: dict[str, float] | None) -> str:
    return "-" if stats is None else f"{stats['p50']:.1f}/{stats['p99']:.1f}"


def _cpu_cell(ms: float | None, pct: float | None, wait: float | None) -> str:
    if pct is None:
        return f"{'-':>22}"
    per_request = f"{ms:>7.3f}" if ms is not None else f"{'':>7}"
    return f"{per_request} ({pct:>5.1f}%, {wait if wait is not None else 0:>4.1f}%)"


def _second_cell(second: dict[str, Any]) -> str:
    if second["on_time_share"] is None:
        return "-"
    p99 = second["e2e_p99_ms"]
    return f"{second['on_time_share']:.2f}/" + ("none answered" if p99 is None else f"{p99:.0f}")


def rung_table(rows: Sequence[dict[str, Any]], idle: dict[str, Any] | None = None) -> str:
    """The ladder as text: throughput and latency, then CPU-ms per request per process."""
    head = (
        f"{'offered':>8} {'sent/s':>7} {'lag p99':>7} {'answ/s':>7} {'miss':>5} {'pref ok%':>8} "
        f"{'e2e p50/p99':>14} {'direct p50/p99':>15} {'added p50/p99':>14} {'busy%':>6} "
        f"{'others%':>7} held"
    )
    lines = [
        "latencies in ms; pref ok% = answered ok by the preferred model within the deadline; "
        "busy% = whole machine; others% = CPU of unmeasured processes, % of one core",
        head,
    ]
    for r in rows:
        lag = r["sender_lag_ms"]["p99"] if r["sender_lag_ms"] else 0.0
        lines.append(
            f"{r['offered_per_s']:>8g} {r['sent_per_s']:>7.1f} {lag:>7.1f} "
            f"{r['answered_per_s']:>7.1f} {r['missing']:>5} "
            f"{100 * r['preferred_on_time_share']:>8.2f} {_pair(r['e2e_ms']):>14} "
            f"{_pair(r['direct_ms']):>15} {_pair(r['rendezvous_added_ms']):>14} "
            f"{r['machine_busy_pct']:>6.1f} {r['others_core_pct']:>7.1f} "
            f"{'yes' if r['held'] else 'NO'}"
            + ("  (console polled)" if r.get("console_polled") else "")
        )
    names = list(rows[0]["cpu_ms_per_request"]) if rows else []
    lines.append("")
    lines.append(
        "CPU ms per request (% of one core, % of the time its main thread waited for a CPU):"
    )
    lines.append(f"{'offered':>8} " + " ".join(f"{n:>22}" for n in names))
    for r in rows:
        cells = [
            _cpu_cell(r["cpu_ms_per_request"][n], r["cpu_pct"][n], r["runqueue_wait_pct"][n])
            for n in names
        ]
        lines.append(f"{r['offered_per_s']:>8g} " + " ".join(cells))
    if idle is not None:
        cells = [
            _cpu_cell(None, idle["cpu_pct"].get(n), idle["runqueue_wait_pct"].get(n)) for n in names
        ]
        lines.append(f"{'idle':>8} " + " ".join(cells) + f"  (others {idle['others_core_pct']}%)")
    lines.append("")
    lines.append("answers by status:model:rule:")
    for r in rows:
        lines.append(f"{r['offered_per_s']:>8g} {r['answers']} {r['reasons'] or ''}")
    failed = [r for r in rows if not r["held"] and r.get("per_second")]
    if failed:
        lines.append("")
        lines.append("rungs that did not hold, each second of sending: on-time share / e2e p99 ms")
    for r in failed:
        seconds = " ".join(_second_cell(s) for s in r["per_second"])
        lines.append(f"{r['offered_per_s']:>8g} {seconds}")
    return "\n".join(lines)


def phase_text(name: str, summary: dict[str, Any]) -> str:
    """The overload or recovery summary as text, with its per-second answers."""
    series = " ".join(str(s["answered"]) for s in summary["per_second"])
    lines = [
        f"{name}: offered {summary['offered_per_s']:g}/s, sent {summary['sent_per_s']}/s, "
        f"sent {summary['sent']}, answered {summary['answered']}, missing {summary['missing']}, "
        f"no_result {summary['no_result']}, late-flagged {summary['late_flagged']}, "
        f"over deadline {summary['over_deadline']}, e2e p50/p99 {_pair(summary['e2e_ms'])} ms",
        f"  answers/s each second: {series}",
        f"  answers: {summary['answers']}",
        f"  reasons: {summary['reasons']}",
    ]
    if "share_of_capacity" in summary:
        lines.append(
            f"  throughput {summary['answered_per_s']}/s = {summary['share_of_capacity']} of "
            f"capacity {summary['capacity_per_s']}/s (>= {OVERLOAD_THROUGHPUT}: "
            f"{summary['throughput_held']})"
        )
    if "cpu_ms_per_answer" in summary:
        pct, wait = summary["cpu_pct"], summary["runqueue_wait_pct"]
        cells = ", ".join(
            f"{name} {_cpu_cell(ms, pct[name], wait[name]).strip()}"
            for name, ms in summary["cpu_ms_per_answer"].items()
        )
        lines.append(
            f"  CPU ms per answer while sending (% of one core, % waiting for a CPU): {cells}; "
            f"machine {summary['machine_busy_pct']}% busy"
        )
    if "on_time_again_after_s" in summary:
        shares = " ".join(
            "-" if s["on_time_share"] is None else f"{s['on_time_share']:.2f}"
            for s in summary["per_second"]
        )
        lines.append(f"  on-time share each second: {shares}")
        lines.append(
            f"  answers on time again {summary['on_time_again_after_s']} s after the overload"
        )
    return "\n".join(lines)
