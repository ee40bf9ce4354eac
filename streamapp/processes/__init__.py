"""Processes that are not the Faust worker: model process, decoy, faults.

Plain aiokafka; may import core, settings, kafka_admin, fetch_tuning, library_logs, archive
and models.
"""
