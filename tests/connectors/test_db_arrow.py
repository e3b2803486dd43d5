"""The `db` columnar path (DESIGN 13): PostgreSQL and SQLite read through ADBC as Arrow batches
and Arrow input written through ADBC bulk ingest, proven against the row path
(``batch_format="records"``) on the same flows: the same tables, the same files."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

pa = pytest.importorskip("pyarrow")
pytest.importorskip("adbc_driver_postgresql")
pytest.importorskip("adbc_driver_sqlite")

from adf_core import DataFlow, step  # noqa: E402
from adf_core.errors import ComponentError  # noqa: E402
from adf_core.records import iter_records  # noqa: E402
from adf_plugins.db import RecordError, read_db, write_db  # noqa: E402

PG_DSN = "postgresql://postgres@127.0.0.1:5432/test"


def _row(i: int) -> dict[str, Any]:
    """Every type of the issue: ints, floats, text, NULLs, unicode, decimals, dates, timestamps."""
    return {
        "id": i,
        "name": None if i % 11 == 0 else f"Zoë 東京 {i}",
        "amount": None if i % 13 == 0 else Decimal(i) + Decimal("0.25"),
        "ratio": i / 8,
        "day": dt.date(2026, 1 + i % 12, 1 + i % 28),
        "at": dt.datetime(2026, 11, 1 + i % 28, i % 24, i % 60, i % 60, (i * 37) % 1_000_000),
    }


ROWS = [_row(i) for i in range(1, 2501)]


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'arrow.db'}"
    return str(request.getfixturevalue("postgresql_url"))


@pytest.fixture
def names(url: str) -> Any:
    """Fresh table names, all dropped after the test (other runs share the server)."""
    made: list[str] = []

    def new(tag: str = "") -> str:
        made.append(f"adf_arrow_{uuid.uuid4().hex[:10]}{tag}")
        return made[-1]

    yield new
    for name in made:
        _sql(url, f"DROP TABLE IF EXISTS {name}")


def _sql(url: str, statement: str) -> list[tuple[Any, ...]]:
    """Run SQL with the plain drivers (neither ADBC nor SQLAlchemy): what is really stored."""
    if url.startswith("sqlite"):
        con = sqlite3.connect(url.removeprefix("sqlite:///"))
        try:
            rows = con.execute(statement).fetchall()
            con.commit()
            return rows
        finally:
            con.close()
    import psycopg

    with psycopg.connect(PG_DSN, autocommit=True) as con:
        cursor = con.execute(statement)
        return cursor.fetchall() if cursor.description else []


def _table(url: str, name: str) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """(columns with their types, rows by id) of a table, as the database holds them."""
    if url.startswith("sqlite"):
        columns = _sql(url, f"SELECT name, type, pk FROM pragma_table_info('{name}')")
        rows = _sql(url, f"SELECT *, typeof(amount) FROM {name} ORDER BY id")
    else:
        columns = _sql(url, "SELECT column_name, data_type, is_nullable FROM "
                            f"information_schema.columns WHERE table_name = '{name}' "
                            "ORDER BY ordinal_position")
        rows = _sql(url, f"SELECT * FROM {name} ORDER BY id")
    return columns, rows


@pytest.fixture(autouse=True)
def _arrow_outside_a_run(monkeypatch):
    """The components are called directly here too: outside a run, Arrow only when asked."""
    monkeypatch.setenv("ADF_BATCH_FORMAT", "arrow")


@contextlib.contextmanager
def _row_path() -> Iterator[None]:
    os.environ["ADF_BATCH_FORMAT"] = "records"
    try:
        yield
    finally:
        os.environ["ADF_BATCH_FORMAT"] = "arrow"


def _seed(url: str, name: str, rows: list[dict[str, Any]] = ROWS) -> None:
    """The source table, created by the row path (SQLAlchemy): the same either way."""
    with _row_path():
        write_db(url, name, upstream={"seed": rows}, key=["id"])


def _copy(url: str, source: str, target: str, batch_format: str, **options: Any) -> Any:
    flow = DataFlow.parse(
        "src=db | out=db",
        options={"src": {"url": url, "table": source, "batch_size": 700},
                 "out": {"url": url, "table": target, **options}},
        batch_format=batch_format,
    )
    return flow.run({})


# ------------------------------------------------------------------------------ reading
def test_reads_arrow_batches_with_the_types_and_values_of_the_row_path(url, names):
    source = names()
    _seed(url, source)
    batches = list(read_db(url, table=source, batch_size=1000))
    assert [b.num_rows for b in batches] == [1000, 1000, 500]
    assert all(isinstance(b, pa.RecordBatch) for b in batches)
    types = {f.name: f.type for f in batches[0].schema}
    assert types["id"] == pa.int64() and types["ratio"] == pa.float64()
    assert types["name"] == pa.string() and types["day"] == pa.date32()
    assert types["at"] == pa.timestamp("us")
    with _row_path():
        expected = [r for b in read_db(url, table=source) for r in b]
    got = list(iter_records(batches))
    assert pa.types.is_decimal(types["amount"])
    assert got == expected
    assert got[0]["name"] == "Zoë 東京 1" and got[10]["name"] is None


def test_batches_of_4096_rows_by_default_and_bind_parameters(url, names):
    source = names()
    _seed(url, source)
    assert [b.num_rows for b in read_db(url, table=source)] == [2500]
    numbers = ("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 10000) "
               "SELECT i FROM n")
    batches = list(read_db(url, query=numbers))
    assert [b.num_rows for b in batches] == [4096, 4096, 1808]
    assert list(iter_records(batches))[-1] == {"i": 10000}
    query = f"SELECT id, name FROM {source} WHERE id > :low AND id <= :high ORDER BY id"
    rows = list(iter_records(read_db(url, query=query, params={"low": 7, "high": 9})))
    assert rows == [{"id": 8, "name": "Zoë 東京 8"}, {"id": 9, "name": "Zoë 東京 9"}]


def test_postgresql_numeric_keeps_its_scale_and_exact_value(postgresql_url, names):
    rows = list(iter_records(read_db(
        postgresql_url,
        query="SELECT 12.5::numeric(12,2) AS fixed, 1/7.0 AS bare, NULL::numeric AS nothing")))
    assert rows == [{"fixed": Decimal("12.50"), "bare": Decimal("0.14285714285714285714"),
                     "nothing": None}]


def test_errors_name_the_query_and_hide_the_password(url, names, tmp_path):
    with pytest.raises(LookupError, match="no table 'adf_arrow_missing'"):
        list(read_db(url, table="adf_arrow_missing"))
    with pytest.raises(RuntimeError, match="query 'SELECT nonsense FROM nowhere' failed"):
        list(read_db(url, query="SELECT nonsense FROM nowhere"))
    if url.startswith("postgresql"):
        secret = "postgresql+psycopg://postgres:s3cr%2Fet@127.0.0.1:1/test"
        for call in (lambda: list(read_db(secret, query="SELECT 1")),
                     lambda: write_db(secret, "t", upstream={"a": pa.table({"x": [1]})})):
            with pytest.raises(ConnectionError) as caught:
                call()
            assert "s3cr" not in str(caught.value) and "***" in str(caught.value)


def test_adf_run_names_the_alias_and_the_query(postgresql_url, tmp_path):
    secret_url = postgresql_url.replace("postgres@", "postgres:hunter2@")
    proc = subprocess.run(
        [sys.executable, "-m", "adf_core.cli", "run", "orders=db | out=db", "-q",
         "-o", f"orders.url={secret_url}", "-o", "orders.query=SELECT nonsense FROM nowhere",
         "-o", f"out.url=sqlite:///{tmp_path / 'x.db'}", "-o", "out.table=t"],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 1, proc.stderr
    assert "component 'orders'" in proc.stderr
    assert "SELECT nonsense FROM nowhere" in proc.stderr
    assert "hunter2" not in proc.stderr + proc.stdout


# ------------------------------------------------------------------------------ writing
@pytest.mark.parametrize("mode", ["append", "replace", "upsert"])
def test_the_same_flow_writes_the_same_table_both_ways(url, names, mode):
    source, by_rows, by_arrow = names(), names("_r"), names("_a")
    _seed(url, source)
    options: dict[str, Any] = {"mode": mode}
    if mode == "upsert":
        options["key"] = ["id"]
    for target, batch_format in ((by_rows, "records"), (by_arrow, "arrow")):
        if mode != "append":  # a table that is there already: replaced or upserted into
            _seed(url, target, [{**_row(i), "name": "old"} for i in range(2000, 3001)])
        for _ in range(2 if mode == "append" else 1):
            result = _copy(url, source, target, batch_format, **options)
            assert result.outputs["out"].records == len(ROWS)
    rows_way, arrow_way = _table(url, by_rows), _table(url, by_arrow)
    assert arrow_way[0] == rows_way[0]  # same columns, same types
    assert arrow_way[1] == rows_way[1]  # same values
    expected = {"append": 2 * len(ROWS), "replace": len(ROWS), "upsert": 3000}[mode]
    assert len(arrow_way[1]) == expected


def test_upsert_of_arrow_input_keeps_the_last_record_of_a_key(url, names):
    target = names()
    first = pa.table({"id": [1, 2, 1, 3], "v": ["a", "b", "c", "d"]})
    write_db(url, target, mode="upsert", key=["id"], upstream={"a": first})
    write_db(url, target, mode="upsert", key=["id"],
             upstream={"a": pa.table({"id": [3, 4], "v": ["e", "f"]})})
    assert _sql(url, f"SELECT id, v FROM {target} ORDER BY id") == [
        (1, "c"), (2, "b"), (3, "e"), (4, "f")]


def test_a_record_the_database_rejects_is_named_and_nothing_is_written(url, names):
    target = names()
    _sql(url, f"CREATE TABLE {target} (id BIGINT PRIMARY KEY, v TEXT NOT NULL)")
    _sql(url, f"INSERT INTO {target} VALUES (1500, 'there')")
    batch = pa.table({"id": list(range(1, 2001)), "v": ["x"] * 2000})
    with pytest.raises(RecordError, match=rf"record 1500 \(input 'a'\) does not fit table "
                                          rf"'{target}'"):
        write_db(url, target, upstream={"a": batch})
    values = ["x"] * 2000
    values[1234] = None
    with pytest.raises(RecordError, match=r"record 235 \(input 'b'\)"):
        write_db(url, target, upstream={"b": pa.table({"id": range(3001, 5001), "v": values})
                                       .slice(1000)})
    with pytest.raises(RecordError, match=r"record 1 \(input 'c'\).*no column 'extra'"):
        write_db(url, target, upstream={"c": pa.table({"id": [9], "extra": [1]})},
                 schema="freeze")
    assert _sql(url, f"SELECT id, v FROM {target}") == [(1500, "there")]


def test_a_value_postgresql_cannot_convert_names_the_record(postgresql_url, names):
    target = names()
    _sql(postgresql_url, f"CREATE TABLE {target} (id BIGINT, day DATE)")
    batch = pa.table({"id": [1, 2, 3], "day": ["2026-01-01", "2026-01-02", "not a day"]})
    with pytest.raises(RecordError, match=r"record 3 \(input 'a'\).*column 'day'"):
        write_db(postgresql_url, target, upstream={"a": batch})
    assert _sql(postgresql_url, f"SELECT count(*) FROM {target}") == [(0,)]


def test_a_failing_sibling_rolls_back_the_ingest_and_drops_a_new_table(url, names):
    target, existing = names(), names("_e")
    _seed(url, existing, ROWS[:3])

    def source():
        for start in range(0, 50_000, 500):
            yield pa.record_batch({"id": range(start, start + 500)})

    def broken(upstream):
        for n, _batch in enumerate(next(iter(upstream.values())), start=1):
            if n == 3:
                raise RuntimeError("sibling failed")

    for table, mode in ((target, "append"), (existing, "replace")):
        flow = DataFlow((source, (step(write_db, name="db", options={
            "url": url, "table": table, "mode": mode}), broken)), buffer_size=2)
        with pytest.raises(ComponentError, match="sibling failed"):
            flow.run({})
    assert _sql(url, f"SELECT count(*) FROM {existing}") == [(3,)]
    if url.startswith("sqlite"):
        assert _sql(url, f"SELECT count(*) FROM sqlite_master WHERE name = '{target}'") == [(0,)]
    else:
        assert _sql(url, f"SELECT to_regclass('{target}') IS NULL") == [(True,)]


def test_a_stream_that_fails_midway_commits_nothing(url, names):
    target = names()

    def batches():
        yield pa.record_batch({"id": [1, 2]})
        raise OSError("the source broke")

    with pytest.raises(OSError, match="the source broke"):
        write_db(url, target, upstream={"a": batches()})
    write_db(url, target, upstream={"a": pa.table({"id": [7]})})
    assert _sql(url, f"SELECT id FROM {target}") == [(7,)]


# ------------------------------------------------------------------------------ adf run
def _adf(*args: str, batch_format: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ADF_BATCH_FORMAT": batch_format}
    proc = subprocess.run([sys.executable, "-m", "adf_core.cli", "run", "-q", *args],
                          capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return proc


@pytest.mark.parametrize("suffix", ["jsonl", "parquet"])
def test_adf_run_db_to_file_gives_the_same_file_both_ways(url, names, tmp_path, suffix):
    source = names()
    _seed(url, source)
    outputs = {}
    for batch_format in ("records", "arrow"):
        out = tmp_path / f"{batch_format}.{suffix}"
        _adf("db | file", "-o", f"db.url={url}", "-o", f"db.query=SELECT * FROM {source} "
             "ORDER BY id", "-o", f"file.path={out}", batch_format=batch_format)
        outputs[batch_format] = out
    if suffix == "jsonl":
        read = [[json.loads(line) for line in p.read_text("utf-8").splitlines()]
                for p in outputs.values()]
    else:
        import pyarrow.parquet as pq

        read = [pq.read_table(p).to_pylist() for p in outputs.values()]
        for rows in read:  # decimals: the same value whatever the scale Parquet stored
            for row in rows:
                amount = row["amount"]
                row["amount"] = None if amount is None else Decimal(str(amount)).normalize()
    assert read[0] == read[1]
    assert len(read[0]) == len(ROWS) and read[0][0]["name"] == "Zoë 東京 1"


def test_adf_run_db_to_db_across_databases(postgresql_url, tmp_path):
    source = f"adf_arrow_{uuid.uuid4().hex[:10]}"
    _seed(postgresql_url, source)
    lite = f"sqlite:///{tmp_path / 'copy.db'}"
    try:
        tables = []
        for batch_format in ("records", "arrow"):
            _adf("src=db | out=db", "-o", f"src.url={postgresql_url}", "-o",
                 f"src.table={source}", "-o", f"out.url={lite}", "-o",
                 f"out.table=copy_{batch_format}", batch_format=batch_format)
            tables.append(_table(lite, f"copy_{batch_format}"))
        assert tables[0] == tables[1]
        assert len(tables[1][1]) == len(ROWS)
    finally:
        _sql(postgresql_url, f"DROP TABLE IF EXISTS {source}")


def test_an_all_null_column_the_table_lacks_is_a_field_no_record_has(url, names):
    """What a columnar reader makes of records without a field: not an error, as with dicts."""
    target = names()
    write_db(url, target, upstream={"a": pa.table({"id": [1]})})
    write_db(url, target, upstream={"a": pa.table({"id": [2, 3], "x": pa.nulls(2, pa.int64())})})
    with pytest.raises(RecordError, match=r"record 2 \(input 'a'\).*no column 'x'"):
        write_db(url, target, upstream={"a": pa.table({"id": [4, 5], "x": [None, 1]})},
                 schema="freeze")
    assert _sql(url, f"SELECT id FROM {target} ORDER BY id") == [(1,), (2,), (3,)]


@pytest.mark.parametrize("source", ["csv", "jsonl"])
def test_a_field_the_table_lacks_adds_a_column_both_ways(url, names, tmp_path, source):
    """schema='evolve' (the default): Arrow input adds the column the row path adds."""
    first = tmp_path / f"first.{source}"
    more = tmp_path / f"more.{source}"
    if source == "csv":
        first.write_text("id,amount\n1,2.5\n2,3.5\n")
        more.write_text("id,amount,note,n\n3,1.5,new,7\n4,,,\n")
    else:
        first.write_text('{"id": 1, "amount": 2.5}\n{"id": 2, "amount": 3.5}\n')
        more.write_text('{"id": 3, "amount": 1.5, "note": "new", "n": 7}\n'
                        '{"id": 4, "amount": null, "note": null, "n": null}\n')
    tables = []
    for batch_format in ("records", "arrow"):
        target = names()
        for path in (first, more):
            DataFlow.parse("file | db", options={"file": {"path": str(path)},
                                                 "db": {"url": url, "table": target}},
                           batch_format=batch_format).run({})
        tables.append(_table_of(url, target))
    assert tables[0] == tables[1]
    assert tables[1][1][2][2:] == (7, "new")  # columns added in the order of their names
    frozen = names()
    for path, schema in ((first, "freeze"), (more, "freeze")):
        flow = DataFlow.parse("file | db", options={
            "file": {"path": str(path)}, "db": {"url": url, "table": frozen, "schema": schema}})
        if path == more:
            with pytest.raises(ComponentError, match="no column 'n', 'note'"):
                flow.run({})
        else:
            flow.run({})


def _table_of(url: str, name: str) -> tuple[list[Any], list[tuple[Any, ...]]]:
    if url.startswith("sqlite"):
        columns = _sql(url, f"SELECT name, type FROM pragma_table_info('{name}')")
    else:
        columns = _sql(url, "SELECT column_name, data_type FROM information_schema.columns "
                            f"WHERE table_name = '{name}' ORDER BY ordinal_position")
    return columns, _sql(url, f"SELECT * FROM {name} ORDER BY id")


def test_a_sqlite_column_null_in_its_first_rows_keeps_its_declared_type(tmp_path):
    """SQLite's driver types a column by its first batch: NULLs there must not decide it."""
    url = f"sqlite:///{tmp_path / 'late.db'}"
    rows = [{"id": i, "v": None if i <= 5000 else f"x{i}",
             "n": None if i <= 5000 else Decimal(i) + Decimal("0.5"),
             "day": None if i <= 5000 else dt.date(2026, 1, 1 + i % 28)} for i in range(1, 10001)]
    _sql(url, "CREATE TABLE late (id BIGINT, v TEXT, n NUMERIC, day DATE)")
    _seed(url, "late", rows)
    batches = list(read_db(url, table="late"))
    assert [b.num_rows for b in batches] == [4096, 4096, 1808]
    assert {str(b.schema.field("v").type) for b in batches} == {"string"}
    with _row_path():
        expected = [r for b in read_db(url, table="late") for r in b]
    assert list(iter_records(batches)) == expected


def test_a_sqlite_column_of_several_types_names_the_column_and_the_way_out(tmp_path: Path
                                                                          ) -> None:
    """SQLite lets a column hold an integer in one row and text in another; the driver's
    Arrow column cannot, once a batch has fixed its type."""
    query = ("with recursive c(x) as (select 1 union all select x + 1 from c where x < 70000) "
             "select x as id, case when x < 69000 then x else 'text' end as amount from c")
    url = f"sqlite:///{tmp_path / 'mixed.db'}"
    sqlite3.connect(tmp_path / "mixed.db").close()
    with pytest.raises(ComponentError) as caught:
        DataFlow((step(read_db, name="src", options={"url": url, "query": query}),
                  lambda src: sum(1 for _ in iter_records(src)))).run()
    message = str(caught.value.__cause__)
    assert "column 'amount' holds values of several types" in message
    assert "CAST(amount AS TEXT)" in message and 'batch_format = "records"' in message
    rows = DataFlow((step(read_db, name="src", options={"url": url, "query": query}),
                     lambda src: sum(1 for _ in iter_records(src))),
                    batch_format="records").run()
    assert 70000 in rows.values()  # the way out it names works
