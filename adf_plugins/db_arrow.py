"""The `db` source and destination's columnar path: PostgreSQL and SQLite through ADBC.

With the `arrow` extra installed (pyarrow and the ADBC drivers) and the batch format not
``records``, `db` reads ``postgresql://`` (any ``+driver`` suffix) and ``sqlite://`` URLs as a
stream of Arrow record batches (binary COPY on PostgreSQL, no Python object per value) and
writes Arrow input through ADBC bulk ingest (COPY on PostgreSQL) inside one transaction. Other
dialects (MariaDB/MySQL) stay on SQLAlchemy (:mod:`adf_plugins.db`). pyarrow and the drivers
are imported only when a component runs.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from adf_plugins._common import safe_url

_DRIVERS = {"postgresql": "adbc_driver_postgresql", "sqlite": "adbc_driver_sqlite"}
#: rows per Arrow batch when `batch_size` is not given: a stream buffers up to 64 batches
#: between stages (the engine's buffer_size), so this bounds memory at ~256k rows in flight
ARROW_BATCH_ROWS = 4096
#: bytes per batch the PostgreSQL driver decodes from the COPY stream before handing it over
PG_BATCH_BYTES = 4 << 20
#: rows per batch the SQLite driver makes: cut into `batch_size` slices without a copy, but for
#: a slice that spans two of them (the typed first row of a table read shifts every cut)
SQLITE_BATCH_ROWS = 65_536


def backend(url: str) -> str | None:
    """``postgresql`` or ``sqlite`` when ``url`` can go through ADBC here, else None.

    None also when the batch format is ``records`` or pyarrow/the driver is not installed.
    """
    scheme = url.split(":", 1)[0].split("+", 1)[0].lower()
    if scheme in ("postgres", "postgresql"):
        scheme = "postgresql"
    module = _DRIVERS.get(scheme)
    if module is None or batch_format() == "records":
        return None
    if importlib.util.find_spec("pyarrow") is None or importlib.util.find_spec(module) is None:
        return None
    return scheme


def batch_format() -> str:
    """``records`` when the run (setting or ``ADF_BATCH_FORMAT``) asks for dicts, else ``arrow``."""
    from adf_core.data.arrow import current_batch_format

    return current_batch_format()


def _where_label() -> str:
    from adf_core.engine.run_info import current_component

    alias = current_component()
    return f"db {alias!r}" if alias else "db"


def _first_line(exc: BaseException) -> str:
    from adf_core.observe.secrets import redact_text

    text = str(exc).strip().splitlines()
    return redact_text(text[0] if text else type(exc).__name__)


def connect(url: str, scheme: str, *, write: bool = False) -> Any:
    """An ADBC DB-API connection in autocommit mode: a writer opens its transaction itself
    (``BEGIN``), so that a savepoint can be rolled back after a failed COPY (the drivers'
    own transaction handling gives up on the connection then)."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if scheme == "postgresql":
        import adbc_driver_postgresql.dbapi as pg

        uri = parsed.set(drivername="postgresql").render_as_string(hide_password=False)
        return pg.connect(uri, autocommit=True)
    import adbc_driver_sqlite.dbapi as lite

    database = parsed.database or ":memory:"
    if write and database != ":memory:" and not database.startswith("file:"):
        from pathlib import Path

        Path(database).parent.mkdir(parents=True, exist_ok=True)
    conn = lite.connect(database, autocommit=True)
    with conn.cursor() as cursor:  # SQLite writers queue on one file lock: wait for it
        cursor.execute("PRAGMA busy_timeout = 60000")
    return conn


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def qualified(schema: str | None, name: str) -> str:
    return f"{quote(schema)}.{quote(name)}" if schema else quote(name)


def _positional(query: str, params: Mapping[str, Any], scheme: str) -> tuple[str, tuple[Any, ...]]:
    """``:name`` bind parameters (as SQLAlchemy's ``text()`` reads them) made positional."""
    import sqlalchemy as sa

    if scheme == "postgresql":
        from sqlalchemy.dialects import postgresql

        dialect: Any = postgresql.dialect(paramstyle="numeric_dollar")
    else:
        from sqlalchemy.dialects import sqlite

        dialect = sqlite.dialect(paramstyle="qmark")
    compiled = sa.text(query).compile(dialect=dialect)
    names = list(compiled.positiontup or [])
    missing = sorted({n for n in names if n not in params})
    if missing:
        raise ValueError(f"the query's parameter(s) {', '.join(missing)} have no value in `params`")
    return str(compiled), tuple(params[n] for n in names)


