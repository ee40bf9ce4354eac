"""The ``rendezvous`` command: broker, worker, models and the demo."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import os
import sys
from typing import Any

import click
from pydantic import ValidationError

from models.base import Model
from streamapp.processes.lifecycle import run_until_signalled
from streamapp.settings import Settings, get_settings, settings_error_message


def _fail(message: str) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(1)


class _Commands(click.Group):
    """Every command: settings the environment gives that cannot be used are a clear error
    naming the variable, not a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ValidationError as error:
            from console.settings import ConsoleSettings

            message = settings_error_message(error, (Settings, ConsoleSettings))
            if message is None:
                raise
            _fail(message)


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Rendezvous: many models score every request; one official answer before the deadline.

    Settings come from RENDEZVOUS_* environment variables (see the README).
    """


@main.group()
def kafka() -> None:
    """A real Apache Kafka (KRaft, 127.0.0.1 only) for development and tests, no Docker."""


@kafka.command("start")
@click.option("--data-dir", type=click.Path(file_okay=False), help="Broker data directory.")
@click.option("--port", type=int, help="Client port (default RENDEZVOUS_KAFKA_PORT or 9092).")
@click.option("--timeout", default=90.0, show_default=True, help="Seconds to wait for readiness.")
def kafka_start(data_dir: str | None, port: int | None, timeout: float) -> None:
    """Fetch the jars if needed, start the broker in the background, wait until it serves."""
    if data_dir:
        os.environ["RENDEZVOUS_KAFKA_DATA_DIR"] = data_dir
    if port:
        os.environ["RENDEZVOUS_KAFKA_PORT"] = str(port)
    get_settings.cache_clear()
    settings = get_settings()
    from streamapp.dev import kafka as devkafka

    try:
        seconds = devkafka.start(settings, timeout_s=timeout)
    except devkafka.BrokerError as error:
        _fail(str(error))
    paths = devkafka.BrokerPaths.from_settings(settings)
    click.echo(
        f"kafka ready on 127.0.0.1:{settings.kafka_port} after {seconds:.1f}s "
        f"(pid {devkafka.running_pid(paths)}, data {paths.data}, log {paths.log})"
    )


@kafka.command("fetch")
def kafka_fetch() -> None:
    """Download the broker's jars from Maven Central into the cache (start does it too)."""
    from streamapp.dev import kafka as devkafka

    paths = devkafka.BrokerPaths.from_settings(get_settings())
    try:
        devkafka.fetch_jars(paths)
    except devkafka.BrokerError as error:
        _fail(str(error))
    click.echo(f"kafka jars in {paths.libs}")


@kafka.command("stop")
def kafka_stop() -> None:
    """Stop the development broker."""
    from streamapp.dev import kafka as devkafka

    stopped = devkafka.stop(get_settings())
    click.echo("kafka stopped" if stopped else "kafka was not running")


@kafka.command("status")
def kafka_status() -> None:
    """Say whether the development broker runs and accepts clients (exit 1 if not)."""
    from streamapp.dev import kafka as devkafka

    settings = get_settings()
    paths = devkafka.BrokerPaths.from_settings(settings)
    pid = devkafka.running_pid(paths)
    if pid is None:
        click.echo("kafka is not running")
        sys.exit(1)
    serving = asyncio.run(devkafka.accepts_clients(f"127.0.0.1:{settings.kafka_port}"))
    rss = devkafka.resident_memory_kb(pid) or 0
    click.echo(
        f"kafka pid {pid} on 127.0.0.1:{settings.kafka_port}: "
        f"{'accepting clients' if serving else 'NOT accepting clients'}, "
        f"{rss / 1024:.0f} MiB resident, data {paths.data}"
    )
    sys.exit(0 if serving else 1)


@main.command()
def topics() -> None:
    """Create the rendezvous topics (idempotent) and check their partition counts."""
    from streamapp.kafka_admin import TopicLayoutError, ensure_topics, topic_specs

    settings = get_settings()
    try:
        asyncio.run(ensure_topics(settings))
    except TopicLayoutError as error:
        _fail(str(error))
    for spec in topic_specs(settings):
        click.echo(f"{spec.name}: {spec.partitions} partitions")


