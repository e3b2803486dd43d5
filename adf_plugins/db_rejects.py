"""Finding the records of a batch the database would refuse, for the `db` destination under
``on_error = skip | dead_letter``, without paying one statement per record.

A batch is inserted in one statement. Under skip or dead_letter, the values a column
certainly cannot take (what SQLAlchemy's BOOLEAN refuses, an integer beyond 64 bits) are
looked for in Python first (:func:`certainly_bad`, one pass per such column): their records
are rejected before the statement, which then goes through. When the database still refuses
the batch, the records it refuses are found by halving: each half is tried in its own
SAVEPOINT, a half that fails is halved again, down to single records.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Record = dict[str, Any]
_STRICT_BOOLS = frozenset([None, True, False])  # what SQLAlchemy's Boolean binds
_INT64 = (-(2 ** 63), 2 ** 63 - 1)


def certain_problems(table: Any) -> dict[str, Callable[[Any], str | None]]:
    """Per column, a check of the values it certainly cannot take (None: fine)."""
    import sqlalchemy as sa

    checks: dict[str, Callable[[Any], str | None]] = {}
    for column in table.columns:
        if isinstance(column.type, sa.Boolean):
            checks[column.name] = _not_boolean
        elif isinstance(column.type, sa.Integer):
            checks[column.name] = _beyond_int64
    return checks


def _not_boolean(value: Any) -> str | None:
    try:
        if value in _STRICT_BOOLS:
            return None
    except TypeError:  # unhashable
        pass
    return f"{value!r:.60} is not a boolean"


def _beyond_int64(value: Any) -> str | None:
    if isinstance(value, int) and not _INT64[0] <= value <= _INT64[1]:
        return f"{value} does not fit in a 64-bit integer"
    return None


def certainly_bad(rows: list[Record], checks: dict[str, Callable[[Any], str | None]]
                  ) -> dict[int, str]:
    """``index -> problem`` for the rows holding a value a column certainly cannot take."""
    found: dict[int, str] = {}
    for field, check in checks.items():
        try:
            if check is _not_boolean:
                suspects = [i for i, row in enumerate(rows)
                            if row.get(field) not in _STRICT_BOOLS]
            else:
                low, high = _INT64
                suspects = [i for i, row in enumerate(rows)
                            if type(value := row.get(field)) is int
                            and not low <= value <= high]
        except TypeError:  # an unhashable value: look at each row
            suspects = list(range(len(rows)))
        for index in suspects:
            if index not in found:
                problem = check(rows[index].get(field))
                if problem is not None:
                    found[index] = f"field {field!r}: {problem}"
    return found


def insert_around_bad(conn: Any, table: Any, rows: list[Record],
                      on_error: Callable[[int, str], None]) -> int:
    """Insert ``rows`` (which failed as one statement) but the ones the database refuses;
    ``on_error(index, problem)`` is called for each of those, in order. Returns the number
    written."""
    import sqlalchemy as sa

    errors = (sa.exc.StatementError, OverflowError)
    refused: list[tuple[int, str]] = []
    written = _halving(conn, table, rows, list(range(len(rows))), refused, errors, tried=True)
    for index, problem in sorted(refused):
        on_error(index, problem)
    return written


def _halving(conn: Any, table: Any, rows: list[Record], indices: list[int],
             refused: list[tuple[int, str]], errors: tuple[type[BaseException], ...],
             tried: bool) -> int:
    """Write ``indices`` of ``rows``; ``tried``: they already failed as one statement."""
    if not indices:
        return 0
    if not tried:
        savepoint = conn.begin_nested()
        try:
            conn.execute(table.insert(), [rows[i] for i in indices])
        except errors as exc:
            savepoint.rollback()
            if len(indices) == 1:
                cause = getattr(exc, "orig", None) or exc
                refused.append((indices[0], f"{type(cause).__name__}: "
                                            f"{str(cause).strip().splitlines()[0]}"))
                return 0
        else:
            savepoint.commit()
            return len(indices)
    middle = len(indices) // 2
    return (_halving(conn, table, rows, indices[:middle], refused, errors, tried=False)
            + _halving(conn, table, rows, indices[middle:], refused, errors, tried=False))
