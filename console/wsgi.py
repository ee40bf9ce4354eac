"""The console as a WSGI app for a production server: ``gunicorn console.wsgi:server``."""

from __future__ import annotations

from console.app import create_console
from console.cpu_priority import yield_cpu
from console.settings import ConsoleSettings

_settings = ConsoleSettings()
yield_cpu(_settings)
#: The Flask server of the Dash console, configured from RENDEZVOUS_CONSOLE_* variables.
server = create_console(_settings).server
