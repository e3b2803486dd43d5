"""Fixtures for the engine tests: a structlog state that never leaks between tests."""

from __future__ import annotations

import pytest


@pytest.fixture
def structlog_clean():
    """structlog as an application that never configured it; restored afterwards."""
    structlog = pytest.importorskip("structlog")
    structlog.reset_defaults()
    yield structlog
    structlog.reset_defaults()


@pytest.fixture
def events(structlog_clean):
    """Capture every engine event as a dict (``structlog.testing.capture_logs``)."""
    from structlog.testing import LogCapture

    capture = LogCapture()
    structlog_clean.configure(processors=[capture])
    return capture.entries
