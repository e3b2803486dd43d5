"""Static checks and connection probes for plugin authors: re-exported from
:mod:`adf_core.plugins.checks` (declare them with ``adf_core.component(check=..., probe=...)``).
"""

from adf_core.plugins.checks import (
    Check,
    CheckFailed,
    Options,
    Probe,
    Problem,
    at_most_one,
    exactly_one,
)

__all__ = ["Check", "CheckFailed", "Options", "Probe", "Problem", "at_most_one", "exactly_one"]
