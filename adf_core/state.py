"""Saved state for plugin authors (DESIGN 14): re-exported from :mod:`adf_core.engine`.

A component keeps state between runs by taking the reserved parameter ``state`` (a dict of
JSON values, saved only when the run succeeded); ``component(state_when="OPTION")`` makes
that depend on an option. A destination that writes to a SQL database calls
``write_state_in(connection, url)`` right before its COMMIT, so that the state commits with
the data when the store is that same database.
"""

from adf_core.data.state_store import StateStore, store_url
from adf_core.engine.run_info import current_component
from adf_core.engine.saved_state import write_state_in, write_state_with

__all__ = ["StateStore", "current_component", "store_url", "write_state_in", "write_state_with"]
