"""The `db` source and destination on SQLAlchemy 2 (SQLite built in; PostgreSQL, MariaDB/MySQL).

URLs: `sqlite:///orders.db`, `postgresql+psycopg://user@host/db` (extra `postgres`),
`mysql+pymysql://root@host/db` (extra `mysql`). SQLAlchemy is imported when a component runs.
"""

import datetime as dt
import decimal
import uuid
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, Literal

from adf_core import component
from adf_core.checks import exactly_one
from adf_core.commit import commit_group
from adf_core.hookspecs import hookimpl
from adf_core.records import iter_batches, select_inputs
from adf_plugins import checks, db_arrow
from adf_plugins._common import Written, safe_url

Record = dict[str, Any]
MODES = ("append", "replace", "upsert")


class RecordError(ValueError):
    """A record that does not fit the table, naming its number and the table."""


def _engine(url: str, *, write: bool = False) -> Any:
    import sqlalchemy as sa

    if not url.startswith("sqlite"):
        return sa.create_engine(url)
    database = sa.engine.make_url(url).database
    if write and database and database != ":memory:" and not database.startswith("file:"):
        Path(database).parent.mkdir(parents=True, exist_ok=True)  # as the file destination does
    # SQLite writers queue on one file lock: wait for it (60 s) rather than fail at once
    engine = sa.create_engine(url, connect_args={"timeout": 60.0} if write else {})

    # pysqlite opens transactions lazily and not before DDL: take over BEGIN so that
    # CREATE TABLE and DELETE roll back with the inserts (SQLAlchemy's documented recipe).
    # A writer begins IMMEDIATE: two deferred writers on one file would deadlock on upgrade.
    @sa.event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None

    @sa.event.listens_for(engine, "begin")
    def _begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    return engine


def _split_name(table: str) -> tuple[str | None, str]:
    schema, _, name = table.rpartition(".")
    return (schema or None), name


@component(check=[exactly_one("query", "table"), checks.database_url],
           probe=checks.probe_db_source)
def read_db(
    url: str,
    query: str | None = None,
    table: str | None = None,
    batch_size: int | None = None,
    params: dict[str, Any] | None = None,
) -> Iterator[Any]:
    """Read rows from a SQL database, streaming in batches.

    Give a `query` (bind parameters as `:name`, values from `params`) or a `table`. Rows are
    fetched `batch_size` at a time through a server-side cursor where the driver has one
    (psycopg, PyMySQL), so memory stays flat whatever the table size.

    Args:
        url: SQLAlchemy URL (sqlite:///file.db, postgresql+psycopg://..., mysql+pymysql://...).
        query: SQL query to run (exclusive with `table`).
        table: table to read whole (`schema.table` allowed).
        batch_size: rows per batch (default 1000 records, 4096 rows for Arrow batches).
        params: bind parameters of the query.
    """
    import sqlalchemy as sa

    if (query is None) == (table is None):
        raise ValueError("db source: give exactly one of `query` or `table`")
    scheme = db_arrow.backend(url)
    if scheme is not None:  # PostgreSQL and SQLite as Arrow batches through ADBC
        yield from db_arrow.read(url, scheme, query, table, batch_size, params)
        return
    batch_size = max(int(batch_size or 1000), 1)
    engine = _engine(url)
    try:
        with engine.connect() as conn:
            if table is not None:
                schema, name = _split_name(table)
                try:
                    reflected = sa.Table(name, sa.MetaData(), schema=schema, autoload_with=conn)
                except sa.exc.NoSuchTableError:
                    raise LookupError(f"db source {safe_url(url)}: no table {table!r}") from None
                statement: Any = sa.select(reflected)
            else:
                statement = sa.text(query or "")
            conn = conn.execution_options(stream_results=True, max_row_buffer=batch_size)
            try:
                result = conn.execute(statement, params or {})
            except sa.exc.SQLAlchemyError as exc:
                raise RuntimeError(
                    f"db source {safe_url(url)}: {type(exc.orig or exc).__name__}: "
                    f"{exc.orig or exc}"
                ) from exc
            keys = list(result.keys())
            for rows in result.partitions(batch_size):
                yield [dict(zip(keys, row, strict=True)) for row in rows]
    finally:
        engine.dispose()


