"""Thin Faust wiring of the worker: agents, control agent, outbox, deadline clock.

May import the app, settings, core, stats, kafka_admin and fetch_tuning; never web or
processes.
"""
