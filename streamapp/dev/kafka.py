"""A real Apache Kafka (single-node KRaft, loopback only) for development and CI, without Docker.

The broker's jars come from Maven Central through ``pom.xml`` beside this file, into
``<kafka_dir>/libs`` (an ignored cache); ``start`` formats the data dir once, launches the
broker in the background and returns only when it accepts clients.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

from streamapp.dev.ports import free_port
from streamapp.settings import Settings

HERE = Path(__file__).parent
POM = HERE / "pom.xml"
LOG4J = HERE / "log4j.properties"


class BrokerError(RuntimeError):
    """The development broker could not be fetched, started or stopped; the message says why."""


@dataclass(frozen=True)
class BrokerPaths:
    """Where the development broker keeps its jars, config, data, log and pid."""

    root: Path
    data: Path
    libs: Path

    @property
    def config(self) -> Path:
        return self.root / "server.properties"

    @property
    def log(self) -> Path:
        return self.root / "broker.log"

    @property
    def pid(self) -> Path:
        return self.root / "broker.pid"

    @classmethod
    def from_settings(cls, settings: Settings) -> BrokerPaths:
        """Paths as configured (``RENDEZVOUS_KAFKA_DIR``, ``RENDEZVOUS_KAFKA_DATA_DIR``)."""
        root = settings.kafka_dir.resolve()
        libs = (settings.kafka_libs_dir or root / "libs").resolve()
        return cls(root=root, data=settings.broker_data_dir.resolve(), libs=libs)


def server_properties(settings: Settings, data_dir: Path) -> str:
    """A combined broker+controller on 127.0.0.1, tuned for fast test groups."""
    port, controller = settings.kafka_port, settings.kafka_controller_port
    return "\n".join(
        [
            "process.roles=broker,controller",
            "node.id=1",
            f"controller.quorum.voters=1@127.0.0.1:{controller}",
            f"listeners=PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller}",
            f"advertised.listeners=PLAINTEXT://127.0.0.1:{port}",
            "controller.listener.names=CONTROLLER",
            "inter.broker.listener.name=PLAINTEXT",
            "listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
            f"log.dirs={data_dir}",
            "num.partitions=1",
            "auto.create.topics.enable=false",
            "offsets.topic.replication.factor=1",
            "offsets.topic.num.partitions=4",
            "transaction.state.log.replication.factor=1",
            "transaction.state.log.min.isr=1",
            "group.initial.rebalance.delay.ms=0",
            "group.min.session.timeout.ms=1000",
            "log.cleaner.dedupe.buffer.size=16777216",
            "",
        ]
    )


def java_classpath(paths: BrokerPaths) -> str:
    return f"{paths.libs}/*"


def fetch_jars(paths: BrokerPaths, *, quiet: bool = False) -> None:
    """Download Kafka's jars from Maven Central (once) into the cache folder."""
    if any(paths.libs.glob("kafka_2.13-*.jar")):
        return
    mvn = shutil.which("mvn")
    if mvn is None:
        raise BrokerError(
            "Maven (mvn) is not installed; it fetches Kafka's jars from Maven Central"
        )
    if not quiet:
        print(f"fetching Apache Kafka jars from Maven Central into {paths.libs} ...", flush=True)
    command = [
        mvn,
        "-B",
        "-q",
        "-f",
        str(POM),
        "dependency:copy-dependencies",
        "-DincludeScope=runtime",
        f"-DoutputDirectory={paths.libs}",
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BrokerError(
            f"mvn failed ({done.returncode}):\n{done.stdout[-2000:]}{done.stderr[-2000:]}"
        )


def _java(paths: BrokerPaths, *args: str, heap: str = "512m", jit: str = "quick") -> list[str]:
    java = shutil.which("java")
    if java is None:
        raise BrokerError("Java is not installed; the development broker needs Java 17+")
    return [
        java,
        "-Xms128m",
        f"-Xmx{heap}",
        "-XX:+UseSerialGC",
        *(["-XX:TieredStopAtLevel=1"] if jit == "quick" else []),
        f"-Dlog4j.configuration=file:{LOG4J}",
        "-cp",
        java_classpath(paths),
        *args,
    ]


def format_storage(paths: BrokerPaths) -> None:
    """Format the KRaft data dir once (kept across restarts)."""
    if (paths.data / "meta.properties").exists():
        return
    paths.data.mkdir(parents=True, exist_ok=True)
    cluster_id = subprocess.run(
        _java(paths, "kafka.tools.StorageTool", "random-uuid"),
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    done = subprocess.run(
        _java(
            paths,
            "kafka.tools.StorageTool",
            "format",
            "-t",
            cluster_id,
            "-c",
            str(paths.config),
            "--ignore-formatted",
        ),
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise BrokerError(f"formatting {paths.data} failed:\n{done.stdout}{done.stderr}")


def alive(pid: int) -> bool:
    """True if the process exists and is not a zombie."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def running_pid(paths: BrokerPaths) -> int | None:
    """The broker's pid if the pid file names a live process, else None."""
    try:
        pid = int(paths.pid.read_text().strip())
    except (OSError, ValueError):
        return None
    return pid if alive(pid) else None


def configured_port(paths: BrokerPaths) -> int | None:
    """The client port in the broker's written config (None before its first start)."""
    try:
        text = paths.config.read_text()
    except OSError:
        return None
    found = re.search(r"^listeners=PLAINTEXT://[^:]+:(\d+)", text, re.MULTILINE)
    return int(found.group(1)) if found else None


def explicit_bootstrap() -> str | None:
    """``RENDEZVOUS_BOOTSTRAP_SERVERS`` when set (then it does not follow the broker's port)."""
    return os.environ.get("RENDEZVOUS_BOOTSTRAP_SERVERS") or None


def port_taken(port: int, variable: str, bootstrap: str | None) -> str:
    """What to do when a port of the dev broker is taken: advice that works when followed."""
    advice = (
        f"port {port} on 127.0.0.1 is taken by another process; pick another with "
        f"{variable} (e.g. {variable}={free_port()}), or run rendezvous demo --free-ports"
    )
    if variable != "RENDEZVOUS_KAFKA_PORT":
        return advice
    if bootstrap is None:
        return f"{advice}. Clients follow: RENDEZVOUS_BOOTSTRAP_SERVERS defaults to the broker"
    return (
        f"{advice}. RENDEZVOUS_BOOTSTRAP_SERVERS is set ({bootstrap}): unset it so the worker "
        "and models follow the broker, or change it to the same port"
    )


def port_in_use(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


async def accepts_clients(bootstrap: str, timeout_s: float = 2.0) -> bool:
    """True when the broker answers a metadata request."""
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)  # refusals are expected here
    admin = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap, request_timeout_ms=int(timeout_s * 1000)
    )
    try:
        await asyncio.wait_for(admin.start(), timeout_s)
        await asyncio.wait_for(admin.list_topics(), timeout_s)
        return True
    except (KafkaError, OSError, TimeoutError):
        return False
    finally:
        await admin.close()


def wait_ready(settings: Settings, pid: int, paths: BrokerPaths, timeout_s: float) -> float:
    """Block until the broker accepts clients; return the seconds it took."""
    started = time.monotonic()
    bootstrap = settings.dev_broker_address
    while time.monotonic() - started < timeout_s:
        if not alive(pid):
            tail = paths.log.read_text(errors="replace")[-3000:] if paths.log.exists() else ""
            raise BrokerError(
                f"the broker exited during start-up; end of {paths.log}:\n{tail}"
            ) from None
        if asyncio.run(accepts_clients(bootstrap)):
            return time.monotonic() - started
        time.sleep(0.2)
    raise BrokerError(f"the broker did not accept clients within {timeout_s:.0f}s; see {paths.log}")


#: Brokers this process started, by pid: the broker outlives ``start`` (it runs in the background
#: until ``stop``), so its handle is kept to reap it rather than dropped while it runs.
_started: dict[int, subprocess.Popen[bytes]] = {}


def start(settings: Settings, *, timeout_s: float = 90.0, quiet: bool = False) -> float:
    """Start the broker in the background (idempotent); return seconds until it was ready."""
    paths = BrokerPaths.from_settings(settings)
    pid = running_pid(paths)
    if pid is not None:
        running = configured_port(paths)
        if running is not None and running != settings.kafka_port:
            raise BrokerError(
                f"the broker of {paths.root} already runs on 127.0.0.1:{running}, not "
                f"{settings.kafka_port}; stop it (rendezvous kafka stop) or set "
                f"RENDEZVOUS_KAFKA_PORT={running}"
            )
        return wait_ready(settings, pid, paths, timeout_s)
    for port, variable in (
        (settings.kafka_port, "RENDEZVOUS_KAFKA_PORT"),
        (settings.kafka_controller_port, "RENDEZVOUS_KAFKA_CONTROLLER_PORT"),
    ):
        if port_in_use(port):
            raise BrokerError(port_taken(port, variable, explicit_bootstrap()))
    paths.root.mkdir(parents=True, exist_ok=True)
    fetch_jars(paths, quiet=quiet)
    paths.config.write_text(server_properties(settings, paths.data))
    format_storage(paths)
    with paths.log.open("ab") as log_file:
        process = subprocess.Popen(
            _java(
                paths,
                "kafka.Kafka",
                str(paths.config),
                heap=settings.kafka_heap,
                jit=settings.kafka_jit,
            ),
            stdout=log_file,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    paths.pid.write_text(str(process.pid))
    _started[process.pid] = process
    return wait_ready(settings, process.pid, paths, timeout_s)


def stop(settings: Settings, *, timeout_s: float = 30.0) -> bool:
    """Stop the broker (SIGTERM, then SIGKILL after ``timeout_s``); False if none was running."""
    paths = BrokerPaths.from_settings(settings)
    pid = running_pid(paths)
    if pid is None:
        paths.pid.unlink(missing_ok=True)
        return False
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not alive(pid):
            break
        time.sleep(0.1)
    else:
        os.kill(pid, signal.SIGKILL)
    started = _started.pop(pid, None)
    if started is not None:
        started.wait(timeout=10)  # reap our own child (no zombie, no ResourceWarning)
    paths.pid.unlink(missing_ok=True)
    return True


def resident_memory_kb(pid: int) -> int | None:
    """The broker's resident set size in KiB (Linux), for status and reports."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None
