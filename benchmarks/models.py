"""Per-model offline accuracy and scoring latency per request, on this machine.

    python -m benchmarks.models [--calls 2000] [--seed 42]

Trains every example model into a temporary folder (seeded), then times ``predict`` one
request at a time over held-out rows, as the model process calls it.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

from benchmarks.system import percentiles
from models import artifacts
from models.dataset import payload_from_row, split
from models.rules import RulesBackstop
from models.scorecard import Scorecard
from models.trained import CanaryModel, ForestModel, LinearModel, MlpModel
from models.training import BUILDERS, rules_accuracy, train


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="rendezvous-models-"))
    os.environ["RENDEZVOUS_DATA_DIR"] = str(root)
    accuracy = {"rules": rules_accuracy(split(args.seed))}
    for name in BUILDERS:
        accuracy[name] = train(name, args.seed, artifacts.models_root()).accuracy
    data = split(args.seed)
    payloads = [payload_from_row(row) for row in data.x_test]
    report = {}
    for name, model in [
        ("rules", RulesBackstop()),
        ("scorecard", Scorecard()),
        ("linear", LinearModel()),
        ("mlp", MlpModel()),
        ("forest", ForestModel()),
        ("canary", CanaryModel()),
    ]:
        for payload in payloads[:50]:
            model.predict(payload)  # warm caches
        samples = []
        for n in range(args.calls):
            payload = payloads[n % len(payloads)]
            started = time.perf_counter()
            model.predict(payload)
            samples.append((time.perf_counter() - started) * 1_000_000)
        stats = percentiles(samples)
        report[name] = {
            "accuracy": round(accuracy[name], 3) if name in accuracy else None,
            "latency_ms": stats,
        }
        shown = f"{accuracy[name]:.3f}" if name in accuracy else "  -  "
        print(f"{name:<9} accuracy {shown}  p50 {stats['p50']:9.1f} us  p99 {stats['p99']:9.1f} us")
    print(json.dumps(report))


if __name__ == "__main__":
    main()
