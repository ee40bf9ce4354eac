"""The operator console (Dash): talks to the worker only over HTTP, through console/api.py."""
