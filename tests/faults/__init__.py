"""Fault suite: real broker, real processes, steady open-loop load, every copy on the wire read."""