def read(
    url: str,
    scheme: str,
    query: str | None,
    table: str | None,
    batch_size: int | None,
    params: Mapping[str, Any] | None,
) -> Iterator[Any]:
    """Yield ``pyarrow.RecordBatch`` es of ``batch_size`` rows (the last may be shorter).

    Streams: the driver's reader is consumed batch by batch, so memory stays flat.
    """
    rows = max(int(batch_size), 1) if batch_size else ARROW_BATCH_ROWS
    declared: dict[str, str] = {}
    if table is not None:
        schema, _, name = table.rpartition(".")
        sql, args = f"SELECT * FROM {qualified(schema or None, name)}", ()
    else:
        sql, args = query or "", ()
        if params:
            sql, args = _positional(sql, params, scheme)
    what = f"table {table!r}" if table is not None else f"query {query!r}"
    place = f"{_where_label()} source {safe_url(url)}"
    from adf_plugins import adbc_query

    with contextlib.ExitStack() as stack:
        try:
            conn = stack.enter_context(adbc_query.connection(scheme, _target(url, scheme)))
            if scheme == "sqlite":  # SQLite writers hold the file lock: wait for it
                adbc_query.rows(conn, "PRAGMA busy_timeout = 60000")
        except Exception as exc:
            raise ConnectionError(f"{place}: cannot connect: {_first_line(exc)}") from None
        if scheme == "sqlite" and table is not None:
            declared = _sqlite_declared(conn, table)
            if declared:  # a first row of the declared types: see _typed_first_row
                sql = f"SELECT * FROM (SELECT {_typed_first_row(declared)}) UNION ALL {sql}"
        if scheme == "postgresql":  # the driver's batches (16 MB by default) are held too
            options = {"adbc.postgresql.batch_size_hint_bytes": str(PG_BATCH_BYTES)}
        else:  # SQLite's driver makes batches of 1024 rows: larger ones are sliced (no copy)
            options = {"adbc.sqlite.query.batch_rows": str(max(rows, SQLITE_BATCH_ROWS))}
        try:
            reader = stack.enter_context(adbc_query.query(conn, sql, args, options))
        except Exception as exc:
            message = _first_line(exc)
            if table is not None and ("does not exist" in message or "no such table" in message):
                raise LookupError(f"{place}: no table {table!r}") from None
            raise RuntimeError(f"{place}: {what} failed: {message}") from None
        if scheme == "postgresql":
            batches = _decoded(reader)
        elif declared:
            batches = _declared_sqlite(_without_first_row(reader), declared)
        else:
            batches = reader
        try:
            yield from rechunk(batches, rows)
        except Exception as exc:  # a value we cannot convert, a broken stream, a driver error
            message = _first_line(exc) + _mixed_types_hint(_first_line(exc), reader.schema)
            raise RuntimeError(f"{place}: {what}: {message}") from None


def _target(url: str, scheme: str) -> str:
    """What the driver connects to: a libpq URI, a SQLite database (path)."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if scheme == "postgresql":
        return parsed.set(drivername="postgresql").render_as_string(hide_password=False)
    return parsed.database or ":memory:"


def _mixed_types_hint(message: str, schema: Any) -> str:
    """What to do when SQLite's driver meets a column holding values of several types
    (SQLite allows it; one Arrow column holds one type)."""
    found = re.search(r"Type mismatch in column (\d+)", message)
    if found is None:
        return ""
    index = int(found.group(1))
    name = schema.field(index).name if index < len(schema) else f"number {index}"
    return (f" (column {name!r} holds values of several types, which SQLite allows and one "
            f"Arrow column cannot: CAST it to one type in the query, e.g. "
            f"CAST({name} AS TEXT), or read this source as records: "
            f"batch_format = \"records\" or ADF_BATCH_FORMAT=records)")


def _sqlite_declared(conn: Any, table: str) -> dict[str, str]:
    """Declared column types of a SQLite table (upper case), read by the row path's reflection."""
    schema, _, name = table.rpartition(".")
    pragma = f"{quote(schema)}.table_info" if schema else "table_info"
    from adf_plugins.adbc_query import rows

    return {row[1]: str(row[2] or "").upper()
            for row in rows(conn, f"PRAGMA {pragma}({quote(name)})")}


