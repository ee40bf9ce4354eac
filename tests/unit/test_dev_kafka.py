"""The development broker's configuration: loopback only, configured ports, no auto-creation."""

from __future__ import annotations

import re
from pathlib import Path

from streamapp.dev.kafka import server_properties
from streamapp.settings import Settings


def properties(data_dir: Path) -> dict[str, str]:
    settings = Settings(kafka_port=19092, kafka_controller_port=19093)
    lines = server_properties(settings, data_dir).splitlines()
    pairs = [line.split("=", 1) for line in lines if line and not line.startswith("#")]
    return {key: value for key, value in pairs}


def test_broker_listens_on_the_configured_ports_of_127_0_0_1_only(tmp_path: Path) -> None:
    props = properties(tmp_path)
    assert props["listeners"] == "PLAINTEXT://127.0.0.1:19092,CONTROLLER://127.0.0.1:19093"
    assert props["advertised.listeners"] == "PLAINTEXT://127.0.0.1:19092"
    assert props["controller.quorum.voters"] == "1@127.0.0.1:19093"


def test_no_address_other_than_loopback_appears(tmp_path: Path) -> None:
    text = server_properties(Settings(), tmp_path)
    hosts = set(re.findall(r"(?://|@)([^:,/\s]*):\d+", text))
    assert hosts == {"127.0.0.1"}
    assert "0.0.0.0" not in text and "localhost" not in text


def test_topic_auto_creation_is_disabled(tmp_path: Path) -> None:
    assert properties(tmp_path)["auto.create.topics.enable"] == "false"


def test_log_dirs_is_the_data_dir(tmp_path: Path) -> None:
    data = tmp_path / "broker data"
    assert properties(data)["log.dirs"] == str(data)