@main.command()
@click.option("--web-port", type=int, help="Port of the REST API (default RENDEZVOUS_WEB_PORT).")
@click.option(
    "--loglevel",
    type=click.Choice(["crit", "error", "warn", "info", "debug"]),
    default="info",
    show_default=True,
)
def worker(web_port: int | None, loglevel: str) -> None:
    """Run a rendezvous worker (the same as: faust -L uvloop -A streamapp.app worker)."""
    if web_port is not None:
        os.environ["RENDEZVOUS_WEB_PORT"] = str(web_port)
        get_settings.cache_clear()
    from faust.cli.faust import cli as faust_cli

    from streamapp.app import app
    from streamapp.event_loop import use_for_new_loops

    use_for_new_loops(get_settings().event_loop)
    faust_cli.main(
        args=["worker", "--loglevel", loglevel], obj=None, prog_name="rendezvous", app=app
    )


@main.command()
@click.argument("names", nargs=-1, metavar="NAME...")
@click.option("--list", "list_models", is_flag=True, help="List the registered models.")
@click.option(
    "--as", "alias", help="Report scores under this model name instead of NAME (one NAME)."
)
@click.option("--latency-ms", type=click.FloatRange(min=0), help="Fixed extra latency (ms).")
@click.option(
    "--latency",
    "latency_spec",
    help="Extra latency: fixed:MS | uniform:LO:HI | normal:MEAN:SD | "
    "lognormal:MEDIAN:SIGMA (env RENDEZVOUS_FAULT_LATENCY).",
)
@click.option("--error-rate", type=click.FloatRange(0, 1), help="Share of requests that fail.")
@click.option("--hang-rate", type=click.FloatRange(0, 1), help="Share of requests that hang.")
@click.option("--crash-after", type=click.IntRange(min=1), help="Exit (code 70) after N requests.")
@click.option("--fault-seed", type=int, help="Seed of the fault plan (env RENDEZVOUS_FAULT_SEED).")
@click.option(
    "--concurrency",
    type=click.IntRange(1, 32),
    default=4,
    show_default=True,
    help="Fetches of requests scored at once (each model's share in a thread).",
)
@click.option(
    "--oip",
    "oip_url",
    help="Score with an Open Inference Protocol server: http://host:port/v2/models/<model> "
    "(MLServer, Triton, KServe); NAME is then the name its scores carry.",
)
@click.option(
    "--oip-mapping",
    help="Payload <-> tensor mapping for --oip: a JSON file, or inline JSON (see the README).",
)
@click.option(
    "--oip-features",
    help="For --oip: one FP64 tensor of payload.features in this comma-separated order.",
)
@click.option(
    "--oip-max-batch", type=click.IntRange(1, 4096), help="Most requests in one OIP call."
)
@click.option(
    "--oip-concurrency",
    type=click.IntRange(1, 64),
    default=4,
    show_default=True,
    help="Most OIP calls in flight at once.",
)
@click.option(
    "--oip-ready-timeout",
    type=click.FloatRange(min=0),
    default=60.0,
    show_default=True,
    help="Seconds to wait for the OIP model to be ready (GET .../ready) before giving up.",
)
def model(
    names: tuple[str, ...],
    list_models: bool,
    alias: str | None,
    latency_ms: float | None,
    latency_spec: str | None,
    error_rate: float | None,
    hang_rate: float | None,
    crash_after: int | None,
    fault_seed: int | None,
    concurrency: int,
    oip_url: str | None,
    oip_mapping: str | None,
    oip_features: str | None,
    oip_max_batch: int | None,
    oip_concurrency: int,
    oip_ready_timeout: float,
) -> None:
    """Run model NAME (from the rendezvous.models entry points) against the requests topic.

    Several NAMEs run in one process, which reads the requests once for them all (each model
    scores in its own thread, and its Scores leave as soon as it has them): cheaper than a
    process each, at the price that the process reads as fast as its slowest model. With
    --oip, NAME is the name of a model served over the Open Inference Protocol. Fault flags
    (or RENDEZVOUS_FAULT_* variables) make every model of the process slow, flaky, hang or
    crash, for demos and tests.
    """
    from streamapp.processes.faults import FaultPlan, FaultyModel, Latency
    from streamapp.processes.model import (
        ModelProcess,
        UnknownModelError,
        available_models,
        load_model,
    )

    if list_models:
        for model_name, target in sorted(available_models().items()):
            click.echo(f"{model_name}\t{target}")
        return
    if not names:
        _fail("name a model, or use --list to see the registered ones")
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        _fail(f"each model runs once in a process: {', '.join(repeated)} named twice")
    if len(names) > 1 and alias:
        _fail("--as renames one model: name only one with it")
    if len(names) > 1 and oip_url:
        _fail("--oip scores one model: name only one with it")
    try:
        plan = FaultPlan.from_env()
        if latency_ms is not None:
            plan.latency = Latency("fixed", latency_ms)
        if latency_spec is not None:
            plan.latency = Latency.parse(latency_spec)
        plan = FaultPlan(
            latency=plan.latency,
            error_rate=plan.error_rate if error_rate is None else error_rate,
            hang_rate=plan.hang_rate if hang_rate is None else hang_rate,
            crash_after=plan.crash_after if crash_after is None else crash_after,
            seed=plan.seed if fault_seed is None else fault_seed,
        )
        if oip_url:
            instances = {
                names[0]: _oip_model(
                    oip_url,
                    oip_mapping,
                    oip_features,
                    max_batch=oip_max_batch,
                    concurrency=oip_concurrency,
                    ready_timeout_s=oip_ready_timeout,
                )
            }
        else:
            instances = {name: load_model(name) for name in names}
    except (UnknownModelError, TypeError, ValueError, FileNotFoundError) as error:
        _fail(str(error))
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    if alias:
        instances = {alias: instances[names[0]]}
    if plan.active:
        # each model its own copy of the plan (the same seed, its own count of requests)
        instances = {
            name: FaultyModel(found, dataclasses.replace(plan)) for name, found in instances.items()
        }
        logging.getLogger(__name__).info("fault plan for %s: %s", ", ".join(instances), plan)
    process = ModelProcess(instances, get_settings(), concurrency=concurrency)

    run_until_signalled(process, loop=get_settings().event_loop)
    click.echo(f"model {process.name} stopped after scoring {process.scored} requests")
    if process.abandoned:
        click.echo(
            f"model {process.name}: {process.abandoned} request(s) abandoned in a hung model "
            "call (not committed: scored again after a restart)"
        )
        logging.shutdown()
        os._exit(0)  # a hung model thread cannot be joined; leave without waiting for it