def _typed_first_row(declared: dict[str, str]) -> str:
    """A row of placeholder values typed as the columns are declared.

    SQLite's ADBC driver takes each column's Arrow type from the values of its first batch:
    a column NULL there became int64 and failed on the first text further on. Put first, this
    row gives every column the type of its declaration (it is dropped again).
    """
    values = []
    for column, decl in declared.items():
        if "INT" in decl or decl.startswith("BOOL"):
            value = "0"
        elif any(word in decl for word in ("CHAR", "CLOB", "TEXT", "DATE", "TIME")):
            value = "''"
        elif not decl or "BLOB" in decl:
            value = "NULL"
        else:  # REAL, DOUBLE, FLOAT, NUMERIC, DECIMAL: a float holds ints too
            value = "0.0"
        values.append(f"{value} AS {quote(column)}")
    return ", ".join(values)


def _without_first_row(reader: Any) -> Iterator[Any]:
    first = True
    for batch in reader:
        if first:
            batch, first = batch.slice(1), False
        if batch.num_rows:
            yield batch


def _declared_sqlite(reader: Any, declared: dict[str, str]) -> Iterator[Any]:
    """SQLite stores dates, datetimes and booleans as text or integers: give them back as
    the types their columns declare (as SQLAlchemy's reflection does for the row path)."""
    import pyarrow as pa

    wanted: dict[str, Any] = {}
    for column, decl in declared.items():
        if decl.startswith(("DATETIME", "TIMESTAMP")):
            wanted[column] = pa.timestamp("us")
        elif decl.startswith("DATE"):
            wanted[column] = pa.date32()
        elif decl.startswith("BOOL"):
            wanted[column] = pa.bool_()
        elif decl.startswith(("NUMERIC", "DECIMAL")):  # a float in SQLite; SQLAlchemy's scale
            wanted[column] = pa.decimal128(38, 10)
    for batch in reader:
        if not wanted:
            yield batch
            continue
        columns = [
            column.cast(wanted[name]) if name in wanted and column.type != wanted[name]
            and (pa.types.is_decimal(wanted[name]) or not pa.types.is_floating(column.type))
            else column
            for name, column in zip(batch.schema.names, batch.columns, strict=True)
        ]
        yield pa.RecordBatch.from_arrays(columns, names=batch.schema.names)


def _decoded(reader: Any) -> Iterator[Any]:
    """The driver's batches with PostgreSQL ``numeric`` (sent as text) made Arrow decimals:
    ``numeric(p, s)`` as ``decimal128(p, s)``; a bare ``numeric`` at the largest scale of
    the first batch (a later value with more digits is an error, never rounded)."""
    import pyarrow as pa

    numeric = {
        i: _declared_decimal(field) for i, field in enumerate(reader.schema)
        if _typname(field) == "numeric"
    }
    if not numeric:
        yield from reader
        return
    names = reader.schema.names
    for batch in reader:
        columns = list(batch.columns)
        for i, decimal_type in numeric.items():
            text = columns[i].storage if isinstance(columns[i], pa.ExtensionArray) else columns[i]
            if decimal_type is None:
                decimal_type = numeric[i] = _decimal_for(text)
            try:
                columns[i] = text.cast(decimal_type)
            except pa.ArrowInvalid:
                raise ValueError(
                    f"column {names[i]!r} (numeric) holds a value with more than "
                    f"{decimal_type.scale} decimal places, more than the first rows had; "
                    f"give it a scale in the query, e.g. {names[i]}::numeric(38, 20)"
                ) from None
        yield pa.RecordBatch.from_arrays(columns, names=names)


def _typname(field: Any) -> str:
    metadata = field.metadata or {}
    return (metadata.get(b"ADBC:postgresql:typname") or b"").decode()


