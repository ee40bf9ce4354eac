"""A browser polling every console page: one headless Chromium tab per page, each refreshing
on the console's own interval, until SIGTERM or SIGINT.

    python -m benchmarks.console_poller http://127.0.0.1:8050 [--no-render | --browser-idle]

Prints ``POLLING`` once every page has drawn, and on exit ``POLLED {"callbacks": N, ...}``: how
many Dash callbacks the pages made (each one reads the worker's REST API).

``--no-render`` loads each page once in Chromium to learn its callbacks, closes the browser,
then sends those same callbacks to the console every refresh interval: the console server and
the worker do all their work, and no browser draws on this machine's CPUs (as when the operator's
browser runs on their own computer).

``--browser-idle`` keeps the browser drawing every page on this machine, but in Linux's idle
scheduling class, with its session (Playwright starts Chromium in a session of its own, and the
scheduler shares the CPU between sessions first) at the lowest priority: it gets only CPU time
that nothing else wants, which stands in for a browser on the operator's own computer.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

from benchmarks.console import PAGES, launch_chromium
from benchmarks.proc_usage import stat_fields
from console.cpu_priority import autogroup_file, session_group_niceness

#: Tabs in the background must keep their timers running, or the poll would be no poll.
AWAKE = [
    "--disable-background-timer-throttling",
    "--disable-renderer-backgrounding",
    "--disable-backgrounding-occluded-windows",
]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("console")
    parser.add_argument("--no-render", action="store_true")
    parser.add_argument("--refresh-ms", type=int, default=2000, help="with --no-render")
    parser.add_argument("--browser-idle", action="store_true", help="the browser in SCHED_IDLE")
    args = parser.parse_args(argv)
    if args.browser_idle:  # inherited by Playwright's driver and every Chromium process
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    started = time.monotonic()
    if args.no_render:
        calls = replay_callbacks(args.console, stop, args.refresh_ms / 1000)
    else:
        calls = keep_pages_open(args.console, stop, idle=args.browser_idle)
    polled = {**calls, "pages": len(PAGES), "seconds": round(time.monotonic() - started, 1)}
    print(f"POLLED {json.dumps(polled)}", flush=True)


def keep_pages_open(console: str, stop: threading.Event, *, idle: bool = False) -> Counter[str]:
    """One tab per page, drawing every refresh, until ``stop``; the callbacks they made. With
    ``idle``, the browser's session gets the lowest priority (its processes are in the idle
    class already: they inherit it from this one)."""
    from playwright.sync_api import sync_playwright

    calls: Counter[str] = Counter()

    def count(response: Any) -> None:
        if "_dash-update-component" in response.url:
            calls["callbacks"] += 1
            calls[f"status {response.status}"] += 1

    with sync_playwright() as playwright:
        browser = launch_chromium(playwright, *AWAKE)
        if idle:
            lowest_priority_for_sessions_below(os.getpid())
        pages = []
        for path in PAGES:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.on("response", count)
            page.goto(console + path)
            pages.append(page)
        pages[0].wait_for_load_state("networkidle")
        print("POLLING", flush=True)
        while not stop.is_set():
            pages[0].wait_for_timeout(250)  # lets Playwright deliver the pages' events
        browser.close()
    return calls


def lowest_priority_for_sessions_below(ancestor: int) -> None:
    """Every session led by a descendant of ``ancestor`` (Chromium's, under Playwright's
    driver) at the lowest priority of Linux's scheduler autogroups (nice 19)."""
    parents = {}
    for entry in Path("/proc").iterdir():
        fields = stat_fields(int(entry.name)) if entry.name.isdigit() else None
        if fields is not None:  # a process, not gone meanwhile
            parents[int(entry.name)] = (int(fields[1]), int(fields[3]))  # ppid, session
    for pid, (_, session) in parents.items():
        up = pid
        while up in parents and up != ancestor:
            up = parents[up][0]
        if up == ancestor and session == pid and session_group_niceness(pid) is not None:
            autogroup_file(pid).write_text("19")


def page_callbacks(console: str) -> list[str]:
    """The bodies of the callbacks each page makes when it loads (one browser, then closed)."""
    from playwright.sync_api import sync_playwright

    bodies: dict[tuple[str, str], str] = {}
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright, *AWAKE)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        for path in PAGES:
            seen: list[tuple[str, str]] = []
            page.on(
                "request",
                lambda r, seen=seen: (
                    seen.append((r.url, r.post_data or ""))
                    if "_dash-update-component" in r.url
                    else None
                ),
            )
            page.goto(console + path)
            page.wait_for_load_state("networkidle")
            for _url, body in seen:
                bodies[(path, json.loads(body).get("output", "?"))] = body
        browser.close()
    return list(bodies.values())


def replay_callbacks(console: str, stop: threading.Event, every_s: float) -> Counter[str]:
    """Every page's callbacks, sent to the console every ``every_s`` until ``stop``."""
    bodies = page_callbacks(console)
    calls: Counter[str] = Counter()
    print("POLLING", flush=True)
    with httpx.Client(timeout=30) as client:
        while not stop.is_set():
            tick = time.monotonic()
            for body in bodies:
                response = client.post(
                    f"{console}/_dash-update-component",
                    content=body,
                    headers={"Content-Type": "application/json"},
                )
                calls["callbacks"] += 1
                calls[f"status {response.status_code}"] += 1
            stop.wait(max(0.0, every_s - (time.monotonic() - tick)))
    return calls


if __name__ == "__main__":
    main()
