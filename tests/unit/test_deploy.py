"""The Docker deployment as files: the Grafana dashboard asks only for metrics the worker exports,
and the compose file publishes on 127.0.0.1 only and mounts config files that exist."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from streamapp.stats import metrics

REPO = Path(__file__).resolve().parents[2]
DASHBOARD = REPO / "deploy/grafana/dashboards/rendezvous.json"
COMPOSE = yaml.safe_load((REPO / "docker-compose.yml").read_text())
#: Sample suffixes prometheus_client exposes per metric type.
SUFFIXES = {
    "counter": ("_total", "_created"),
    "histogram": ("_bucket", "_count", "_sum", "_created"),
    "gauge": ("",),
}


def exported_names() -> set[str]:
    """Every sample name a worker's GET /metrics can carry, from the metrics module itself."""
    live = metrics.LiveState(pending=lambda: 0, lag=lambda: {}, policy_version=lambda: 1)
    families = [*metrics.registry.collect(), *live.collect()]
    return {family.name + suffix for family in families for suffix in SUFFIXES[family.type]}


def expressions(dashboard: dict[str, Any]) -> Iterator[str]:
    """Every PromQL expression of every panel."""
    for panel in dashboard["panels"]:
        for target in panel.get("targets", []):
            yield target["expr"]


def test_every_dashboard_query_uses_only_metrics_the_worker_exports() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    exported = exported_names()
    assert "rendezvous_answers_total" in exported and "rendezvous_pending_mailboxes" in exported
    queries = list(expressions(dashboard))
    assert queries
    for query in queries:
        without_labels = re.sub(r"\{[^}]*\}|\[[^]]*\]|\"[^\"]*\"", "", query)
        used = set(re.findall(r"\brendezvous_[a-z0-9_]+", without_labels))
        assert used, f"no rendezvous metric in {query!r}"
        assert used <= exported, f"{sorted(used - exported)} are not exported: {query!r}"


def test_the_dashboard_shows_what_an_operator_asks_first() -> None:
    text = " ".join(expressions(json.loads(DASHBOARD.read_text())))
    assert "rate(rendezvous_requests_total" in text and "rate(rendezvous_answers_total" in text
    assert "histogram_quantile(0.5," in text and "histogram_quantile(0.99," in text
    assert 'status="no_result"' in text and 'outcome="error"' in text
    assert "sum by (rule)" in text and "sum by (model)" in text


def test_the_dashboard_uses_the_provisioned_datasource() -> None:
    datasources = yaml.safe_load(
        (REPO / "deploy/grafana/provisioning/datasources/prometheus.yml").read_text()
    )
    uids = {source["uid"] for source in datasources["datasources"]}
    dashboard = json.loads(DASHBOARD.read_text())
    for panel in dashboard["panels"]:
        assert panel["datasource"]["uid"] in uids, panel["title"]


def test_prometheus_scrapes_the_worker_metrics_endpoint() -> None:
    config = yaml.safe_load((REPO / "deploy/prometheus/prometheus.yml").read_text())
    (job,) = config["scrape_configs"]
    assert job["metrics_path"] == "/metrics"
    assert job["static_configs"][0]["targets"] == ["worker:6066"]
    assert "worker" in COMPOSE["services"]


@pytest.mark.parametrize("service", sorted(COMPOSE["services"]))
def test_published_ports_bind_127_0_0_1_only(service: str) -> None:
    for port in COMPOSE["services"][service].get("ports", []):
        assert isinstance(port, str) and port.startswith("127.0.0.1:"), (service, port)


@pytest.mark.parametrize("service", sorted(COMPOSE["services"]))
def test_every_mounted_config_is_in_the_repo(service: str) -> None:
    for volume in COMPOSE["services"][service].get("volumes", []):
        source = volume.split(":", 1)[0]
        if source.startswith((".", "/")):
            assert (REPO / source).exists(), (service, source)
        else:
            assert source in COMPOSE["volumes"], (service, source)


def test_kafka_keeps_its_data_on_the_volume() -> None:
    kafka = COMPOSE["services"]["kafka"]
    mounts = dict(volume.split(":", 1) for volume in kafka["volumes"])
    assert kafka["environment"]["KAFKA_LOG_DIRS"] == mounts["kafka-data"]


def test_secrets_come_from_the_env_file_never_the_repo() -> None:
    worker = COMPOSE["services"]["worker"]["environment"]
    grafana = COMPOSE["services"]["grafana"]["environment"]
    assert worker["RENDEZVOUS_ADMIN_TOKEN"].startswith("${RENDEZVOUS_ADMIN_TOKEN:?")
    assert grafana["GF_SECURITY_ADMIN_PASSWORD"].startswith("${GRAFANA_ADMIN_PASSWORD:?")
    example = (REPO / ".env.example").read_text()
    assert "RENDEZVOUS_ADMIN_TOKEN=" in example and "GRAFANA_ADMIN_PASSWORD=" in example
    ignored = (REPO / ".gitignore").read_text().splitlines()
    assert ".env" in ignored


def test_the_console_is_served_by_gunicorn_from_console_wsgi() -> None:
    console = COMPOSE["services"]["console"]
    assert console["entrypoint"] == ["gunicorn"]
    assert console["command"][-1] == "console.wsgi:server"
    assert (REPO / "console/wsgi.py").is_file()
