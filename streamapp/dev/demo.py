"""``rendezvous demo``: a whole system on this machine with steady traffic, stopped by Ctrl-C."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import secrets
import signal
import statistics
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

from streamapp.dev import kafka as devkafka
from streamapp.dev.ports import free_dev_ports
from streamapp.kafka_admin import ensure_topics
from streamapp.processes.model import hosted_name
from streamapp.settings import Settings

#: The demo's model processes (``rendezvous model ...`` arguments): they race on purpose.
DEMO_MODELS: tuple[tuple[str, ...], ...] = (
    ("forest", "--latency", "lognormal:40:0.7", "--error-rate", "0.05", "--fault-seed", "1"),
    ("linear", "--latency", "normal:8:3", "--error-rate", "0.1", "--fault-seed", "2"),
    ("mlp", "--latency", "lognormal:15:0.5", "--fault-seed", "3"),
    ("rules",),
    ("canary",),
)
#: The registry the demo starts from (only on a fresh broker; later changes persist).
DEMO_REGISTRY = {
    "forest": {"state": "live", "priority": 30},
    "linear": {"state": "live", "priority": 20},
    "mlp": {"state": "shadow", "priority": 25},
    "rules": {"state": "live", "priority": 0, "backstop": True},
}
#: After 80 ms, accept a live model of priority >= 20 (linear) if forest is still thinking.
DEMO_POLICY = {"steps": [{"after_ms": 80, "min_priority": 20}]}


def reported_names(argv: tuple[str, ...]) -> list[str]:
    """The names a model process's Scores carry: its ``--as`` alias, else the models it is
    given (``rendezvous model`` argv, the names before any option)."""
    if "--as" in argv:
        return [argv[argv.index("--as") + 1]]
    names = []
    for arg in argv:
        if arg.startswith("-"):
            break
        names.append(arg)
    return names


def model_name(argv: tuple[str, ...]) -> str:
    """The name a model process goes by (its logs, its consumer group): the names it reports
    under, sorted and joined by ``+`` when it hosts several."""
    return hosted_name(reported_names(argv))


class DemoTraffic:
    """Held-out rows of the example data, as request payloads."""

    def __init__(self, seed: int = 42) -> None:
        from models.dataset import payload_from_row, split

        self._payloads = [payload_from_row(row) for row in split(seed).x_test]
        self._rng = random.Random(seed)

    def payload(self) -> dict[str, Any]:
        """A random held-out row."""
        return self._rng.choice(self._payloads)


def ensure_trained() -> None:
    """Train the example models once (seconds), saying so."""
    from models import artifacts
    from models.training import BUILDERS, train

    missing = [name for name in BUILDERS if artifacts.latest_version(name) is None]
    if not missing:
        return
    print(f"[demo] training {', '.join(missing)} (seed 42) ...", flush=True)
    for name in missing:
        result = train(name, 42)
        print(f"  {name}: {result.version}, held-out accuracy {result.accuracy:.3f}", flush=True)


class Children:
    """The demo's child processes, each logging to a file, stopped in reverse order."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.started: list[tuple[str, subprocess.Popen[bytes]]] = []

    def spawn(
        self, name: str, *args: str, env: dict[str, str] | None = None
    ) -> subprocess.Popen[bytes]:
        """Start ``rendezvous ARGS`` in its own session, logging to ``<name>.log``."""
        with (self.log_dir / f"{name}.log").open("ab") as log:  # the child keeps its own copy
            process = subprocess.Popen(
                [sys.executable, "-m", "streamapp", *args],
                env={**os.environ, **(env or {})},
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        self.started.append((name, process))
        return process

    def stop_all(self) -> None:
        for name, process in reversed(self.started):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
            print(f"  stopped {name}")


def wait_until_serving(
    url: str, process: subprocess.Popen[bytes], *, exited: str, timed_out: str, timeout_s: float
) -> None:
    """Block until ``url`` answers 200 (bounded); raise with ``exited`` if the process dies."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(exited)
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise RuntimeError(timed_out)


def wait_for_worker(url: str, process: subprocess.Popen[bytes], timeout_s: float = 90) -> None:
    """Block until the worker's /health answers 200 (bounded)."""
    wait_until_serving(
        url,
        process,
        exited="the worker exited during start-up; see its log",
        timed_out=f"the worker was not ready within {timeout_s:.0f}s",
        timeout_s=timeout_s,
    )


def wait_for_model(log: Path, name: str, timeout_s: float = 60) -> None:
    """Block until a model (or the decoy) reports that it has partitions (bounded)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        text = log.read_text(errors="replace") if log.exists() else ""
        if any(f"{name} " in line and " ready: " in line for line in text.splitlines()):
            return
        time.sleep(0.2)
    raise RuntimeError(f"{name} was not ready within {timeout_s:.0f}s")


async def traffic(
    settings: Settings, rate: float, duration_s: float | None, stop: asyncio.Event
) -> None:
    """Send requests at ``rate``/s with the client library, print a summary every 5 seconds."""
    from streamapp.client import AsyncKafkaClient, ClientError

    latencies: list[float] = []
    outcomes: Counter[str] = Counter()
    in_flight: set[asyncio.Task[None]] = set()
    demo_traffic = DemoTraffic()

    async def one(client: AsyncKafkaClient) -> None:
        began = time.monotonic()
        try:
            answer = await client.score(demo_traffic.payload())
        except ClientError as error:
            outcomes[type(error).__name__] += 1
            return
        latencies.append((time.monotonic() - began) * 1000)
        outcomes[f"{answer.status}:{answer.model or '-'}:{answer.rule}"] += 1

    async def send_loop(client: AsyncKafkaClient) -> None:
        started = time.monotonic()
        n = 0
        while not stop.is_set():
            if duration_s is not None and time.monotonic() - started >= duration_s:
                stop.set()
                break
            task = asyncio.create_task(one(client))
            in_flight.add(task)
            task.add_done_callback(in_flight.discard)
            n += 1
            await asyncio.sleep(max(0.0, started + n / rate - time.monotonic()))

    async def report_loop() -> None:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=5)
            window, latencies[:] = list(latencies), []
            if window:
                cuts = statistics.quantiles(window, n=100) if len(window) > 1 else window * 99
                line = f"p50 {cuts[49]:.1f} ms, p99 {cuts[98]:.1f} ms"
            else:
                line = "no answers yet"
            top = ", ".join(f"{k} {v}" for k, v in outcomes.most_common(4))
            print(
                f"[demo] {len(window)} answers in 5s ({line}); pending {len(in_flight)}; {top}",
                flush=True,
            )

    async with AsyncKafkaClient(
        settings.bootstrap_servers, requests_topic=settings.topic("requests")
    ) as client:
        await asyncio.gather(send_loop(client), report_loop())
        if in_flight:
            await asyncio.wait(in_flight, timeout=5)


def start_console(children: Children, worker_url: str, timeout_s: float = 60) -> str:
    """Start ``rendezvous console`` against the demo's worker; return its URL once it serves."""
    from console.settings import get_console_settings

    console = get_console_settings()
    if devkafka.port_in_use(console.port):
        raise RuntimeError(
            f"port {console.port} on 127.0.0.1 is taken by another program; "
            "set RENDEZVOUS_CONSOLE_PORT, or run rendezvous demo --free-ports"
        )
    process = children.spawn(
        "console", "console", env={"RENDEZVOUS_CONSOLE_WORKER_URL": worker_url}
    )
    url = f"http://{console.host}:{console.port}"
    wait_until_serving(
        url,
        process,
        exited=f"the console exited (is port {console.port} taken? set RENDEZVOUS_CONSOLE_PORT)",
        timed_out=f"the console did not serve {url} within {timeout_s:.0f}s",
        timeout_s=timeout_s,
    )
    return url


def last_errors(log: Path, count: int = 3) -> list[str]:
    """The last ERROR lines of a log (what went wrong, without the traceback)."""
    if not log.exists():
        return []
    lines = [line.strip() for line in log.read_text(errors="replace").splitlines()]
    return [line for line in lines if "[ERROR]" in line or "Error:" in line][-count:]


def apply_demo_policy(base_url: str, token: str) -> None:
    """Set the demo's schedule step through the REST API, like an operator would."""
    response = httpx.put(
        f"{base_url}/v1/policy",
        json=DEMO_POLICY,
        timeout=10,
        headers={"Authorization": f"Bearer {token}", "X-Actor": "demo"},
    )
    if response.status_code != 200:
        raise RuntimeError(
            f"setting the demo policy failed: {response.status_code} {response.text}"
        )


def admin_token_path(settings: Settings) -> Path:
    """Where the demo leaves its admin token for other shells (the README's curls read it)."""
    return settings.data_dir / "demo-admin-token"


def store_admin_token(path: Path, token: str) -> None:
    """Write the token readable by this user only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600, exist_ok=True)
    path.chmod(0o600)
    path.write_text(token)


def where_to_look(
    settings: Settings,
    *,
    token: str,
    token_file: Path,
    console_url: str,
    log_dir: Path,
    rate: float,
) -> list[str]:
    """The lines the demo prints once everything serves: every address it uses."""
    base = f"http://{settings.web_host}:{settings.web_port}"
    return [
        "[demo] running. Where to look:",
        f"  kafka             {settings.bootstrap_servers}  (RENDEZVOUS_BOOTSTRAP_SERVERS)",
        f"  worker REST API   {base}/health, {base}/v1/models, {base}/openapi.json",
        f"  admin token       {token}  (also in {token_file}; for PUT requests and the console)",
        "  models            forest (live, slow), linear (live, after 80 ms), "
        "mlp (shadow), canary (shadow), rules (backstop)",
        f"  logs              {log_dir}/",
        f"  decoy archive     {settings.archive_dir or settings.data_dir / 'archive'}"
        "  (rendezvous replay --archive ... --model mlp --compare)",
        f"  console           {console_url}  (paste the admin token to change models)",
        f"  requests topic    {settings.topic('requests')}  (README: send your own)",
        f"  answers topic     {settings.topic('answers')}",
        f"  dead letters      {settings.topic('deadletter')}",
        f"  traffic           {rate:g} requests/s; Ctrl-C stops everything",
    ]


def check_addresses(settings: Settings) -> None:
    """Refuse, before starting anything, a deployment whose parts would not meet."""
    if settings.bootstrap_servers != settings.dev_broker_address:
        raise RuntimeError(
            f"RENDEZVOUS_BOOTSTRAP_SERVERS is {settings.bootstrap_servers}, but the demo's "
            f"broker listens on {settings.dev_broker_address}; unset it (it follows "
            "RENDEZVOUS_KAFKA_PORT)"
        )
    if devkafka.port_in_use(settings.web_port):
        raise RuntimeError(
            f"port {settings.web_port} on 127.0.0.1 is taken by another program; "
            "set RENDEZVOUS_WEB_PORT, or run rendezvous demo --free-ports"
        )


def use_free_ports(settings: Settings) -> dict[str, str]:
    """Move the demo's listeners to free ports, in this process's environment (which its
    children inherit); a broker of this kafka dir that already runs keeps its port."""
    paths = devkafka.BrokerPaths.from_settings(settings)
    running = devkafka.configured_port(paths) if devkafka.running_pid(paths) else None
    ports = free_dev_ports(kafka_port=running)
    os.environ.update(ports)
    return ports


def run_demo(settings: Settings, *, rate: float, duration_s: float | None) -> int:
    """Start everything, run traffic until Ctrl-C (or ``duration_s``), stop everything."""
    log_dir = (settings.data_dir / "demo-logs").resolve()
    log_dir.mkdir(parents=True, exist_ok=True)
    paths = devkafka.BrokerPaths.from_settings(settings)
    own_broker = devkafka.running_pid(paths) is None
    print(f"[demo] starting Apache Kafka on {settings.dev_broker_address} ...", flush=True)
    try:
        check_addresses(settings)
        seconds = devkafka.start(settings)
    except (devkafka.BrokerError, RuntimeError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"[demo] kafka ready in {seconds:.1f}s", flush=True)
    asyncio.run(ensure_topics(settings))
    ensure_trained()
    token = os.environ.get("RENDEZVOUS_ADMIN_TOKEN") or secrets.token_urlsafe(16)
    os.environ["RENDEZVOUS_ADMIN_TOKEN"] = token  # the children inherit it
    token_file = admin_token_path(settings)
    store_admin_token(token_file, token)
    os.environ.setdefault("RENDEZVOUS_MODELS", json.dumps(DEMO_REGISTRY))
    children = Children(log_dir)
    stop = asyncio.Event()
    try:
        worker = children.spawn("worker", "worker")
        base = f"http://{settings.web_host}:{settings.web_port}"
        wait_for_worker(f"{base}/health", worker)
        for argv in DEMO_MODELS:
            children.spawn(f"model-{model_name(argv)}", "model", *argv)
        children.spawn("decoy", "decoy")
        for argv in DEMO_MODELS:
            for name in reported_names(argv):
                wait_for_model(log_dir / f"model-{model_name(argv)}.log", name)
        wait_for_model(log_dir / "decoy.log", "decoy")
        apply_demo_policy(base, token)
        console_url = start_console(children, base)
        lines = where_to_look(
            settings,
            token=token,
            token_file=token_file,
            console_url=console_url,
            log_dir=log_dir,
            rate=rate,
        )
        print("\n".join(lines), flush=True)
        loop = asyncio.new_event_loop()
        loop.add_signal_handler(signal.SIGINT, stop.set)
        loop.add_signal_handler(signal.SIGTERM, stop.set)
        loop.run_until_complete(traffic(settings, rate, duration_s, stop))
        loop.close()
    except RuntimeError as error:
        print(f"error: {error} (logs in {log_dir})", file=sys.stderr)
        for name in ("worker", "console"):
            for line in last_errors(log_dir / f"{name}.log"):
                print(f"  {name}: {line}", file=sys.stderr)
        return 1
    finally:
        print("[demo] stopping ...", flush=True)
        children.stop_all()
        token_file.unlink(missing_ok=True)
        if own_broker:
            devkafka.stop(settings)
            print("  stopped kafka")
    return 0