def _declared_decimal(field: Any) -> Any:
    """``decimal128(p, s)`` for ``numeric(p, s)`` (PostgreSQL's typmod); None for a bare one."""
    import pyarrow as pa

    typmod = int((field.metadata or {}).get(b"POSTGRESQL:typmod", b"-1"))
    if typmod < 4:
        return None
    precision, scale = (typmod - 4) >> 16, (typmod - 4) & 0xFFFF
    return pa.decimal128(precision, scale) if precision <= 38 else pa.decimal256(precision, scale)


def _decimal_for(text: Any) -> Any:
    """The decimal type holding every value of a column of decimal text: the largest scale,
    38 digits (76 where that is not enough)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if text.null_count == len(text):
        return pa.decimal128(38, 0)
    fraction = pc.utf8_length(pc.replace_substring_regex(text, r"^[^.]*\.?", ""))
    whole = pc.utf8_length(pc.replace_substring_regex(text, r"^[-+]?([^.]*).*$", r"\1"))
    scale = int(pc.max(fraction).as_py() or 0)
    digits = int(pc.max(whole).as_py() or 0) + scale
    if digits <= 38 and scale <= 38:
        return pa.decimal128(38, scale)
    return pa.decimal256(76, min(scale, 76))


def rechunk(batches: Iterable[Any], rows: int) -> Iterator[Any]:
    """Batches of exactly ``rows`` rows (the last may be shorter): zero-copy slices of the
    driver's batches, joined (one copy) only where an output batch spans two of them."""
    pending: list[Any] = []
    held = 0
    for batch in batches:
        offset, size = 0, batch.num_rows
        while offset < size:
            take = min(rows - held, size - offset)
            if take == rows:
                yield batch.slice(offset, rows) if size != rows else batch
            else:
                pending.append(batch.slice(offset, take))
                held += take
                if held == rows:
                    yield _joined(pending)
                    pending, held = [], 0
            offset += take
    if pending:
        yield _joined(pending)


def _joined(parts: list[Any]) -> Any:
    import pyarrow as pa

    if len(parts) == 1:
        return parts[0]
    return pa.Table.from_batches(parts).combine_chunks().to_batches()[0]


# ------------------------------------------------------------------------------ writing
def is_arrow(batch: Any) -> bool:
    """True for a ``pyarrow.RecordBatch`` or ``pyarrow.Table`` (without importing pyarrow)."""
    return type(batch).__module__.startswith("pyarrow") and hasattr(batch, "schema")


def _sa_type(arrow_type: Any, is_key: bool) -> Any:
    """The SQLAlchemy type the row path would infer for values of ``arrow_type`` (same DDL)."""
    import pyarrow as pa
    import sqlalchemy as sa

    types = pa.types
    if types.is_boolean(arrow_type):
        return sa.Boolean()
    if types.is_integer(arrow_type):
        return sa.BigInteger()
    if types.is_floating(arrow_type):
        return sa.Double()
    if types.is_decimal(arrow_type):
        return sa.Numeric()
    if types.is_timestamp(arrow_type):
        return sa.DateTime(timezone=arrow_type.tz is not None)
    if types.is_date(arrow_type):
        return sa.Date()
    if types.is_time(arrow_type):
        return sa.Time()
    if types.is_binary(arrow_type) or types.is_large_binary(arrow_type):
        return sa.LargeBinary()
    return sa.String(255) if is_key else sa.Text()


def _dialect(scheme: str) -> Any:
    if scheme == "postgresql":
        from sqlalchemy.dialects import postgresql as dialects
    else:
        from sqlalchemy.dialects import sqlite as dialects  # type: ignore[no-redef]
    return dialects.dialect()


def _create_ddl(scheme: str, schema: str | None, name: str, arrow_schema: Any,
                key: list[str]) -> str:
    import sqlalchemy as sa

    columns = [
        sa.Column(f.name, _sa_type(f.type, f.name in key), primary_key=f.name in key)
        for f in arrow_schema
    ]
    table = sa.Table(name, sa.MetaData(), *columns, schema=schema)
    return str(sa.schema.CreateTable(table).compile(dialect=_dialect(scheme)))