def _oip_model(
    url: str,
    mapping: str | None,
    features: str | None,
    *,
    max_batch: int | None,
    concurrency: int,
    ready_timeout_s: float,
) -> Model:
    """An OIP model, once its server says it is ready (ValueError when it is not)."""
    from streamapp.processes.oip import OipEndpoint, OipError, OipModel, mapping_from_options

    oip = OipModel(
        OipEndpoint.parse(url),
        mapping_from_options(mapping, features, max_batch=max_batch),
        concurrency=concurrency,
    )
    try:
        oip.connect(ready_timeout_s=ready_timeout_s)
    except OipError as error:
        oip.close()
        raise ValueError(str(error)) from None
    return oip


@main.command()
@click.option("--seed", default=42, show_default=True, help="Seed of the split and the models.")
@click.option(
    "--model",
    "names",
    multiple=True,
    type=click.Choice(["linear", "forest", "mlp", "canary"]),
    help="Train only these (repeatable; default all).",
)
@click.option("--retrain-canary", is_flag=True, help="Replace the frozen canary (rarely right).")
@click.option(
    "--export-mlserver",
    "export_dir",
    type=click.Path(file_okay=False),
    help="Also write the models as plain scikit-learn estimators in an MLServer model "
    "repository here (with each one's mapping for rendezvous model --oip).",
)
def train(seed: int, names: tuple[str, ...], retrain_canary: bool, export_dir: str | None) -> None:
    """Train the example models on scikit-learn's bundled breast-cancer data (no download)."""
    from models import artifacts
    from models.dataset import split
    from models.training import BUILDERS, rules_accuracy
    from models.training import train as train_model

    data = split(seed)
    click.echo(
        f"data: {len(data.y_train)} training rows, {len(data.y_test)} held out (seed {seed}); "
        f"artifacts in {artifacts.models_root()}"
    )
    click.echo(f"{'model':<8} {'version':<22} {'held-out accuracy':>17} {'fit time':>9}")
    click.echo(f"{'rules':<8} {'rules-1':<22} {rules_accuracy(data):>17.3f} {'(rule)':>9}")
    for name in names or tuple(BUILDERS):
        result = train_model(name, seed, retrain_canary=retrain_canary)
        fit = "frozen" if result.frozen else f"{result.seconds:.2f}s"
        click.echo(f"{name:<8} {result.version:<22} {result.accuracy:>17.3f} {fit:>9}")
    if export_dir:
        from pathlib import Path

        from models.export import export_mlserver

        exported = export_mlserver(list(names or BUILDERS), Path(export_dir))
        click.echo(
            f"MLServer model repository in {export_dir}: {', '.join(exported)} "
            f"(mlserver start {export_dir}; mappings in <model>/rendezvous-oip.json)"
        )


