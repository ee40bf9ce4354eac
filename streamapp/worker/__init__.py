"""Thin Faust wiring of the worker: agents, control agent, outbox, deadline clock.

May import the app, settings, core, stats and kafka_admin; never web or processes.
"""