class Target:
    """The table being written on one ADBC connection, in one transaction."""

    def __init__(self, conn: Any, scheme: str, schema: str | None, name: str, where: str,
                 key: list[str]) -> None:
        self.conn, self.scheme, self.schema, self.name = conn, scheme, schema, name
        self.where, self.key = where, key
        self.cursor = conn.cursor()
        self.columns: list[str] | None = None
        self.types: dict[str, Any] = {}
        self.stage: str | None = None
        self.staged = 0

    def execute(self, sql: str, args: tuple[Any, ...] | None = None) -> list[Any]:
        self.cursor.execute(sql, args)
        try:
            return list(self.cursor.fetchall())
        except Exception:  # a statement without a result set
            return []

    def exists(self) -> bool:
        if self.scheme == "postgresql":
            found = self.execute("SELECT to_regclass($1) IS NOT NULL",
                                 (qualified(self.schema, self.name),))
            return bool(found[0][0])
        master = f"{quote(self.schema)}.sqlite_master" if self.schema else "sqlite_master"
        found = self.execute(f"SELECT count(*) FROM {master} WHERE type = 'table' AND name = ?",
                             (self.name,))
        return bool(found[0][0])

    def load_columns(self) -> None:
        self.cursor.execute(f"SELECT * FROM {qualified(self.schema, self.name)} WHERE 1 = 0")
        arrow_schema = self.cursor.fetch_arrow_table().schema
        self.columns = list(arrow_schema.names)
        if self.scheme == "postgresql":  # SQLite's types are per value: nothing to conform to
            self.types = {f.name: f.type for f in arrow_schema if _typname(f) != "numeric"}

    def create(self, arrow_schema: Any) -> None:
        missing = [k for k in self.key if k not in arrow_schema.names]
        if missing:
            from adf_plugins.db import RecordError

            raise RecordError(
                f"the key field(s) {', '.join(missing)} are not in the first records")
        self.execute(_create_ddl(self.scheme, self.schema, self.name, arrow_schema, self.key))
        self.load_columns()

    def evolve(self, batch: Any) -> None:
        """``schema = "evolve"``: a nullable column, of the type the row path would choose,
        for each field of ``batch`` the table lacks and a row has a value for (in this
        transaction: a failure rolls it back). Not while upserting through a stage table,
        whose columns are the table's at its start."""
        assert self.columns is not None
        known = set(self.columns)
        new = sorted((f for f in batch.schema if f.name not in known
                      and batch.column(f.name).null_count < batch.num_rows),
                     key=lambda f: str(f.name))  # the row path's order: by name
        if not new or self.stage is not None:
            return
        dialect = _dialect(self.scheme)
        for field in new:
            kind = _sa_type(field.type, False).compile(dialect=dialect)
            self.execute(f"ALTER TABLE {qualified(self.schema, self.name)} ADD COLUMN "
                         f"{quote(field.name)} {kind} NULL")
        self.load_columns()


def conform(batch: Any, target: Target, first: int, label: str) -> Any:
    """``batch`` with the table's columns in order (missing ones null), in the table's types
    on PostgreSQL, in the types SQLite keeps the row path's values as (text datetimes, real
    decimals). A field the table lacks or a value that does not convert names its record."""
    import pyarrow as pa

    from adf_plugins.db import RecordError

    columns = target.columns or []
    # a field the table lacks is an error where a record has a value for it: an all-null
    # column is what a columnar reader makes of records that do not have the field
    extra = [n for n in batch.schema.names if n not in set(columns)
             and batch.column(n).null_count < batch.num_rows]
    if extra:
        row = _first_non_null_row(batch, extra)
        raise RecordError(
            f"record {first + row} ({label}) does not fit table {target.where!r}: it has no "
            f"column {', '.join(map(repr, sorted(extra)))} (columns: {', '.join(columns)})"
        )
    arrays = []
    for column in columns:
        index = batch.schema.get_field_index(column)
        wanted = target.types.get(column)
        if index < 0:
            arrays.append(pa.nulls(batch.num_rows, wanted or pa.null()))
            continue
        array = batch.column(index)
        if isinstance(array, pa.ChunkedArray):
            array = array.combine_chunks()
        if target.scheme == "sqlite":
            array = _sqlite_value(array)
        elif wanted is not None and array.type != wanted:
            try:
                array = array.cast(wanted)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
                row = _first_bad_cast(array, wanted)
                raise RecordError(
                    f"record {first + row} ({label}) does not fit table {target.where!r}: "
                    f"column {column!r}: {_first_line(exc)}"
                ) from None
        arrays.append(array)
    return pa.RecordBatch.from_arrays(arrays, names=columns)


