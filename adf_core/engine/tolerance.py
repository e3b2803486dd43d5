"""The bad-record policy wired into the record readers and writers of
:mod:`adf_core.data.formats`, for connectors that read files or write records (``file``,
``adf-plugin-s3``).

``line_rejecter(source)`` and ``record_rejecter()`` return None under ``on_error = "fail"``:
the readers and writers then raise at the first bad line or record, on their fast path.
Otherwise they return the ``on_bad`` / ``on_unwritable`` callback that hands each bad line
or record to :func:`adf_core.engine.reporting.reject`.
"""

from __future__ import annotations

from typing import Any

from adf_core.data.formats import OnBadLine, OnUnwritable, Record
from adf_core.engine.reporting import current_policy, reject


def line_rejecter(source: str, input: str | None = None) -> OnBadLine | None:
    """Rejects the bad lines of ``source`` (a path, an ``s3://`` URI) with the position
    ``{"file": source, "line": n}`` (``{"file", "record"}`` for an element of a json array)."""
    if current_policy() == "fail":
        return None
    name = source if input is None else input

    def on_bad(raw: Any, error: Exception, place: dict[str, int]) -> None:
        reject(raw, error, position={"file": source, **place}, input=name)

    return on_bad


def record_rejecter() -> OnUnwritable | None:
    """Rejects the records a writer cannot write, with the position ``{"record": n}`` (the
    number within its input)."""
    if current_policy() == "fail":
        return None

    def on_unwritable(record: Record, error: Exception, number: int, where: str) -> None:
        reject(record, error, position=number, input=input_name(where))

    return on_unwritable


def input_name(where: str) -> str:
    """``"input 'orders'"`` (how writers name an input in their errors) is ``orders``."""
    if where.startswith("input '") and where.endswith("'"):
        return where[len("input '"):-1]
    return where
