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
from adf_core.rejects import current_policy, reject
from adf_core.state import current_component, write_state_in
from adf_plugins import checks, db_arrow, db_schema
from adf_plugins._common import Written, safe_url
from adf_plugins.db_rejects import certain_problems, certainly_bad, insert_around_bad
from adf_plugins.incremental import Cursor, bind_params

Record = dict[str, Any]
#: ``on_bad(record, error, number)``: a record the table cannot take (number within its input)
OnBad = Callable[[Record, Exception, int], None]
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


@component(check=[exactly_one("query", "table"), checks.database_url,
                  checks.incremental_options],
           probe=checks.probe_db_source, state_when="incremental")
def read_db(
    url: str,
    query: str | None = None,
    table: str | None = None,
    batch_size: int | None = None,
    params: dict[str, Any] | None = None,
    incremental: str | None = None,
    initial_value: int | float | str | None = None,
    lag: float | None = None,
    key: list[str] | None = None,
    state: dict[str, Any] | None = None,
    context: Mapping[str, Any] | None = None,
) -> Iterator[Any]:
    """Read rows from a SQL database, streaming in batches.

    Give a `query` (bind parameters as `:name`, values from `params`, else from the flow
    context: `-p day=...`) or a `table`. Rows are fetched `batch_size` at a time through a
    server-side cursor where the driver has one (psycopg, PyMySQL), so memory stays flat
    whatever the table size. With `incremental = "COLUMN"` only rows with a cursor above the
    last one loaded are read (see adf_plugins.incremental; the pipeline needs a name).

    Args:
        url: SQLAlchemy URL (sqlite:///file.db, postgresql+psycopg://..., mysql+pymysql://...).
        query: SQL query to run (exclusive with `table`).
        table: table to read whole (`schema.table` allowed).
        batch_size: rows per batch (default 1000 records, 4096 rows for Arrow batches).
        params: bind parameters of the query.
        incremental: the cursor column: read only rows above the last value loaded.
        initial_value: the first run reads rows from this cursor value on.
        lag: re-read this window below the last cursor for rows committed late (seconds for
            timestamps, a number for numeric cursors).
        key: the row key that drops rows read again inside the lag window.
    """
    import sqlalchemy as sa

    if (query is None) == (table is None):
        raise ValueError("db source: give exactly one of `query` or `table`")
    bound = bind_params(query, params, context, current_component() or "db") \
        if query is not None else dict(params or {})
    cursor = Cursor(incremental, state, initial_value=initial_value, lag=lag, key=key) \
        if incremental else None
    if cursor is not None:
        query, bound = cursor.query(query=query, table=table, params=bound)
        table = None
    scheme = db_arrow.backend(url)
    if scheme is not None:  # PostgreSQL and SQLite as Arrow batches through ADBC
        for arrow_batch in db_arrow.read(url, scheme, query, table, batch_size, bound):
            if cursor is not None:  # the state moves before the batch goes on
                arrow_batch = cursor.accept(arrow_batch)
            if arrow_batch.num_rows:
                yield arrow_batch
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
                result = conn.execute(statement, bound)
            except sa.exc.SQLAlchemyError as exc:
                raise RuntimeError(
                    f"db source {safe_url(url)}: {type(exc.orig or exc).__name__}: "
                    f"{exc.orig or exc}"
                ) from exc
            keys = list(result.keys())
            for rows in result.partitions(batch_size):
                batch = [dict(zip(keys, row, strict=True)) for row in rows]
                if cursor is not None:
                    batch = cursor.accept(batch)  # the state moves before the batch goes on
                if batch:
                    yield batch
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
    conn: Any, schema: str | None, name: str, batch: list[Record], key: list[str],
    types: Mapping[str, Any] | None = None,
) -> Any:
    import sqlalchemy as sa

    fields: dict[str, list[Any]] = {}
    for record in batch:
        for field, value in record.items():
            fields.setdefault(field, []).append(value)
    for field in types or ():
        fields.setdefault(field, [])
    missing = [k for k in key if k not in fields]
    if missing:
        raise RecordError(f"the key field(s) {', '.join(missing)} are not in the first records")
    dialect = conn.dialect.name
    types = types or {}
    columns = [
        sa.Column(field, types[field] if field in types else
                  _column_type(values, dialect, field in key), primary_key=field in key)
        for field, values in fields.items()
    ]
    table = sa.Table(name, sa.MetaData(), *columns, schema=schema)
    table.create(conn)
    return table


