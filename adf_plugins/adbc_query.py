"""Queries through ADBC's low-level API, each result a ``pyarrow.RecordBatchReader``.

The `db` source reads through this, not through ``adbc_driver_manager.dbapi``: importing the
DB-API module imports polars whenever polars is installed (for its bind-parameter and result
backends), some 30 MB of a source's memory for nothing. A query needs only the driver's
database, a connection and a statement (what the DB-API cursor does underneath).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from typing import Any


@contextmanager
def connection(scheme: str, target: str) -> Iterator[Any]:
    """An ``AdbcConnection`` (autocommit, ADBC's default) to ``target``: a PostgreSQL URI or
    a SQLite database path, for ``scheme`` ``postgresql`` or ``sqlite``."""
    import adbc_driver_manager as adbc

    if scheme == "postgresql":
        import adbc_driver_postgresql as driver
    else:
        import adbc_driver_sqlite as driver  # type: ignore[no-redef]
    database = driver.connect(target)
    try:
        conn = adbc.AdbcConnection(database)
        try:
            yield conn
        finally:
            conn.close()
    finally:
        database.close()


@contextmanager
def query(conn: Any, sql: str, args: Sequence[Any] = (),
          options: Mapping[str, str] | None = None) -> Iterator[Any]:
    """Run ``sql`` (positional parameters ``args``, statement ``options``) and yield the
    reader of its result; the statement is closed afterwards."""
    import adbc_driver_manager as adbc
    import pyarrow as pa

    statement = adbc.AdbcStatement(conn)
    reader = None
    try:
        if options:
            statement.set_options(**options)
        statement.set_sql_query(sql)
        with suppress(adbc.NotSupportedError):  # as the DB-API cursor does
            statement.prepare()
        if args:  # one row of parameters, as the DB-API's pyarrow backend binds them
            statement.bind(pa.record_batch([[value] for value in args],
                                           names=[str(i) for i in range(len(args))]))
        handle, _rows = statement.execute_query()
        reader = pa.RecordBatchReader.from_stream(handle)
        yield reader
    finally:
        if reader is not None:
            reader.close()
        statement.close()


def rows(conn: Any, sql: str) -> list[tuple[Any, ...]]:
    """The whole (small) result of ``sql`` as tuples."""
    with query(conn, sql) as reader:
        table = reader.read_all()
    columns = [column.to_pylist() for column in table.columns]
    return list(zip(*columns, strict=True))