def _column_type(values: list[Any], dialect: str, is_key: bool) -> Any:
    import sqlalchemy as sa
    from sqlalchemy.dialects import mysql

    sample = next((v for v in values if v is not None), None)
    if isinstance(sample, bool):
        return sa.Boolean()
    if isinstance(sample, int):
        return sa.BigInteger()
    if isinstance(sample, float):
        return sa.Double()
    if isinstance(sample, decimal.Decimal):
        return sa.Numeric(38, 10) if dialect in ("mysql", "mariadb") else sa.Numeric()
    if isinstance(sample, dt.datetime):
        aware = sample.tzinfo is not None
        return sa.DateTime(timezone=aware).with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")
    if isinstance(sample, dt.date):
        return sa.Date()
    if isinstance(sample, dt.time):
        return sa.Time()
    if isinstance(sample, bytes):
        return sa.LargeBinary()
    if isinstance(sample, dict | list):
        return sa.JSON()
    if isinstance(sample, uuid.UUID):
        return sa.Uuid()
    # strings and unknown: keys need a bounded length on MySQL/MariaDB
    return sa.String(255) if is_key else sa.Text()


def _create_table(
    conn: Any, schema: str | None, name: str, batch: list[Record], key: list[str]
) -> Any:
    import sqlalchemy as sa

    fields: dict[str, list[Any]] = {}
    for record in batch:
        for field, value in record.items():
            fields.setdefault(field, []).append(value)
    missing = [k for k in key if k not in fields]
    if missing:
        raise RecordError(f"the key field(s) {', '.join(missing)} are not in the first records")
    dialect = conn.dialect.name
    columns = [
        sa.Column(field, _column_type(values, dialect, field in key), primary_key=field in key)
        for field, values in fields.items()
    ]
    table = sa.Table(name, sa.MetaData(), *columns, schema=schema)
    table.create(conn)
    return table


def _where(schema: str | None, name: str) -> str:
    return f"{schema}.{name}" if schema else name


def _insert(conn: Any, table: Any, batch: list[Record], numbers: list[int], where: str,
            label: str) -> None:
    """Insert a batch; on failure, find and name the record that does not fit.

    ``numbers`` holds each record's number within its input (1-based), for the errors.
    """
    import sqlalchemy as sa

    columns = table.columns.keys()
    known = set(columns)
    rows = []
    for offset, record in enumerate(batch):
        extra = record.keys() - known
        if extra:
            raise RecordError(
                f"record {numbers[offset]} ({label}) does not fit table {where!r}: it has no "
                f"column {', '.join(map(repr, sorted(extra)))} (columns: {', '.join(columns)})"
            )
        rows.append(record if len(record) == len(known) else {c: record.get(c) for c in columns})
    savepoint = conn.begin_nested()
    try:
        conn.execute(table.insert(), rows)
    except (sa.exc.StatementError, OverflowError):  # a driver error, or a value it cannot
        savepoint.rollback()                          # bind (SQLite: an int over 64 bits)
    else:
        savepoint.commit()
        return
    for offset, row in enumerate(rows):
        savepoint = conn.begin_nested()
        try:
            conn.execute(table.insert(), [row])
        except (sa.exc.StatementError, OverflowError) as exc:
            savepoint.rollback()
            cause = getattr(exc, "orig", exc)
            raise RecordError(
                f"record {numbers[offset]} ({label}) does not fit table {where!r}: "
                f"{type(cause).__name__}: {str(cause).strip().splitlines()[0]}"
            ) from None
        savepoint.rollback()
    raise RuntimeError(
        f"inserting records {numbers[0]}-{numbers[-1]} ({label}) into {where!r} failed")


def _delete_keys(conn: Any, table: Any, batch: list[Record], key: list[str],
                 numbers: list[int]) -> tuple[list[Record], list[int]]:
    """Upsert by delete-then-insert (portable, in the same transaction); last record wins.

    Returns the records to insert and their numbers (kept for the errors).
    """
    import sqlalchemy as sa

    latest: dict[Any, tuple[int, Record]] = {}
    for number, record in zip(numbers, batch, strict=True):
        latest[tuple(record.get(k) for k in key)] = (number, record)
    keys = list(latest)
    if len(key) == 1:
        condition = table.c[key[0]].in_([k[0] for k in keys])
    else:
        condition = sa.tuple_(*(table.c[k] for k in key)).in_(keys)
    conn.execute(table.delete().where(condition))
    return [record for _, record in latest.values()], [number for number, _ in latest.values()]