def _where(schema: str | None, name: str) -> str:
    return f"{schema}.{name}" if schema else name


def _insert(conn: Any, table: Any, batch: list[Record], numbers: list[int], where: str,
            label: str, on_bad: OnBad | None = None,
            convert: Mapping[str, Callable[[Any], Any]] | None = None,
            certain: dict[str, Callable[[Any], str | None]] | None = None) -> int:
    """Insert a batch; on failure, find the records that do not fit. Without ``on_bad`` the
    first one is an error naming it (found by inserting the batch again one record at a
    time, each in its own SAVEPOINT); with it, each goes to ``on_bad`` and the others are
    written (see :mod:`adf_plugins.db_rejects`). Returns the number of records written.

    ``numbers`` holds each record's number within its input (1-based), for the errors;
    ``convert`` the value converters of :func:`adf_plugins.db_schema.converters`;
    ``certain`` the checks of :func:`adf_plugins.db_rejects.certain_problems`, applied
    before the statement when there is ``on_bad``.
    """
    import sqlalchemy as sa

    insert_errors = (sa.exc.StatementError, OverflowError)  # OverflowError: SQLite, huge ints
    columns = table.columns.keys()
    known = set(columns)
    rows, kept = [], []
    for offset, record in enumerate(batch):
        extra = record.keys() - known
        problem = (f"it has no column {', '.join(map(repr, sorted(map(str, extra))))} "
                   f"(columns: {', '.join(columns)})") if extra else None
        if convert and problem is None:
            try:
                record = db_schema.convert(record, convert)
            except ValueError as exc:
                problem = str(exc)
        if problem is not None:
            error = RecordError(
                f"record {numbers[offset]} ({label}) does not fit table {where!r}: {problem}")
            if on_bad is None:
                raise error
            on_bad(batch[offset], error, numbers[offset])
            continue
        kept.append(offset)
        rows.append(record if len(record) == len(known) else {c: record.get(c) for c in columns})
    if on_bad is not None and certain:
        rows, kept = _without_certainly_bad(rows, kept, certain, batch, numbers, where, label,
                                            on_bad)
    if not rows:
        return 0
    savepoint = conn.begin_nested()
    try:
        conn.execute(table.insert(), rows)
    except insert_errors:  # a driver error, or a value the driver cannot bind
        savepoint.rollback()
    else:
        savepoint.commit()
        return len(rows)
    if on_bad is not None:
        report = on_bad

        def refused(index: int, problem: str) -> None:
            offset = kept[index]
            report(batch[offset], RecordError(
                f"record {numbers[offset]} ({label}) does not fit table {where!r}: {problem}"),
                numbers[offset])

        return insert_around_bad(conn, table, rows, refused)
    # under fail: find the first record the database refuses, to name it
    for offset, row in zip(kept, rows, strict=True):
        savepoint = conn.begin_nested()
        try:
            conn.execute(table.insert(), [row])
        except insert_errors as exc:
            savepoint.rollback()
            cause = getattr(exc, "orig", None) or exc
            error = RecordError(
                f"record {numbers[offset]} ({label}) does not fit table {where!r}: "
                f"{type(cause).__name__}: {str(cause).strip().splitlines()[0]}")
            raise error from None
        savepoint.rollback()  # only looking for the culprit: the batch is written as one
    raise RuntimeError(
        f"inserting records {numbers[0]}-{numbers[-1]} ({label}) into {where!r} failed")


