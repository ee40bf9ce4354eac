"""Statistics: observations and per-minute buckets (pure), the report, the agent.

buckets, observations and report are pure (core only); agent is Faust wiring.
"""
