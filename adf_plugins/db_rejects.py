"""Finding the records of a batch the database refused, for the `db` destination under
``on_error = skip | dead_letter``, without paying one statement per record.

A batch is inserted in one statement; when the database refuses it, the records that cannot
be stored must be found, rejected, and the others written. First the values the column
certainly cannot take are looked for in Python (what SQLAlchemy's BOOLEAN refuses, an
integer beyond 64 bits): with 1% bad records, that finds them all and the rest goes in one
more statement. What remains is found by halving: each half is tried in its own SAVEPOINT,
a half that fails is halved again, down to single records.
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


def insert_around_bad(conn: Any, table: Any, rows: list[Record],
                      on_error: Callable[[int, str], None]) -> int:
    """Insert ``rows`` (which failed as one statement) but the ones the database refuses;
    ``on_error(index, problem)`` is called for each of those, in order. Returns the number
    written."""
    import sqlalchemy as sa

    errors = (sa.exc.StatementError, OverflowError)
    refused: list[tuple[int, str]] = []
    indices = list(range(len(rows)))
    checks = certain_problems(table)
    retry_whole = False
    if checks:
        clean = []
        for index in indices:
            problem = _first_problem(rows[index], checks)
            if problem is None:
                clean.append(index)
            else:
                refused.append((index, problem))
        retry_whole = len(clean) < len(indices)
        indices = clean
    written = _halving(conn, table, rows, indices, refused, errors, tried=not retry_whole)
    for index, problem in sorted(refused):
        on_error(index, problem)
    return written


def _first_problem(row: Record, checks: dict[str, Callable[[Any], str | None]]) -> str | None:
    for field, check in checks.items():
        value = row.get(field)
        if value is not None:
            problem = check(value)
            if problem is not None:
                return f"field {field!r}: {problem}"
    return None


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
