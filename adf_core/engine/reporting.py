"""What a running component reports about its data: bad records and warnings.

``reject(record, error, ...)`` applies the calling component's bad-record policy (see
:mod:`adf_core.engine.rejects`); ``warn(message)`` records a data warning (see
:mod:`adf_core.engine.data_warnings`). Both work from a sync component's thread, a sync
generator's thread and from coroutines on the loop: the engine marks which component is
running where. Outside a run (a component called directly, or one sent to another process)
``reject`` raises the error, as under ``on_error = "fail"``, and ``warn`` issues a Python
``DataWarning``.
"""

from __future__ import annotations

import contextvars
import warnings as _warnings
from collections.abc import Mapping
from typing import Any

from adf_core.engine.rejects import as_exception, position_of
from adf_core.engine.run_info import current_component, current_run

#: The component running on the loop (coroutines, async generators) or pumping a sync
#: generator; sync components in pool threads are known by ``current_component()``.
_reporter: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "adf_reporting_component", default=None)


class DataWarning(UserWarning):
    """A data warning given outside a run."""


def set_reporter(alias: str | None) -> contextvars.Token[str | None]:
    return _reporter.set(alias)


def reset_reporter(token: contextvars.Token[str | None]) -> None:
    _reporter.reset(token)


def calling_component() -> str | None:
    """The alias of the component calling (in its thread or task), or None."""
    return current_component() or _reporter.get()


def reject(record: Any, error: BaseException | str, *, position: int | Mapping[str, Any] |
           None = None, input: str | None = None) -> None:
    """Report a record the calling component cannot read or write.

    ``record`` is the raw line (str or bytes) or the record (a dict); ``error`` the exception
    or a message; ``position`` the record's place, ``{"file": path, "line": n}`` for a file,
    or its number within its input (``17``, shown as ``{"record": 17}``); ``input`` the name
    of the input it came from (a file, an upstream alias, a context key).

    Under ``on_error = "fail"`` (the default) this raises ``error`` (a message becomes a
    ``BadRecordError`` naming the place); under ``skip`` it counts the record and returns;
    under ``dead_letter`` it also keeps the record for the dead-letter file. Past
    ``max_errors`` it raises ``TooManyBadRecords``. Drop the record after it returns.
    """
    run = current_run()
    rejects = run.rejects if run is not None else None
    slot = rejects.slot(calling_component()) if rejects is not None else None
    if slot is None:
        raise as_exception(error, input, position_of(position), calling_component())
    slot.reject(record, error, position, input)


def current_policy() -> str:
    """The calling component's ``on_error`` policy: fail, skip or dead_letter (``fail``
    outside a run). A connector may take a faster path under ``fail``."""
    run = current_run()
    rejects = run.rejects if run is not None else None
    policy = rejects.policy(calling_component()) if rejects is not None else None
    return policy or "fail"


def warn(message: str, **fields: Any) -> None:
    """Report something that loses data without failing (a filter that names a field no
    record has): a ``data.warning`` event, listed in the run summary, an error under
    ``strict`` (``DataWarningError``). ``fields`` are added to the event (JSON values)."""
    run = current_run()
    collected = run.warnings if run is not None else None
    if collected is None:
        _warnings.warn(message, DataWarning, stacklevel=2)
        return
    collected.add(calling_component(), message, **fields)