def _sqlite_value(array: Any) -> Any:
    """Values as the row path (SQLAlchemy) stores them in SQLite."""
    import pyarrow as pa
    import pyarrow.compute as pc

    kind = array.type
    if pa.types.is_decimal(kind):
        return array.cast(pa.float64())
    if pa.types.is_timestamp(kind):
        return pc.strftime(array.cast(pa.timestamp("us", kind.tz)), "%Y-%m-%d %H:%M:%S")
    if pa.types.is_null(kind):
        return array.cast(pa.string())
    return array


def _first_non_null_row(batch: Any, names: list[str]) -> int:
    for row in range(batch.num_rows):
        if any(batch.column(n)[row].is_valid for n in names):
            return row
    return 0


def _first_bad_cast(array: Any, wanted: Any) -> int:
    """The first row whose value does not convert (halving: O(log n) casts)."""
    lo, hi = 0, len(array)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        try:
            array.slice(lo, mid - lo).cast(wanted)
        except Exception:
            hi = mid
        else:
            lo = mid
    return lo


def ingest(target: Target, batch: Any, first: int, label: str) -> None:
    """Bulk-append one conformed batch (COPY on PostgreSQL) under a savepoint; on failure,
    find the record the database rejects by halving and name it."""
    from adf_plugins.db import RecordError

    table = target.stage or target.name
    schema = None if target.stage else target.schema
    try:
        _ingest_saved(target, table, schema, batch)
    except Exception as exc:
        if isinstance(exc, RecordError):
            raise
        lo, hi = 0, batch.num_rows
        while hi - lo > 1:
            mid = (lo + hi) // 2
            try:
                _ingest_saved(target, table, schema, batch.slice(lo, mid - lo), keep=False)
            except Exception:
                hi = mid
            else:
                lo = mid
        try:
            _ingest_saved(target, table, schema, batch.slice(lo, 1), keep=False)
        except Exception as single:
            exc = single
        raise RecordError(
            f"record {first + lo} ({label}) does not fit table {target.where!r}: "
            f"{type(exc).__name__}: {_first_line(exc)}"
        ) from None


def _ingest_saved(target: Target, table: str, schema: str | None, batch: Any,
                  keep: bool = True) -> None:
    target.execute("SAVEPOINT adf_ingest")
    try:
        if table == target.stage:  # ADBC names temporary tables by this flag, not a schema
            target.cursor.adbc_ingest(table, batch, mode="append", temporary=True)
        else:
            target.cursor.adbc_ingest(table, batch, mode="append", db_schema_name=schema)
    except BaseException:
        target.execute("ROLLBACK TO SAVEPOINT adf_ingest")
        raise
    target.execute("RELEASE SAVEPOINT adf_ingest" if keep else "ROLLBACK TO SAVEPOINT adf_ingest")


def start_stage(target: Target) -> None:
    """A temporary table like the target plus a row number: upserts land here first."""
    target.stage = f"adf_stage_{os.getpid()}_{id(target) % 100000}"
    stage = quote(target.stage)
    target.execute(f"CREATE TEMPORARY TABLE {stage} AS SELECT * FROM "
                   f"{qualified(target.schema, target.name)} WHERE 1 = 0")
    target.execute(f"ALTER TABLE {stage} ADD COLUMN adf_row BIGINT")


def stage_batch(batch: Any, target: Target) -> Any:
    import pyarrow as pa

    numbers = pa.array(range(target.staged, target.staged + batch.num_rows), pa.int64())
    target.staged += batch.num_rows
    return batch.append_column("adf_row", numbers)


def merge_stage(target: Target) -> None:
    """Upsert the staged rows: delete the target's rows with a staged key, insert the last
    staged row of every key (the row path's "last record wins"), in this transaction."""
    assert target.stage is not None and target.columns is not None
    stage, table = quote(target.stage), qualified(target.schema, target.name)
    keys = ", ".join(quote(k) for k in target.key)
    same = " AND ".join(f"s.{quote(k)} = {table}.{quote(k)}" for k in target.key)
    columns = ", ".join(quote(c) for c in target.columns)
    target.execute(f"DELETE FROM {table} WHERE EXISTS (SELECT 1 FROM {stage} s WHERE {same})")
    target.execute(
        f"INSERT INTO {table} ({columns}) SELECT {columns} FROM {stage} WHERE adf_row IN "
        f"(SELECT max(adf_row) FROM {stage} GROUP BY {keys}) ORDER BY adf_row"
    )
    target.execute(f"DROP TABLE {stage}")