@component(check=[checks.database_url, checks.upsert_key], probe=checks.probe_db_destination)
def write_db(
    url: str,
    table: str,
    mode: Literal["append", "replace", "upsert"] = "append",
    key: list[str] | None = None,
    upstream: Mapping[str, Any] | None = None,
    context: Mapping[str, Any] | None = None,
    input: list[str] | None = None,
    batch_size: int = 1000,
) -> Written:
    """Write records to a SQL table in one transaction (append, replace, or upsert by key).

    A missing table is created from the first batch's fields (types from their values; the
    `key` fields become the primary key). `replace` deletes every row first, `upsert`
    deletes the rows whose key is in the batch, then inserts (portable across databases; the
    last record with a key wins). Everything happens in one transaction: a failure, a bad
    record or a failed sibling rolls it back, and a table this run created is dropped again.
    A record that does not fit (an unknown field, a value of the wrong type) is an error
    naming its number and the table.

    Args:
        url: SQLAlchemy URL (sqlite:///file.db, postgresql+psycopg://..., mysql+pymysql://...).
        table: target table (`schema.table` allowed).
        mode: append, replace or upsert.
        key: key field(s) for upsert, and the primary key of a created table.
        input: context keys to write instead of every member of the previous stage.
        batch_size: records per INSERT batch.
    """
    # register with the other destinations of the run first, before any slow import
    schema, name = _split_name(table)
    where = _where(schema, name)
    # one SQLite file is one lock; elsewhere, writers to one table may block each other
    same = url if url.startswith("sqlite") else f"{url} {where}"
    with commit_group(f"the table {where!r}", resource=same) as ready:
        import sqlalchemy as sa

        if mode not in MODES:
            raise ValueError(
                f"db destination: unknown mode {mode!r}; use one of {', '.join(MODES)}"
            )
        if isinstance(key, str):
            key = [k.strip() for k in key.split(",") if k.strip()]
        key = list(key or [])
        if mode == "upsert" and not key:
            raise ValueError("db destination: mode 'upsert' needs the `key` option")
        inputs = list(select_inputs(upstream, context, input))
        scheme = db_arrow.backend(url)
        arrow = db_arrow.arrow_inputs(inputs) if scheme is not None else None
        if scheme is not None and arrow is not None:  # Arrow input: ADBC bulk ingest (COPY)
            count = db_arrow.write(url, scheme, schema, name, where, mode, key, arrow, ready)
            return Written(f"{safe_url(url)} {where}", count)
        engine = _engine(url, write=True)
        created = False
        count = 0
        try:
            try:
                with engine.begin() as conn:
                    target: Any = None
                    if sa.inspect(conn).has_table(name, schema=schema):
                        target = sa.Table(name, sa.MetaData(), schema=schema, autoload_with=conn)
                        if mode == "replace":
                            conn.execute(target.delete())
                    for input_name, data in inputs:
                        label = f"input {input_name!r}"
                        seen = 0  # records of this input so far: errors number within it
                        for batch in iter_batches(data, batch_size=max(int(batch_size), 1)):
                            if target is None:
                                target = _create_table(conn, schema, name, batch, key)
                                created = True
                            rows = batch
                            numbers = list(range(seen + 1, seen + len(batch) + 1))
                            if mode == "upsert":
                                rows, numbers = _delete_keys(conn, target, batch, key, numbers)
                            _insert(conn, target, rows, numbers, where, label)
                            seen += len(batch)
                            count += len(batch)
                    ready()
            except BaseException:
                if created:
                    _drop_if_left(engine, schema, name)
                raise
        finally:
            engine.dispose()
    return Written(f"{safe_url(url)} {where}", count)


def _drop_if_left(engine: Any, schema: str | None, name: str) -> None:
    """MySQL/MariaDB commit DDL implicitly: drop a table this failed run created."""
    import sqlalchemy as sa

    try:
        with engine.begin() as conn:
            if sa.inspect(conn).has_table(name, schema=schema):
                sa.Table(name, sa.MetaData(), schema=schema).drop(conn)
    except sa.exc.SQLAlchemyError:  # pragma: no cover - best effort after a failure
        pass


@hookimpl
def adf_sources() -> dict[str, Callable[..., Any]]:
    return {"db": read_db}


@hookimpl
def adf_destinations() -> dict[str, Callable[..., Any]]:
    return {"db": write_db}


# Built-ins run in this process whatever the flow's executor (DESIGN 11): they stream, join a
# commit group or move records that would cost more to pickle than to process.
for _builtin in (read_db, write_db):
    component(in_process=True)(_builtin)
