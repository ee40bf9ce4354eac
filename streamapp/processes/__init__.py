"""Processes that are not the Faust worker: model process, decoy, faults, the worker's
statistics reports.

Plain aiokafka; may import core, settings, kafka_admin, fetch_tuning, library_logs, archive,
the pure statistics and models.
"""