def _without_certainly_bad(rows: list[Record], kept: list[int],
                           certain: dict[str, Callable[[Any], str | None]],
                           batch: list[Record], numbers: list[int], where: str, label: str,
                           on_bad: OnBad) -> tuple[list[Record], list[int]]:
    """``rows`` (and their offsets in ``batch``) but those holding a value their column
    certainly cannot take, which go to ``on_bad``."""
    bad = certainly_bad(rows, certain)
    if not bad:
        return rows, kept
    for index in sorted(bad):
        offset = kept[index]
        on_bad(batch[offset], RecordError(f"record {numbers[offset]} ({label}) does not fit "
                                          f"table {where!r}: {bad[index]}"), numbers[offset])
    return ([row for i, row in enumerate(rows) if i not in bad],
            [offset for i, offset in enumerate(kept) if i not in bad])


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


@component(check=[checks.database_url, checks.upsert_key, checks.sql_types],
           probe=checks.probe_db_destination)
def write_db(
    url: str,
    table: str,
    mode: Literal["append", "replace", "upsert"] = "append",
    key: list[str] | None = None,
    upstream: Mapping[str, Any] | None = None,
    context: Mapping[str, Any] | None = None,
    input: list[str] | None = None,
    batch_size: int = 1000,
    commit_every: int = 1000,
    commit_interval: float = 1.0,
    types: dict[str, str] | None = None,
    schema: Literal["evolve", "freeze"] = "evolve",
) -> Written:
    """Write records to a SQL table in one transaction (append, replace, or upsert by key).

    A missing table is created from the first batch's fields (types from their values, or
    from `types`; the `key` fields become the primary key). `replace` deletes every row
    first, `upsert` deletes the rows whose key is in the batch, then inserts (portable across
    databases; the last record with a key wins). Everything happens in one transaction: a
    failure, a bad record or a failed sibling rolls it back, and a table this run created is
    dropped again. With `schema = "evolve"` (the default) a field the table lacks adds a
    nullable column; with `freeze` it is an error before the batch is written. A record
    that does not fit (a value of the wrong type, too large a number) is a bad record
    naming its number and the table: the run fails, or it is skipped or dead-lettered
    under `on_error`, and the others are written.

    Args:
        url: SQLAlchemy URL (sqlite:///file.db, postgresql+psycopg://..., mysql+pymysql://...).
        table: target table (`schema.table` allowed).
        mode: append, replace or upsert.
        key: key field(s) for upsert, and the primary key of a created table.
        input: context keys to write instead of every member of the previous stage.
        batch_size: records per INSERT batch.
        types: SQL types of fields, overriding what is inferred from the values
            (`{"amount": "numeric(12,2)", "day": "date"}`).
        schema: evolve (new fields add nullable columns) or freeze (any change is an error).
        commit_every: in a continuous run (a broker source), records per transaction (one
            transaction per commit, see adf_plugins.continuous).
        commit_interval: in a continuous run, seconds before a transaction is committed anyway.
    """
    from adf_core.acks import continuous

    if continuous():
        from adf_plugins.continuous import write_db_commits

        keys = [k.strip() for k in key.split(",")] if isinstance(key, str) else list(key or [])
        return write_db_commits(url, table, mode, keys, select_inputs(upstream, context, input),
                                batch_size=batch_size, commit_every=commit_every,
                                commit_interval=commit_interval)
    # register with the other destinations of the run first, before any slow import
    namespace, name = _split_name(table)  # `schema` is the evolve/freeze option
    where = _where(namespace, name)
    # one SQLite file is one lock; elsewhere, writers to one table may block each other
    same = url if url.startswith("sqlite") else f"{url} {where}"
    with commit_group(f"the table {where!r}", resource=same) as ready:
        if mode not in MODES:
            raise ValueError(
                f"db destination: unknown mode {mode!r}; use one of {', '.join(MODES)}"
            )
        if isinstance(key, str):
            key = [k.strip() for k in key.split(",") if k.strip()]
        key = list(key or [])
        if mode == "upsert" and not key:
            raise ValueError("db destination: mode 'upsert' needs the `key` option")
        declared = db_schema.parse_types(types)
        db_schema.check_schema(schema)
        on_bad = _db_rejecter()
        inputs = list(select_inputs(upstream, context, input))
        scheme = db_arrow.backend(url)
        arrow = db_arrow.arrow_inputs(inputs) if scheme is not None else None
        # Arrow input: ADBC bulk ingest (COPY), when no option needs the record-wise path
        # (`types`, a bad-record policy that rejects records one at a time)
        if scheme is not None and arrow is not None and not declared and on_bad is None:
            count = db_arrow.write(url, scheme, namespace, name, where, mode, key, arrow, ready,
                                   evolve=schema == "evolve")
            return Written(f"{safe_url(url)} {where}", count)
        engine = _engine(url, write=True)
        writer = _TableWriter(namespace, name, where, key, declared, freeze=schema == "freeze",
                              on_bad=on_bad)
        count = 0
        try:
            try:
                with engine.begin() as conn:
                    writer.open(conn, replace=mode == "replace")
                    for input_name, data in inputs:
                        label = f"input {input_name!r}"
                        seen = 0  # records of this input so far: errors number within it
                        for batch in iter_batches(data, batch_size=max(int(batch_size), 1)):
                            numbers = list(range(seen + 1, seen + len(batch) + 1))
                            seen += len(batch)
                            batch, numbers = writer.prepare(conn, batch, numbers, label,
                                                            input_name)
                            if not batch:
                                continue
                            rows = batch
                            if mode == "upsert":
                                rows, numbers = _delete_keys(conn, writer.table, batch, key,
                                                             numbers)
                            count += _insert(conn, writer.table, rows, numbers, where, label,
                                             writer.on_bad(input_name), writer.convert,
                                             writer.certain)
                            writer.written = True
                    writer.clear(conn)  # replace with an empty input: the table is emptied
                    ready()
                    write_state_in(conn, url)  # the same database as the state: one COMMIT
            except BaseException:
                writer.undo(engine)
                raise
        finally:
            engine.dispose()
    return Written(f"{safe_url(url)} {where}", count)


