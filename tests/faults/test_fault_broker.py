"""The broker stopped and restarted under load: nothing lost, answers resume.

The session's broker is shared by every test, so this case starts its own with the project's
dev-broker code (its own data dir and ports), stops it and starts it again on the same data.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from streamapp.dev import kafka as devkafka
from streamapp.dev.ports import free_port
from streamapp.settings import Settings
from tests.faults.wire import (
    OpenLoop,
    alive,
    answered_ids,
    assert_whole,
    log_errors,
    read_wire,
    report,
    scaled,
    tally,
)
from tests.integration.harness import System

pytestmark = pytest.mark.faults

REPO = Path(__file__).resolve().parents[2]
RATE_PER_S = 50
DEADLINE_MS = 500
WARM = scaled(75, 150)
BETWEEN = scaled(75, 250)
OUTAGE_S = scaled(5.0, 10.0)


@pytest.fixture()
def own_broker() -> Iterator[Settings]:
    """A broker of this case only (stopped at the end whatever happened)."""
    root = Path(tempfile.mkdtemp(prefix="rendezvous-fault-kafka-"))
    settings = Settings(
        kafka_dir=root,
        kafka_libs_dir=REPO / ".cache" / "kafka" / "libs",
        kafka_port=free_port(),
        kafka_controller_port=free_port(),
    )
    try:
        devkafka.start(settings, timeout_s=120)
    except devkafka.BrokerError as error:
        pytest.fail(f"the fault case's broker did not start: {error}", pytrace=False)
    try:
        yield settings
    finally:
        devkafka.stop(settings)
        shutil.rmtree(root, ignore_errors=True)


async def test_the_broker_stopped_and_restarted_under_load_loses_nothing(
    own_broker: Settings, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """(3) Requests the producer could hand to the broker (some only once it was back) are
    every one answered, once each as seen by a first-answer reader, and answers resume."""
    bootstrap = f"127.0.0.1:{own_broker.kafka_port}"
    system = System(bootstrap, tmp_path, request.node.name, web_port=free_port())
    try:
        system.start_worker()
        system.start_model("scorecard")
        async with OpenLoop(
            bootstrap,
            system.topic("requests"),
            prefix="outage",
            rate_per_s=RATE_PER_S,
            deadline_ms=DEADLINE_MS,
            return_topic=system.topic("answers"),
        ) as load:
            load.start()
            await load.run_for(WARM)
            began = time.monotonic()
            await asyncio.to_thread(devkafka.stop, own_broker)
            stopped_s = time.monotonic() - began
            await asyncio.sleep(OUTAGE_S)  # the fault itself: the broker stays down this long
            await asyncio.to_thread(devkafka.start, own_broker, timeout_s=120)
            back_ms = int(time.time() * 1000)
            down_s = time.monotonic() - began
            await load.run_for(BETWEEN)
            await load.stop()
            delivered = await load.delivered(timeout_s=120)
        ids = [s.request_id for s in delivered]
        records = await read_wire(
            bootstrap, [system.topic("answers")], until=answered_ids(ids), timeout_s=120
        )
        counted = tally(ids, records)
        after_back = [a["answered_at"] for a in counted.kept.values() if a["answered_at"] > back_ms]
        report(
            "3-broker-stop-restart",
            counted,
            broker_down_s=round(down_s, 1),
            broker_stop_took_s=round(stopped_s, 1),
            send_failed=len(load.sent) - len(delivered),
            send_errors=dict(Counter(s.error for s in load.sent if s.error)),
            first_answer_s_after_broker_back=(
                round((min(after_back) - back_ms) / 1000, 1) if after_back else None
            ),
            rules=dict(Counter(str(a.get("rule")) for a in counted.kept.values())),
            worker_alive=alive(system, "worker"),
            scorecard_alive=alive(system, "scorecard"),
            worker_errors=log_errors(system, "worker"),
        )
        assert_whole(counted, system, "worker", "scorecard")
        assert after_back, "answers resume once the broker is back"
        assert alive(system, "worker"), "the worker rides out a broker outage"
    finally:
        await asyncio.to_thread(system.close)
