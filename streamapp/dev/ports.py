"""Ports for throwaway servers (tests, benchmarks, a dev MLServer, ``rendezvous demo
--free-ports``): free ones on 127.0.0.1."""

from __future__ import annotations

import socket

#: The variables that place the dev deployment's listeners: broker, its controller, the
#: worker's REST API and the console. The bootstrap servers follow the broker's port.
DEV_PORT_VARIABLES = (
    "RENDEZVOUS_KAFKA_PORT",
    "RENDEZVOUS_KAFKA_CONTROLLER_PORT",
    "RENDEZVOUS_WEB_PORT",
    "RENDEZVOUS_CONSOLE_PORT",
)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (the OS picks it)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def free_dev_ports(*, kafka_port: int | None = None) -> dict[str, str]:
    """A free port for each of :data:`DEV_PORT_VARIABLES`, as environment values.

    ``kafka_port`` keeps a broker that already runs where it is (its controller port is then
    not needed).
    """
    chosen: dict[str, str] = {}
    while len(set(chosen.values())) < len(DEV_PORT_VARIABLES):  # the OS may repeat a port
        chosen = {name: str(free_port()) for name in DEV_PORT_VARIABLES}
        if kafka_port is not None:
            chosen["RENDEZVOUS_KAFKA_PORT"] = str(kafka_port)
    return chosen
