"""Bad records and data warnings, for component authors: re-exported from
:mod:`adf_core.engine.reporting`.

``reject(record, error, position=..., input=...)`` applies the calling component's
``on_error`` policy (fail, skip, dead_letter) and its ``max_errors`` budget;
``current_policy()`` tells the policy; ``warn(message)`` reports a data warning (an error
under ``strict``).
"""

from adf_core.engine.reporting import DataWarning, current_policy, reject, warn

__all__ = ["DataWarning", "current_policy", "reject", "warn"]