#: rows sent per bulk ingest (one COPY): small batches are gathered up to it
INGEST_ROWS = 131_072


def _chunk(batches: list[Any]) -> Any:
    import pyarrow as pa

    return batches[0] if len(batches) == 1 else pa.Table.from_batches(batches)


def write(
    url: str,
    scheme: str,
    schema: str | None,
    name: str,
    where: str,
    mode: str,
    key: list[str],
    inputs: list[tuple[str, Iterator[Any]]],
    ready: Any,
    evolve: bool = False,
) -> int:
    """Write Arrow batches of every input through ADBC bulk ingest, in one transaction that
    commits once the commit group is ready and rolls back (a created table included) on any
    failure; with ``evolve``, a field the table lacks adds a column. Returns the number of
    rows written."""
    place = f"{_where_label()} destination {safe_url(url)}"
    try:
        conn = connect(url, scheme, write=True)
    except Exception as exc:
        raise ConnectionError(f"{place}: cannot connect: {_first_line(exc)}") from None
    count = 0
    try:
        target = Target(conn, scheme, schema, name, where, key)
        # SQLite: take the write lock at once (two deferred writers would deadlock on upgrade)
        target.execute("BEGIN" if scheme == "postgresql" else "BEGIN IMMEDIATE")
        if target.exists():
            target.load_columns()
            if mode == "replace":
                target.execute(f"DELETE FROM {qualified(schema, name)}")
        for label, batches in inputs:
            seen = 0
            chunk: list[Any] = []  # conformed batches not yet sent, from record `first`
            first = held = 0
            for batch in batches:
                if batch.num_rows == 0:
                    continue
                if target.columns is None:
                    target.create(batch.schema)
                elif evolve:
                    target.evolve(batch)
                if mode == "upsert" and target.stage is None:
                    start_stage(target)
                rows = conform(batch, target, seen + 1, label)
                if target.stage is not None:
                    rows = stage_batch(rows, target)
                if not chunk:
                    first = seen + 1
                chunk.append(rows)
                held += rows.num_rows
                seen += batch.num_rows
                count += batch.num_rows
                if held >= INGEST_ROWS:  # one COPY per chunk: a batch's setup is not free
                    ingest(target, _chunk(chunk), first, label)
                    chunk, held = [], 0
            if chunk:
                ingest(target, _chunk(chunk), first, label)
        if target.stage is not None:
            merge_stage(target)
        ready()
        _write_state(target, url, scheme)  # the same database as the state: one COMMIT
        target.execute("COMMIT")
    except BaseException:
        try:
            conn.cursor().execute("ROLLBACK")
        except Exception:  # the connection is gone: the server rolled back
            pass
        finally:
            conn.close()
        raise
    conn.close()
    return count


def _write_state(target: Any, url: str, scheme: str) -> None:
    from adf_core.state import write_state_with
    from adf_plugins.incremental import to_positional

    style = "numeric_dollar" if scheme == "postgresql" else "qmark"

    def run(sql: str, params: Mapping[str, Any]) -> None:
        text, args = to_positional(sql, params, style)
        target.execute(text, tuple(args))

    write_state_with(run, url)


def arrow_inputs(inputs: list[tuple[str, Any]]) -> list[tuple[str, Iterator[Any]]] | None:
    """Each input as a stream of Arrow batches when the first batch of the inputs is Arrow;
    None (dicts: the row path writes them) otherwise. Every input is replaced in ``inputs``
    by a stream of its batches that still holds the one peeked at, so the row path reads
    every record either way."""
    import itertools

    from adf_core.records import iter_batches

    decided: bool | None = None
    for position, (name, data) in enumerate(inputs):
        batches = iter_batches(data, format=None)
        if decided is None:
            first = next(batches, None)
            if first is not None:
                decided = is_arrow(first)
                batches = itertools.chain([first], batches)
        inputs[position] = (name, batches)
    if not decided:
        return None
    return [(f"input {n!r}", iter_batches(d, format="arrow")) for n, d in inputs]
