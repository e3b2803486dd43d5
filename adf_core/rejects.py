"""Bad records and data warnings, for component authors: re-exported from
:mod:`adf_core.engine.reporting`.

``reject(record, error, position=..., input=...)`` applies the calling component's
``on_error`` policy (fail, skip, dead_letter) and its ``max_errors`` budget;
``current_policy()`` tells the policy; ``warn(message)`` reports a data warning (an error
under ``strict``). ``line_rejecter(source)`` and ``record_rejecter()`` give the
``on_bad`` / ``on_unwritable`` callbacks of :mod:`adf_core.data.formats`' readers and writers
(None under ``fail``): a connector that reads or writes files gets the policy in one line.
"""

from adf_core.engine.reporting import DataWarning, current_policy, reject, warn
from adf_core.engine.tolerance import line_rejecter, record_rejecter

__all__ = ["DataWarning", "current_policy", "line_rejecter", "record_rejecter", "reject",
           "warn"]
