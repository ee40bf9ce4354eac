"""aiokafka's retried coordinator lookup is a WARNING here; one it gives up on stays an ERROR."""

from __future__ import annotations

import logging

import pytest
from aiokafka import errors

from streamapp import library_logs


@pytest.fixture
def coordinator_log(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    library_logs.install()
    library_logs.install()  # installed by the worker and the process runner: filters once
    logger = logging.getLogger(library_logs.COORDINATOR_LOGGER)
    assert sum(isinstance(f, library_logs.RetriedLookupAsWarning) for f in logger.filters) == 1
    caplog.set_level(logging.INFO, logger=library_logs.COORDINATOR_LOGGER)
    return caplog


def log_failed_lookup(error: Exception) -> None:
    """What aiokafka's coordinator lookup logs when the lookup raises ``error``."""
    logging.getLogger(library_logs.COORDINATOR_LOGGER).error(
        "Group Coordinator Request failed: %s", error
    )


def test_a_coordinator_still_loading_is_logged_as_a_warning(
    coordinator_log: pytest.LogCaptureFixture,
) -> None:
    log_failed_lookup(errors.GroupCoordinatorNotAvailableError())
    (record,) = coordinator_log.records
    assert (record.levelname, record.levelno) == ("WARNING", logging.WARNING)
    assert "GroupCoordinatorNotAvailableError" in record.getMessage()


def test_an_error_aiokafka_does_not_retry_stays_an_error(
    coordinator_log: pytest.LogCaptureFixture,
) -> None:
    log_failed_lookup(errors.UnsupportedVersionError())
    (record,) = coordinator_log.records
    assert record.levelname == "ERROR"
