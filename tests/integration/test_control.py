"""Live control on a real broker: registry, policy and proxy over REST, as answers show them."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from streamapp.dev.ports import free_port
from tests.helpers import answer_counts, answered, eventually, first_answers, kafka_partition
from tests.integration.harness import ADMIN_TOKEN, Client, System, request_body

pytestmark = pytest.mark.integration

AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
FEATURES = {"worst radius": 25.4, "worst texture": 31.2, "worst concave points": 0.21}
Records = list[tuple[str, dict[str, Any], float]]


async def call(
    method: str, url: str, body: Any = None, *, headers: dict[str, str] | None = AUTH, **kw: Any
) -> httpx.Response:
    """One HTTP call to a worker (admin token by default)."""
    async with httpx.AsyncClient(timeout=15.0) as http:
        return await http.request(method, url, json=body, headers=headers, **kw)


async def status_is(url: str, code: int) -> bool:
    """Whether a GET answers with ``code`` (a refused connection is not)."""
    try:
        return (await call("GET", url)).status_code == code
    except httpx.HTTPError:
        return False


@dataclass
class Change:
    """A PUT issued mid-stream: when it was sent and when it returned (epoch seconds)."""

    issued: float
    returned: float
    response: httpx.Response


async def timed_put(url: str, body: dict[str, Any]) -> Change:
    """PUT with the admin token, timed."""
    issued = time.time()
    response = await call("PUT", url, body)
    return Change(issued, time.time(), response)


async def stream_with_change(
    system: System, ids: list[str], *, change_at: int, url: str, body: dict[str, Any]
) -> tuple[dict[str, float], Change, Records]:
    """Send ``ids`` at 20/s; at ``change_at`` issue a PUT while sending goes on; read answers."""
    answers_topic, sent = system.topic("answers"), {}
    async with Client(system.bootstrap) as client:
        change: asyncio.Task[Change] | None = None
        for n, request_id in enumerate(ids):
            if n == change_at:
                change = asyncio.create_task(timed_put(url, body))
            body_n = request_body(request_id, return_topic=answers_topic, deadline_ms=1000)
            sent[request_id] = await client.send(system.topic("requests"), body_n)
            await asyncio.sleep(0.05)  # pacing the load, not synchronisation
        assert change is not None
        done = await change
        records = await client.read([answers_topic], until=answered(set(ids)), idle_s=2.0)
    assert done.response.status_code == 200, done.response.text
    counts = answer_counts(records)
    assert set(counts) == set(ids), f"unanswered: {sorted(set(ids) - set(counts))}"
    assert max(counts.values()) == 1, [i for i, c in counts.items() if c > 1]
    return sent, done, records


async def test_faster_preferred_shadow_model_never_wins_and_wins_from_the_switch_to_live(
    system: System,
) -> None:
    system.start_worker()
    system.start_model("scorecard", "--latency-ms", "150")  # fast must clearly beat it
    system.start_model("rules")
    system.start_model("scorecard", "--as", "fast")
    fast_url = system.url("/v1/models/fast")
    await eventually(lambda: status_is(fast_url, 200), timeout_s=10, what="fast announced")
    response = await call("PUT", fast_url, {"priority": 100})
    assert response.status_code == 200, response.text
    assert response.json()["model"]["state"] == "shadow"
    assert response.json()["model"]["priority"] == 100

    ids = [f"switch-{n:03d}" for n in range(120)]
    sent, change, records = await stream_with_change(
        system, ids, change_at=60, url=fast_url, body={"state": "live"}
    )
    kept = first_answers(records)
    before = [a for a in kept.values() if a["answered_at"] < change.issued * 1000]
    after = [i for i in ids if sent[i] > change.returned]
    assert len(before) >= 30 and len(after) >= 30, (len(before), len(after))
    assert {a["model"] for a in before} == {"scorecard"}, "a shadow model must never win"
    with_fast = sum("fast" in {c["model"] for c in a["candidates"]} for a in before)
    assert with_fast >= 0.8 * len(before), f"fast among candidates in {with_fast}/{len(before)}"
    assert [i for i in after if kept[i]["model"] != "fast"] == []
    assert {kept[i]["rule"] for i in after} == {"top_priority"}
    assert {a["status"] for a in kept.values()} == {"ok"}
    version = change.response.json()["version"]
    assert {kept[i]["policy_version"] for i in after} == {version}
    first_fast = min(a["answered_at"] for a in kept.values() if a["model"] == "fast")
    straddling = [(i, kept[i]["model"]) for i in ids if change.issued <= sent[i] <= change.returned]
    print(
        f"\nswitch to v{version}: PUT took {(change.returned - change.issued) * 1000:.0f} ms; "
        f"first fast win {first_fast - change.returned * 1000:+.0f} ms after it returned; "
        f"sent while the PUT was in flight: {straddling}"
    )


async def test_undeploying_the_winner_mid_stream_moves_wins_to_the_next_model_with_none_unanswered(
    system: System,
) -> None:
    system.start_worker()
    system.start_model("scorecard")
    system.start_model("rules")
    ids = [f"undeploy-{n:03d}" for n in range(100)]
    url = system.url("/v1/models/scorecard")
    sent, change, records = await stream_with_change(
        system, ids, change_at=40, url=url, body={"state": "off"}
    )
    assert change.response.json()["model"]["state"] == "off"
    kept = first_answers(records)
    assert {a["status"] for a in kept.values()} == {"ok"}, "no request may go without a result"
    before = [a for a in kept.values() if a["answered_at"] < change.issued * 1000]
    assert len(before) >= 25
    assert {(a["model"], a["rule"]) for a in before} == {("scorecard", "top_priority")}
    after = [kept[i] for i in ids if sent[i] > change.returned]
    assert len(after) >= 30
    assert {(a["model"], a["rule"]) for a in after} == {("rules", "backstop")}
    late = [a["request_id"] for a in after if a["answered_at"] >= a["deadline_at"]]
    assert late == [], f"the only live model answered; nothing should wait for the deadline: {late}"


async def test_policy_edit_shows_its_new_version_in_answers(system: System) -> None:
    system.start_worker()
    system.start_model("scorecard")
    system.start_model("rules")
    old = (await call("GET", system.url("/v1/policy"))).json()
    steps = [{"after_ms": 5, "min_priority": 0}]
    response = await call("PUT", system.url("/v1/policy"), {"steps": steps})
    assert response.status_code == 200, response.text
    edited = response.json()
    assert edited["version"] == old["version"] + 1
    assert edited["steps"] == steps and edited["random_split"] is False
    assert (await call("GET", system.url("/v1/policy"))).json() == edited
    health = (await call("GET", system.url("/health"))).json()
    assert health["policy_version"] == edited["version"]

    answers_topic = system.topic("answers")
    ids = [f"policy-{n}" for n in range(10)]
    async with Client(system.bootstrap) as client:
        for request_id in ids:
            body = request_body(request_id, return_topic=answers_topic, deadline_ms=2000)
            await client.send(system.topic("requests"), body)
        records = await client.read([answers_topic], until=answered(set(ids)))
    kept = first_answers(records)
    assert {kept[i]["policy_version"] for i in ids} == {edited["version"]}
    assert {(kept[i]["status"], kept[i]["model"]) for i in ids} == {("ok", "scorecard")}

    history = (await call("GET", system.url("/v1/control/history"))).json()["changes"]
    newest = history[0]
    assert (newest["command"], newest["actor"], newest["version"]) == (
        "policy",
        "rest:admin",
        edited["version"],
    )
    assert newest["before"] == {"steps": [], "random_split": False}
    assert newest["after"] == {"steps": steps, "random_split": False}
    assert [c["version"] for c in history] == sorted((c["version"] for c in history), reverse=True)


async def test_score_endpoint_round_trip(system: System) -> None:
    system.start_worker()
    system.start_model("scorecard")
    system.start_model("rules")
    score_url = system.url("/v1/score")
    body = {"payload": {"features": FEATURES}, "request_id": "proxy-0001", "deadline_ms": 2000}
    started = time.monotonic()
    response = await call("POST", score_url, body, headers=None)
    took_ms = (time.monotonic() - started) * 1000
    assert response.status_code == 200, response.text
    answer = response.json()
    assert (answer["request_id"], answer["status"]) == ("proxy-0001", "ok")
    assert (answer["model"], answer["rule"]) == ("scorecard", "top_priority")
    assert answer["result"]["label"] == "malignant"
    assert took_ms < 2000, f"the preferred model answered, so no wait for the deadline: {took_ms}"

    without_id = {"payload": {"features": FEATURES}, "deadline_ms": 5000}
    generated = await call("POST", score_url, without_id, headers=None)
    assert generated.status_code == 200, generated.text
    assert len(generated.json()["request_id"]) >= 16 and generated.json()["status"] == "ok"

    timeline = await call("GET", system.url("/v1/requests/proxy-0001"))
    assert timeline.status_code == 200, timeline.text
    shown = timeline.json()
    assert shown["state"] == "answered" and shown["request"]["payload"] == body["payload"]
    assert "scorecard" in {s["model"] for s in shown["scores"]}
    assert all(s["since_open_ms"] is not None and s["ok"] for s in shown["scores"])
    assert shown["answer"]["rule"] == "top_priority"
    assert shown["answer"]["answered_at"] == answer["answered_at"]
    missing = await call("GET", system.url("/v1/requests/never-sent"))
    assert missing.status_code == 404 and "never-sent" in missing.json()["error"]
    print(f"\nPOST /v1/score round trip {took_ms:.0f} ms")


async def test_auth_and_validation_errors_are_clear_and_nothing_invalid_reaches_the_control_topic(
    system: System,
) -> None:
    system.start_worker()
    system.start_model("scorecard")
    system.start_model("rules")
    model_url, policy_url = system.url("/v1/models/scorecard"), system.url("/v1/policy")

    anonymous = await call("PUT", model_url, {"priority": 99}, headers=None)
    assert anonymous.status_code == 401 and "bearer" in anonymous.json()["error"].lower()
    assert anonymous.headers["WWW-Authenticate"] == "Bearer"
    wrong = await call("PUT", model_url, {"priority": 99}, headers={"Authorization": "Bearer x"})
    assert wrong.status_code == 403 and wrong.json()["error"] == "wrong admin token"
    not_json = await call("PUT", model_url, headers=AUTH, content=b"{priority: 99")
    assert not_json.status_code == 400 and "not JSON" in not_json.json()["error"]

    invalid = {
        "priority": {"priority": "99"},
        "state": {"state": "sleeping"},
        "backstop": {"backstop": "yes"},
        "weight": {"weight": -1},
        "colour": {"colour": "red"},
        "body": {},
    }
    for field, body in invalid.items():
        response = await call("PUT", model_url, body)
        assert response.status_code == 422, (body, response.text)
        assert response.json()["field"] == field, (body, response.json())
        assert response.json()["error"]
    unknown = await call("PUT", system.url("/v1/models/nope"), {"priority": 1})
    assert unknown.status_code == 404 and "nope" in unknown.json()["error"]
    assert (await call("GET", system.url("/v1/models/nope"))).status_code == 404
    negative = await call("PUT", policy_url, {"steps": [{"after_ms": -5, "min_priority": 0}]})
    assert negative.status_code == 422, negative.text
    assert negative.json()["field"] == "steps.0.after_ms"
    a_list = await call("POST", system.url("/v1/score"), {"payload": [1, 2]}, headers=None)
    assert a_list.status_code == 422 and a_list.json()["field"] == "payload", a_list.text

    valid = await call("PUT", model_url, {"priority": 20})
    assert valid.status_code == 200 and valid.json()["model"]["priority"] == 20
    assert (await call("GET", system.url("/v1/models"))).json()["version"] == valid.json()[
        "version"
    ]

    def has_set_model(records: Records) -> bool:
        return any(value["command"] == "set_model" for _, value, _ in records)

    async with Client(system.bootstrap) as client:
        records = await client.read([system.topic("control")], until=has_set_model, idle_s=1.0)
    commands = [(v["command"], v["model"], v["value"]) for _, v, _ in records]
    changes = [c for c in commands if c[0] != "announce"]
    assert changes == [("set_model", "scorecard", {"priority": 20})], commands
    assert {c[1] for c in commands if c[0] == "announce"} == {"scorecard", "rules"}


async def start_pair(system: System) -> tuple[int, int]:
    """Two workers of one deployment plus both models; return their ports once both serve."""
    port2 = free_port()
    system.start_worker()
    system.start_worker("worker2", web_port=str(port2), data_dir=str(system.tmp_path / "data2"))
    system.start_model("scorecard")
    system.start_model("rules")
    for port in (system.web_port, port2):
        health = system.url("/health", port)
        await eventually(lambda h=health: status_is(h, 200), timeout_s=60, what=f"{port} ready")
    return system.web_port, port2


async def send_and_read(system: System, ids: list[str]) -> Records:
    """Send ``ids`` (deadline 30 s: the preferred model wins on any machine) and read until
    each has an answer, plus 2 s for extras."""
    answers_topic = system.topic("answers")
    async with Client(system.bootstrap) as client:
        for request_id in ids:
            body = request_body(request_id, return_topic=answers_topic, deadline_ms=30_000)
            await client.send(system.topic("requests"), body)
            await asyncio.sleep(0.005)  # pacing the load, not synchronisation
        return await client.read([answers_topic], until=answered(set(ids)), idle_s=2.0)


async def test_two_workers_share_the_partitions_answer_once_and_both_see_control_changes(
    system: System,
) -> None:
    ports = await start_pair(system)
    mailbox_topic = f"{system.prefix}-closed-mailboxes-changelog"
    held: dict[str, list[int]] = {}

    async def both_hold_partitions() -> bool:
        routes = (await call("GET", system.url("/router/"))).json()
        held.update({url: tables.get(mailbox_topic, []) for url, tables in routes.items()})
        return len([p for p in held.values() if p]) == 2

    await eventually(both_hold_partitions, timeout_s=60, what="both workers hold partitions")

    ids = [f"pair-{n:03d}" for n in range(200)]
    records = await send_and_read(system, ids)
    counts = answer_counts(records)
    assert set(counts) == set(ids) and max(counts.values()) == 1
    assert {(a["status"], a["model"]) for a in first_answers(records).values()} == {
        ("ok", "scorecard")
    }

    for writer, reader, priority in ((ports[0], ports[1], 30), (ports[1], ports[0], 40)):
        url = system.url("/v1/models/scorecard", writer)
        response = await call("PUT", url, {"priority": priority})
        assert response.status_code == 200, response.text
        version = response.json()["version"]
        reader_url = system.url("/v1/models/scorecard", reader)

        async def seen(url: str = reader_url, version: int = version) -> bool:
            return bool((await call("GET", url)).json()["version"] >= version)

        took = await eventually(seen, timeout_s=10, what=f"v{version} on worker :{reader}")
        shown = (await call("GET", reader_url)).json()
        assert (shown["version"], shown["model"]["priority"]) == (version, priority)
        print(f"\ncontrol v{version}: PUT on :{writer} seen by :{reader} in {took * 1000:.0f} ms")


async def test_either_worker_serves_the_timeline_of_a_request_held_by_its_peer(
    system: System,
) -> None:
    ports = await start_pair(system)
    ids = [f"route-{n:03d}" for n in range(24)]
    await send_and_read(system, ids)
    failures = []
    for request_id in ids:
        shown = [await call("GET", system.url(f"/v1/requests/{request_id}", p)) for p in ports]
        codes = [r.status_code for r in shown]
        if codes != [200, 200] or shown[0].json() != shown[1].json():
            raw, as_json = request_id.encode(), f'"{request_id}"'.encode()
            failures.append(
                (request_id, codes, kafka_partition(raw, 4), kafka_partition(as_json, 4))
            )
    assert failures == [], (
        f"(id, [status via worker 1, 2], raw-key, json-key partition): {failures}"
    )
