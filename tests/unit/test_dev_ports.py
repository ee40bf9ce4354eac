"""Moving the dev deployment to other ports: the clients follow the broker, the advice given on a
port conflict works when followed, and the demo prints every address it uses."""

from __future__ import annotations

from pathlib import Path

import pytest

from streamapp.dev import kafka as devkafka
from streamapp.dev.demo import where_to_look
from streamapp.dev.ports import DEV_PORT_VARIABLES, free_dev_ports
from streamapp.settings import Settings


def test_bootstrap_servers_follow_the_kafka_port_when_not_set(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert Settings().bootstrap_servers == "127.0.0.1:9092"
    monkeypatch.setenv("RENDEZVOUS_KAFKA_PORT", "19192")
    assert Settings().bootstrap_servers == "127.0.0.1:19192"
    assert Settings(kafka_port=29092).bootstrap_servers == "127.0.0.1:29092"
    monkeypatch.setenv("RENDEZVOUS_BOOTSTRAP_SERVERS", "")
    assert Settings().bootstrap_servers == "127.0.0.1:19192", "empty means unset"


def test_bootstrap_servers_set_explicitly_are_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RENDEZVOUS_KAFKA_PORT", "19192")
    monkeypatch.setenv("RENDEZVOUS_BOOTSTRAP_SERVERS", "kafka-1:9092,kafka-2:9092")
    assert Settings().bootstrap_servers == "kafka-1:9092,kafka-2:9092"


def test_following_the_port_conflict_advice_moves_broker_and_clients_together(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    message = devkafka.port_taken(9092, "RENDEZVOUS_KAFKA_PORT", bootstrap=None)
    assert "port 9092" in message and "--free-ports" in message
    variable, port = message.split("(e.g. ", 1)[1].split(")", 1)[0].split("=")
    monkeypatch.setenv(variable, port)
    settings = Settings()
    assert settings.kafka_port == int(port) != 9092
    assert settings.bootstrap_servers == settings.dev_broker_address == f"127.0.0.1:{port}"


def test_port_conflict_advice_names_explicit_bootstrap_servers_that_would_not_follow() -> None:
    message = devkafka.port_taken(9092, "RENDEZVOUS_KAFKA_PORT", bootstrap="127.0.0.1:9092")
    assert "RENDEZVOUS_BOOTSTRAP_SERVERS is set (127.0.0.1:9092)" in message
    controller = devkafka.port_taken(9093, "RENDEZVOUS_KAFKA_CONTROLLER_PORT", bootstrap=None)
    assert "RENDEZVOUS_KAFKA_CONTROLLER_PORT" in controller
    assert "RENDEZVOUS_BOOTSTRAP_SERVERS" not in controller


def test_start_refuses_a_taken_port_with_that_advice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Settings(kafka_dir=tmp_path, kafka_port=19092, kafka_controller_port=19093)
    monkeypatch.setattr(devkafka, "port_in_use", lambda port: port == 19092)
    with pytest.raises(devkafka.BrokerError, match="pick another with RENDEZVOUS_KAFKA_PORT"):
        devkafka.start(settings)


def test_the_written_broker_config_says_which_port_a_running_broker_has(tmp_path: Path) -> None:
    settings = Settings(kafka_dir=tmp_path, kafka_port=19092, kafka_controller_port=19093)
    paths = devkafka.BrokerPaths.from_settings(settings)
    assert devkafka.configured_port(paths) is None
    paths.config.write_text(devkafka.server_properties(settings, paths.data))
    assert devkafka.configured_port(paths) == 19092


def test_free_dev_ports_gives_each_listener_its_own_port() -> None:
    ports = free_dev_ports()
    assert set(ports) == set(DEV_PORT_VARIABLES)
    assert len(set(ports.values())) == len(DEV_PORT_VARIABLES)
    assert free_dev_ports(kafka_port=19092)["RENDEZVOUS_KAFKA_PORT"] == "19092"


def test_the_demo_prints_every_address_it_uses(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RENDEZVOUS_KAFKA_PORT", "19192")
    monkeypatch.setenv("RENDEZVOUS_WEB_PORT", "16166")
    settings = Settings(topic_prefix="demo")
    lines = where_to_look(
        settings,
        token="t0ken",
        token_file=tmp_path / "demo-admin-token",
        console_url="http://127.0.0.1:18150",
        log_dir=tmp_path,
        rate=20,
    )
    text = "\n".join(lines)
    assert "127.0.0.1:19192" in text, "the broker clients must use"
    assert "http://127.0.0.1:16166/health" in text
    assert "http://127.0.0.1:18150" in text
    assert "t0ken" in text and str(tmp_path / "demo-admin-token") in text
    assert "demo-requests" in text and "demo-answers" in text
    assert "9092" not in text and "6066" not in text and "8050" not in text