#: Exit codes of ``rendezvous score`` besides 0 (an ok or no_result answer).
SCORE_REJECTED, SCORE_TIMEOUT = 3, 4


def _score_input(raw: bytes) -> tuple[dict[str, Any], dict[str, Any]]:
    """(payload, request fields) from a payload object or a whole request with ``payload``."""
    try:
        data = json.loads(raw)
    except ValueError as error:
        raise click.BadParameter(f"not JSON: {error}", param_hint="--payload") from None
    if not isinstance(data, dict):
        raise click.BadParameter("must hold a JSON object", param_hint="--payload")
    if isinstance(data.get("payload"), dict):
        fields = {k: data[k] for k in ("request_id", "deadline_ms") if k in data}
        return data["payload"], fields
    return data, {}


@main.command()
@click.option(
    "--payload",
    "payload_file",
    required=True,
    type=click.File("rb"),
    help="JSON file ('-': stdin) with the payload object, or a whole request with 'payload'.",
)
@click.option("--deadline-ms", type=click.IntRange(min=1), help="The request's deadline.")
@click.option("--request-id", help="The request id (default: the file's, else a new one).")
@click.option("--rest", "rest_url", help="Score over REST at this worker (http://host:port).")
@click.option("--bootstrap", help="Kafka bootstrap servers (default RENDEZVOUS_BOOTSTRAP_SERVERS).")
@click.option("--reply-topic", help="Read the answer here (default: a client-replies-* topic).")
@click.option("--retries", type=click.IntRange(min=0), default=1, show_default=True)
def score(
    payload_file: Any,
    deadline_ms: int | None,
    request_id: str | None,
    rest_url: str | None,
    bootstrap: str | None,
    reply_topic: str | None,
    retries: int,
) -> None:
    """Send one request with the client library and print its answer as JSON.

    Exit 0 for an answer (ok or no_result), 3 when rejected, 4 on a time-out, 1 when the
    REST API refuses the request.
    """
    from streamapp.client import (
        ClientError,
        KafkaClient,
        RequestRejected,
        RestClient,
        ScoreTimeout,
    )

    payload, fields = _score_input(payload_file.read())
    deadline_ms = deadline_ms or fields.get("deadline_ms")
    request_id = request_id or fields.get("request_id")
    settings = get_settings()
    client: KafkaClient | RestClient
    if rest_url:
        client = RestClient(rest_url, retries=retries)
    else:
        client = KafkaClient(
            bootstrap or settings.bootstrap_servers,
            requests_topic=settings.topic("requests"),
            reply_topic=reply_topic,
            retries=retries,
        )
    try:
        answer = client.score(payload, deadline_ms=deadline_ms, request_id=request_id)
    except RequestRejected as rejected:
        if rejected.answer is not None:
            click.echo(json.dumps(_answer_json(rejected.answer)))
        click.echo(f"rejected: {rejected.reason}", err=True)
        sys.exit(SCORE_REJECTED)
    except ScoreTimeout as timeout:
        click.echo(f"time-out: {timeout}", err=True)
        sys.exit(SCORE_TIMEOUT)
    except ClientError as error:
        _fail(str(error))
    finally:
        client.close()
    click.echo(json.dumps(_answer_json(answer)))


def _answer_json(answer: Any) -> dict[str, Any]:
    """An Answer as the JSON object it came as."""
    import dataclasses

    body = dataclasses.asdict(answer)
    body.update(body.pop("extra"))
    return dict(body)


@main.command()
def console() -> None:
    """Serve the Dash console (RENDEZVOUS_CONSOLE_HOST/PORT/WORKER_URL)."""
    from console.app import run

    run()


@main.command()
@click.option("--rate", default=20.0, show_default=True, help="Demo requests per second.")
@click.option("--duration", type=float, help="Stop after this many seconds (default: Ctrl-C).")
@click.option(
    "--free-ports",
    is_flag=True,
    help="Run the broker, worker and console on free ports, and print them (a broker that "
    "already runs keeps its port).",
)
def demo(rate: float, duration: float | None, free_ports: bool) -> None:
    """Start broker, worker, models and a steady stream of requests; Ctrl-C stops everything."""
    from streamapp.dev.demo import run_demo, use_free_ports

    if free_ports:
        use_free_ports(get_settings())
        get_settings.cache_clear()
    sys.exit(run_demo(get_settings(), rate=rate, duration_s=duration))


def _register_archive_commands() -> None:
    """``decoy`` and ``replay`` live in streamapp.cli.archive."""
    from streamapp.cli.archive import decoy, replay

    main.add_command(decoy)
    main.add_command(replay)


_register_archive_commands()
