"""A real MLServer 1.7.1 for tests and benchmarks: its own virtual env, 127.0.0.1, free ports.

``scripts/ensure-mlserver.sh`` installs it (once) into ``.cache/mlserver-venv``; a failure to
install or start it raises MLServerError (the tests fail on it, never skip).
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import httpx

from streamapp.dev.ports import free_port

REPO = Path(__file__).resolve().parents[2]
VENV = Path(os.environ.get("RENDEZVOUS_MLSERVER_VENV", REPO / ".cache" / "mlserver-venv"))
START_TIMEOUT_S = 120.0


class MLServerError(RuntimeError):
    """MLServer could not be installed or started (the message says why, with its log)."""


def ensure_installed() -> Path:
    """The ``mlserver`` command, installing it first if needed (bounded: 10 minutes)."""
    script = REPO / "scripts" / "ensure-mlserver.sh"
    done = subprocess.run(
        ["bash", str(script)], capture_output=True, text=True, timeout=600, cwd=REPO, check=False
    )
    if done.returncode != 0:
        raise MLServerError(f"{script} failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return VENV / "bin" / "mlserver"


class MLServer:
    """One MLServer process serving a model repository (``mlserver start DIR``)."""

    def __init__(self, repository: Path, log: Path) -> None:
        self.repository = repository
        self.log = log
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def root(self) -> str:
        """``http://127.0.0.1:<port>``."""
        return f"http://127.0.0.1:{self.port}"

    def model_url(self, name: str) -> str:
        """The OIP URL of one model."""
        return f"{self.root}/v2/models/{name}"

    def start(self, *models: str) -> MLServer:
        """Start it and wait (bounded) until every named model is ready."""
        command = ensure_installed()
        env = {
            **os.environ,
            "MLSERVER_HOST": "127.0.0.1",
            "MLSERVER_HTTP_PORT": str(self.port),
            "MLSERVER_GRPC_PORT": str(free_port()),
            "MLSERVER_METRICS_PORT": str(free_port()),
        }
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [str(command), "start", str(self.repository)],
                env=env,
                cwd=self.repository,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise MLServerError(f"mlserver exited ({self.process.returncode}):\n{self.tail()}")
            if all(self.ready(name) for name in models):
                return self
            time.sleep(0.3)
        self.stop()
        raise MLServerError(f"mlserver not ready in {START_TIMEOUT_S:.0f}s:\n{self.tail()}")

    def ready(self, model: str) -> bool:
        """Whether the server says the model is ready."""
        try:
            return httpx.get(f"{self.model_url(model)}/ready", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def stop(self) -> None:
        """Stop it (SIGTERM to its process group, then SIGKILL)."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)

    def tail(self) -> str:
        """The end of its log."""
        return self.log.read_text(errors="replace")[-4000:] if self.log.exists() else ""
