"""The pure core imports nothing from the app, settings, clocks or I/O (issue: layout)."""

from __future__ import annotations

import ast
import pkgutil
import subprocess
import sys
from pathlib import Path

import streamapp.core

CORE = Path(streamapp.core.__file__).parent
#: What the core must never load: the rest of the project, and every library that does I/O.
FORBIDDEN = (
    "streamapp.app",
    "streamapp.settings",
    "streamapp.worker",
    "streamapp.web",
    "streamapp.stats",
    "streamapp.archive",
    "streamapp.processes",
    "streamapp.kafka_admin",
    "streamapp.cli",
    "streamapp.dev",
    "faust.app",
    "faust.tables",
    "faust.transport",
    "faust.web",
    "aiokafka",
    "rocksdict",
    "httpx",
    "pydantic_settings",
)
#: Standard modules that read a clock, the environment, the network or randomness.
IMPURE_STDLIB = {"time", "datetime", "asyncio", "os", "socket", "random", "subprocess", "threading"}

BLOCKER = """
import importlib.abc, pkgutil, sys
FORBIDDEN = {forbidden!r}
class Blocked(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if any(name == f or name.startswith(f + ".") for f in FORBIDDEN):
            raise ImportError(f"the core imported {{name}}")
        return None
sys.meta_path.insert(0, Blocked())
import streamapp.core
for info in pkgutil.iter_modules(streamapp.core.__path__):
    __import__(f"streamapp.core.{{info.name}}")
print("imported", sorted(info.name for info in pkgutil.iter_modules(streamapp.core.__path__)))
"""


def core_modules() -> list[str]:
    """Every module of the core package."""
    return [info.name for info in pkgutil.iter_modules([str(CORE)])]


def test_every_core_module_imports_with_the_app_settings_and_io_libraries_unavailable() -> None:
    script = BLOCKER.format(forbidden=FORBIDDEN)
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "records" in run.stdout and "policy" in run.stdout


def test_no_core_module_imports_a_clock_the_environment_or_randomness() -> None:
    offenders = []
    for name in core_modules():
        tree = ast.parse((CORE / f"{name}.py").read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                found = [alias.name.split(".")[0] for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                found = [(node.module or "").split(".")[0]]
            else:
                continue
            offenders += [f"{name}: {module}" for module in found if module in IMPURE_STDLIB]
    assert len(core_modules()) >= 7
    assert offenders == []