def _db_rejecter() -> Callable[[str], OnBad] | None:
    """Per input, what hands a bad record to the policy (None under ``fail``)."""
    if current_policy() == "fail":
        return None

    def for_input(input_name: str) -> OnBad:
        def on_bad(record: Record, error: Exception, number: int) -> None:
            reject(record, error, position=number, input=input_name)
        return on_bad

    return for_input


class _TableWriter:
    """The target table of one write: created from the first batch, or reflected; fields it
    lacks are added (evolve) or refused (freeze); undone on failure where the database
    commits DDL at once."""

    def __init__(self, schema: str | None, name: str, where: str, key: list[str],
                 types: Mapping[str, Any], *, freeze: bool,
                 on_bad: Callable[[str], OnBad] | None) -> None:
        self.schema, self.name, self.where, self.key = schema, name, where, key
        self.types = types
        self.freeze = freeze
        self._on_bad = on_bad
        self.table: Any = None
        self.created = False
        self.added: list[str] = []
        self.written = False  # rows changed in this transaction (MySQL: no more DDL then)
        self.convert: dict[str, Callable[[Any], Any]] = {}
        #: the values each column certainly cannot take (checked under skip/dead_letter)
        self.certain: dict[str, Callable[[Any], str | None]] = {}
        self._replace = False
        self._implicit_ddl = False

    def on_bad(self, input_name: str) -> OnBad | None:
        return self._on_bad(input_name) if self._on_bad is not None else None

    def open(self, conn: Any, *, replace: bool) -> None:
        import sqlalchemy as sa

        self._implicit_ddl = conn.dialect.name in ("mysql", "mariadb")
        self._replace = replace
        if sa.inspect(conn).has_table(self.name, schema=self.schema):
            self.table = sa.Table(self.name, sa.MetaData(), schema=self.schema,
                                  autoload_with=conn)
            self.convert = db_schema.converters(self.table)
            self.certain = certain_problems(self.table) if self._on_bad is not None else {}
            missing = {f: t for f, t in self.types.items() if f not in self.table.columns}
            if missing:  # declared fields first: before any row, on every database
                self._change(conn, missing, "`types`")

    def prepare(self, conn: Any, batch: list[Record], numbers: list[int], label: str,
                input_name: str) -> tuple[list[Record], list[int]]:
        """Create the table, or add (or refuse) the fields it lacks; clear it for
        ``replace``. Returns the records to write (a record whose new field cannot be added
        went to the policy)."""
        if self.table is None:
            self.table = _create_table(conn, self.schema, self.name, batch, self.key,
                                       self.types)
            self.created = True
            self.convert = db_schema.converters(self.table)
            self.certain = certain_problems(self.table) if self._on_bad is not None else {}
        else:
            new = db_schema.new_fields(batch, self.table.columns.keys())
            if new:
                batch, numbers = self._new_fields(conn, new, batch, numbers, label,
                                                  input_name)
        self.clear(conn)
        return batch, numbers

    def clear(self, conn: Any) -> None:
        """``replace``: delete the old rows, once, after the first batch's columns were added
        (MySQL/MariaDB would commit the delete with an ALTER TABLE after it)."""
        if self._replace and self.table is not None and not self.created:
            conn.execute(self.table.delete())
            self.written = True
        self._replace = False

    def _new_fields(self, conn: Any, new: dict[str, list[Any]], batch: list[Record],
                    numbers: list[int], label: str, input_name: str
                    ) -> tuple[list[Record], list[int]]:
        first = next(n for n, r in zip(numbers, batch, strict=True) if r.keys() & new.keys())
        names = ", ".join(map(repr, map(str, new)))
        if self.freeze:
            raise RecordError(
                f"record {first} ({label}) does not fit table {self.where!r}: it has "
                f"field(s) {names} the table lacks, and schema is 'freeze': add the "
                f"column(s) to the table, drop the field(s), or set schema='evolve'")
        if self._implicit_ddl and self.written:
            # MySQL/MariaDB commit ALTER TABLE at once, with every row written so far
            error = RecordError(
                f"record {first} ({label}) does not fit table {self.where!r}: it has "
                f"field(s) {names} the table lacks, after rows were written (MySQL/MariaDB "
                f"would commit them with the new column): declare the field(s) in `types` "
                f"to add them before writing")
            on_bad = self.on_bad(input_name)
            if on_bad is None:
                raise error
            kept_records, kept_numbers = [], []
            for number, record in zip(numbers, batch, strict=True):
                if record.keys() & new.keys():
                    on_bad(record, error, number)
                else:
                    kept_records.append(record)
                    kept_numbers.append(number)
            return kept_records, kept_numbers
        dialect = conn.dialect.name
        self._change(conn, {f: self.types.get(f) or _column_type(values, dialect, False)
                            for f, values in new.items()}, label)
        return batch, numbers

    def _change(self, conn: Any, fields: Mapping[str, Any], why: str) -> None:
        if self.freeze:
            raise RecordError(
                f"table {self.where!r} lacks the field(s) {', '.join(map(repr, fields))} "
                f"({why}), and schema is 'freeze': add the column(s) to the table or set "
                f"schema='evolve'")
        db_schema.add_columns(conn, self.table, fields)
        self.added += list(fields)
        self.convert = db_schema.converters(self.table)
        self.certain = certain_problems(self.table) if self._on_bad is not None else {}

    def undo(self, engine: Any) -> None:
        """After a failure: drop what MySQL/MariaDB committed on their own (a table this run
        created, columns it added). Elsewhere the rollback undid it."""
        if self.created:
            _drop_if_left(engine, self.schema, self.name)
        elif self.added and self._implicit_ddl and self.table is not None:
            try:
                with engine.begin() as conn:
                    db_schema.drop_columns(conn, self.table, self.added)
            except Exception:  # pragma: no cover - best effort after a failure
                pass


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
