"""Engine events through structlog, at next to no cost when nobody listens.

The library never configures logging. If the application has not imported structlog, it
cannot have configured it, and the engine emits nothing (and does not import it). When the
application filters info events out, the runner skips building them altogether.
"""

from __future__ import annotations

import logging
import sys
from typing import Any


def run_logger(run_id: str) -> tuple[Any, bool]:
    """A logger bound with ``run_id`` (or None) and whether info events are enabled."""
    structlog = sys.modules.get("structlog")
    if structlog is None or not structlog.is_configured():
        return None, False
    log = structlog.get_logger("adf").bind(run_id=run_id)
    enabled = getattr(log, "is_enabled_for", None)
    info_on = True if enabled is None else bool(enabled(logging.INFO))
    return log, info_on
