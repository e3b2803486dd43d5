"""Columnar batches (DESIGN 13): whether a run moves Arrow batches, and helpers that use them.

This package is imported by the engine and the CLI, so it must not import pyarrow itself:
its modules that need pyarrow (``convert``, ``compute``, ``files``, ...) import it at call
time or are imported only by components that move Arrow.

The batch format of a run is ``"arrow"`` when pyarrow is installed and ``"records"`` (plain
dicts, the behaviour before Arrow) otherwise, outside a run, or when a flow asks for it:
``DataFlow(batch_format="records")``, ``[settings] batch_format = "records"`` or the
environment variable ``ADF_BATCH_FORMAT=records``. Built-in components ask
:func:`arrow_enabled` before taking their columnar path.
"""

from __future__ import annotations

import contextvars
import importlib.util
import os
from typing import Any

#: The environment variable that sets the batch format of flows that do not set it.
ENV = "ADF_BATCH_FORMAT"
FORMATS = ("arrow", "records")

_format: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "adf_batch_format", default=None)
_installed: bool | None = None


def pyarrow_installed() -> bool:
    """True when pyarrow can be imported (found without importing it)."""
    global _installed
    if _installed is None:
        _installed = importlib.util.find_spec("pyarrow") is not None
    return _installed


def check_batch_format(value: Any, where: str = "batch_format") -> str:
    """``value`` as a batch format name; anything else is a ValueError naming the choices."""
    name = value.strip().lower() if isinstance(value, str) else value
    if name not in FORMATS:
        raise ValueError(f"{where} must be 'arrow' or 'records', got {value!r}")
    return str(name)


def default_batch_format() -> str:
    """``ADF_BATCH_FORMAT`` when set, else ``"arrow"``."""
    value = os.environ.get(ENV, "").strip()
    return check_batch_format(value, ENV) if value else "arrow"


def current_batch_format() -> str:
    """The batch format of the running flow. Outside a run (a component called directly from
    Python) it is ``ADF_BATCH_FORMAT`` or ``"records"``: such callers were written for
    dicts."""
    inside = _format.get()
    if inside:
        return inside
    value = os.environ.get(ENV, "").strip()
    return check_batch_format(value, ENV) if value else "records"


def arrow_enabled() -> bool:
    """True when built-in components should move Arrow batches: the run's batch format is
    ``"arrow"`` and pyarrow is installed."""
    return current_batch_format() == "arrow" and pyarrow_installed()


def moved_format() -> str | None:
    """The ``format`` a built-in passes to ``iter_batches``: None (batches as they come,
    Arrow or records) when the run moves Arrow, ``"records"`` when it moves dicts."""
    return None if arrow_enabled() else "records"


def use_batch_format(value: str | None) -> contextvars.Token[str | None]:
    """Set the batch format for the calling context (the engine does, per run)."""
    return _format.set(value)


def reset_batch_format(token: contextvars.Token[str | None]) -> None:
    _format.reset(token)
