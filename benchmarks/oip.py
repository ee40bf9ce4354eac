"""OIP adapter overhead: the same MLServer model called directly, through the adapter, and
through the whole rendezvous (``rendezvous model --oip``, deployed live).

    python -m benchmarks.oip [--requests 500] [--model linear] [--warmup 50]

One request at a time (closed loop), one row per call, held-out rows of the example data (the
default model is the cheap ``linear`` one, so the server's own work does not hide the
overhead); the direct and adapter calls take turns:

- ``direct``: ``POST /v2/models/<model>/infer`` with httpx, the body built by hand;
- ``adapter``: ``OipModel.predict_outcomes`` (mapping, deadline time-out, httpx, decoding);
- ``rendezvous``: ``AsyncKafkaClient.score`` with the OIP model live and preferred: request
  into Kafka, the model process's OIP call, its Score, the rendezvous, the answer back.

Prints a table and one ``OIP_JSON {...}`` line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from benchmarks.system import bench_system, percentiles
from models.dataset import FEATURES, payload_from_row, split
from models.export import export_mlserver
from models.training import train
from streamapp.client import AsyncKafkaClient
from streamapp.dev.mlserver import MLServer
from streamapp.processes.oip import OipEndpoint, OipModel, mapping_from_options


def interleaved(
    calls: dict[str, Callable[[int], Any]], count: int, warmup: int
) -> dict[str, list[float]]:
    """Milliseconds per call of each way, taking turns (so drift hits all alike), after
    ``warmup`` untimed rounds."""
    samples: dict[str, list[float]] = {name: [] for name in calls}
    for i in range(warmup + count):
        for name, call in calls.items():
            started = time.perf_counter()
            call(i)
            if i >= warmup:
                samples[name].append((time.perf_counter() - started) * 1000)
    return samples


def direct_body(payload: dict[str, Any]) -> dict[str, Any]:
    """What a hand-written OIP client sends for one row."""
    row = [payload["features"][name] for name in FEATURES]
    return {
        "inputs": [{"name": "input-0", "shape": [1, len(row)], "datatype": "FP64", "data": row}],
        "outputs": [{"name": "predict"}, {"name": "predict_proba"}],
    }


async def through_rendezvous(
    bootstrap: str, topic: str, payloads: list[dict[str, Any]], count: int, warmup: int
) -> list[float]:
    """Round trips with the client library, one at a time."""
    async with AsyncKafkaClient(bootstrap, requests_topic=topic) as client:
        samples = []
        for i in range(warmup + count):
            started = time.perf_counter()
            answer = await client.score(payloads[i % len(payloads)], deadline_ms=1000)
            if answer.model != "mloip":
                raise RuntimeError(f"answered by {answer.model}, not the OIP model: {answer}")
            if i >= warmup:
                samples.append((time.perf_counter() - started) * 1000)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--warmup", type=int, default=50)
    parser.add_argument("--model", default="linear", choices=["linear", "forest", "mlp"])
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="rendezvous-bench-oip-"))
    train(args.model, 42, work / "models")
    export_mlserver([args.model], work / "repo", work / "models")
    payloads = [payload_from_row(row) for row in split(42).x_test]
    mapping_file = work / "repo" / args.model / "rendezvous-oip.json"
    server = MLServer(work / "repo", work / "mlserver.log").start(args.model)
    try:
        url = server.model_url(args.model)
        mapping = mapping_from_options(str(mapping_file), None)
        adapter_model = OipModel(OipEndpoint.parse(url), mapping)
        with httpx.Client() as http:
            measured = interleaved(
                {
                    "direct": lambda i: http.post(
                        f"{url}/infer", json=direct_body(payloads[i % len(payloads)])
                    ).raise_for_status(),
                    "adapter": lambda i: adapter_model.predict_outcomes(
                        [payloads[i % len(payloads)]], [time.time() + 5]
                    ),
                },
                args.requests,
                args.warmup,
            )
        adapter_model.close()
        direct, adapter = measured["direct"], measured["adapter"]
        registry = {
            "mloip": {"state": "live", "priority": 50},
            "rules": {"state": "live", "priority": 0, "backstop": True},
        }
        oip_argv = ("mloip", "--oip", url, "--oip-mapping", str(mapping_file))
        with bench_system([oip_argv], models=json.dumps(registry)) as system:
            settings = system.settings
            rendezvous = asyncio.run(
                through_rendezvous(
                    settings.bootstrap_servers,
                    settings.topic("requests"),
                    payloads,
                    args.requests,
                    args.warmup,
                )
            )
    finally:
        server.stop()
    report = {
        "model": args.model,
        "requests": args.requests,
        "direct_ms": percentiles(direct),
        "adapter_ms": percentiles(adapter),
        "rendezvous_ms": percentiles(rendezvous),
    }
    report["adapter_overhead_ms"] = {
        q: round(report["adapter_ms"][q] - report["direct_ms"][q], 2) for q in ("p50", "p99")
    }
    report["rendezvous_overhead_ms"] = {
        q: round(report["rendezvous_ms"][q] - report["direct_ms"][q], 2) for q in ("p50", "p99")
    }
    print(f"MLServer {args.model}, {args.requests} calls one at a time, one row each")
    print(f"{'path':<12} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8} {'max ms':>8}")
    for name in ("direct", "adapter", "rendezvous"):
        stats = report[f"{name}_ms"]
        cells = " ".join(f"{stats[q]:>8.2f}" for q in ("p50", "p90", "p99", "max"))
        print(f"{name:<12} {cells}")
    print(
        f"adapter overhead p50 {report['adapter_overhead_ms']['p50']:+.2f} ms, "
        f"p99 {report['adapter_overhead_ms']['p99']:+.2f} ms; whole rendezvous over direct "
        f"p50 {report['rendezvous_overhead_ms']['p50']:+.2f} ms, "
        f"p99 {report['rendezvous_overhead_ms']['p99']:+.2f} ms"
    )
    print("OIP_JSON " + json.dumps(report))


if __name__ == "__main__":
    main()
