"""Library log records at the level they deserve here.

aiokafka logs every failed lookup of a consumer group's coordinator at ERROR, also when the
error is one it retries until it succeeds: a process started right after a fresh broker logs
``Group Coordinator Request failed: [Error 15] GroupCoordinatorNotAvailableError`` while the
broker is still loading its offsets topic, and then goes on as if nothing happened. Such a
retried lookup is logged as a WARNING; a lookup error aiokafka does not retry stays an ERROR.
"""

from __future__ import annotations

import logging

COORDINATOR_LOGGER = "aiokafka.consumer.group_coordinator"
#: aiokafka's own format string for the failed lookup (matched exactly, so a changed message
#: is left as it is).
FAILED_LOOKUP = "Group Coordinator Request failed: %s"


class RetriedLookupAsWarning(logging.Filter):
    """Lowers aiokafka's failed coordinator lookup to WARNING when the error is retriable."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno == logging.ERROR and record.msg == FAILED_LOOKUP:
            error = record.args[0] if isinstance(record.args, tuple) and record.args else None
            if getattr(error, "retriable", False):
                record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


def install() -> None:
    """Add the filter to aiokafka's coordinator logger (once)."""
    logger = logging.getLogger(COORDINATOR_LOGGER)
    if not any(isinstance(f, RetriedLookupAsWarning) for f in logger.filters):
        logger.addFilter(RetriedLookupAsWarning())
