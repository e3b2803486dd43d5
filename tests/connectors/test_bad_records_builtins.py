"""The built-in `file` and `db` connectors under the bad-record policy, through `adf run` in
a subprocess as users run it: real defective files (broken JSON lines at known line numbers,
CSV rows with the wrong field count, Latin-1 bytes, a BOM, duplicate headers), records the
destinations cannot write, SQLite files and the local PostgreSQL and MariaDB."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def adf(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "adf_core.cli", "run", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=120, env=dict(os.environ))


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def summary(proc: subprocess.CompletedProcess[str]) -> dict:
    assert proc.stdout, proc.stderr
    return json.loads(proc.stdout)


def component(proc: subprocess.CompletedProcess[str], alias: str) -> dict:
    return next(c for c in summary(proc)["components"] if c["alias"] == alias)


# -- file source ---------------------------------------------------------------------------

def broken_jsonl(path: Path) -> None:
    """Good records 1, 3, 5, 7; line 2 is malformed, line 4 an array, line 6 holds a Latin-1
    byte; one empty line (line 8) before the last record."""
    path.write_bytes(b'{"id": 1}\n{"id": 2, oops\n{"id": 3}\n[4]\n{"id": 5}\n'
                     b'{"id": 6, "name": "caf\xe9"}\n{"id": 7}\n\n{"id": 8}\n')


def test_jsonl_bad_lines_are_dead_lettered_with_file_and_line(tmp_path):
    broken_jsonl(tmp_path / "in.jsonl")
    out, dead = tmp_path / "out.jsonl", tmp_path / "dead.jsonl"
    proc = adf("file | out=file", "-o", f"file.path={tmp_path / 'in.jsonl'}",
               "-o", f"out.path={out}", "--dead-letter", str(dead), "--json")
    assert proc.returncode == 0, proc.stderr
    assert read_jsonl(out) == [{"id": 1}, {"id": 3}, {"id": 5}, {"id": 7}, {"id": 8}]
    letters = read_jsonl(dead)
    assert [d["position"] for d in letters] == [
        {"file": str(tmp_path / "in.jsonl"), "line": n} for n in (2, 4, 6)]
    assert [d["component"] for d in letters] == ["file"] * 3
    assert letters[0]["record"] == '{"id": 2, oops'
    assert "malformed JSON" in letters[0]["error"]
    assert "expected a JSON object" in letters[1]["error"]
    assert "cannot decode" in letters[2]["error"] and "encoding" in letters[2]["error"]
    assert letters[2]["record"] == '{"id": 6, "name": "caf\\xe9"}'
    result = summary(proc)
    assert result["records_rejected"] == 3
    assert component(proc, "file")["records_rejected"] == 3


def test_csv_rows_with_the_wrong_field_count_and_bad_bytes_are_skipped(tmp_path):
    source = tmp_path / "in.csv"
    source.write_bytes(b"\xef\xbb\xbfid,name\n1,ada\n2,too,many\n3,b\xe9a\n4,carl\n5\n6,dora\n")
    out = tmp_path / "out.jsonl"
    proc = adf("file | out=file", "-o", f"file.path={source}", "-o", f"out.path={out}",
               "--on-error", "skip", "--json")
    assert proc.returncode == 0, proc.stderr
    # the BOM is not part of the first column's name
    assert read_jsonl(out) == [{"id": 1, "name": "ada"}, {"id": 4, "name": "carl"},
                               {"id": 6, "name": "dora"}]
    assert component(proc, "file")["records_rejected"] == 3


def test_past_max_errors_nothing_is_committed(tmp_path):
    broken_jsonl(tmp_path / "in.jsonl")
    out = tmp_path / "out.jsonl"
    out.write_text('{"old": true}\n')
    proc = adf("file | out=file", "-o", f"file.path={tmp_path / 'in.jsonl'}",
               "-o", f"out.path={out}", "--on-error", "skip", "--max-errors", "2")
    assert proc.returncode == 1
    assert "TooManyBadRecords" in proc.stderr or "max_errors" in proc.stderr, proc.stderr
    assert out.read_text() == '{"old": true}\n'


def test_under_fail_a_decode_error_names_file_line_and_encoding(tmp_path):
    source = tmp_path / "big.csv"
    rows = b"".join(b"%d,abc\n" % i for i in range(30_000))
    source.write_bytes(b"id,name\n" + rows + b"30000,caf\xe9\n")
    out = tmp_path / "out.jsonl"
    proc = adf("file | out=file", "-o", f"file.path={source}", "-o", f"out.path={out}")
    assert proc.returncode == 1
    assert f"{source} line 30002: cannot decode the csv as utf-8" in proc.stderr
    assert "set the `encoding` option" in proc.stderr
    assert not out.exists()
    ok = adf("file | out=file", "-o", f"file.path={source}", "-o", f"out.path={out}",
             "-o", "file.encoding=latin-1")
    assert ok.returncode == 0, ok.stderr
    assert read_jsonl(out)[-1] == {"id": 30000, "name": "café"}


def test_duplicate_csv_headers_are_an_error_naming_them(tmp_path):
    source = tmp_path / "dup.csv"
    source.write_text("id,a,b,a\n1,2,3,4\n")
    proc = adf("file | stdout", "-o", f"file.path={source}")
    assert proc.returncode == 1
    assert "the header names 'a' more than once" in proc.stderr


def test_a_semicolon_file_read_as_one_column_gets_a_hint_and_fails_under_strict(tmp_path):
    source = tmp_path / "semi.csv"
    source.write_text("id;name\n1;ada\n")
    out = tmp_path / "out.jsonl"
    proc = adf("file | out=file", "-o", f"file.path={source}", "-o", f"out.path={out}")
    assert proc.returncode == 0, proc.stderr
    assert "it looks separated by ';': set the `delimiter` option" in proc.stderr
    out.unlink()
    strict = adf("file | out=file", "-o", f"file.path={source}", "-o", f"out.path={out}",
                 "--strict")
    assert strict.returncode == 1
    assert not out.exists()
    fixed = adf("file | out=file", "-o", f"file.path={source}", "-o", f"out.path={out}",
                "-o", "file.delimiter=;")
    assert fixed.returncode == 0 and "delimiter" not in fixed.stderr
    assert read_jsonl(out) == [{"id": 1, "name": "ada"}]


# -- file destination ----------------------------------------------------------------------

def test_the_file_destination_dead_letters_records_it_cannot_write(tmp_path):
    # json.loads reads NaN and Infinity; JSON has no such numbers: the writer refuses them
    source = tmp_path / "in.jsonl"
    source.write_text('{"id": 1, "x": 1.5}\n{"id": 2, "x": NaN}\n{"id": 3, "x": 2}\n'
                      '{"id": 4, "x": -Infinity}\n')
    for fmt in ("jsonl", "json"):
        out, dead = tmp_path / f"out.{fmt}", tmp_path / f"dead-{fmt}.jsonl"
        out.write_text("old")
        fail = adf("file | out=file", "-o", f"file.path={source}", "-o", f"out.path={out}")
        assert fail.returncode == 1
        assert "record 2 (input 'file') cannot be written as JSON" in fail.stderr
        assert out.read_text() == "old"
        proc = adf("file | out=file", "-o", f"file.path={source}", "-o", f"out.path={out}",
                   "--dead-letter", str(dead), "--json")
        assert proc.returncode == 0, proc.stderr
        written = read_jsonl(out) if fmt == "jsonl" else json.loads(out.read_text())
        assert written == [{"id": 1, "x": 1.5}, {"id": 3, "x": 2}]
        letters = read_jsonl(dead)
        assert [(d["component"], d["input"], d["position"]) for d in letters] == [
            ("out", "file", {"record": 2}), ("out", "file", {"record": 4})]
        assert component(proc, "out")["records_out"] == 2


def test_a_csv_record_with_fields_the_header_lacks_is_skipped(tmp_path):
    source = tmp_path / "in.jsonl"
    source.write_text('{"id": 1}\n{"id": 2, "extra": 1}\n{"id": 3}\n')
    out = tmp_path / "out.csv"
    proc = adf("file | out=file", "-o", f"file.path={source}", "-o", f"out.path={out}",
               "--on-error", "skip", "--json")
    assert proc.returncode == 0, proc.stderr
    assert out.read_text() == "id\n1\n3\n"
    assert component(proc, "out")["records_rejected"] == 1


# -- db destination ------------------------------------------------------------------------

@pytest.fixture(params=["sqlite", "postgresql", "mariadb"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """(url, a fresh table name), the table dropped afterwards."""
    import sqlalchemy as sa

    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'test.db'}"
    else:
        url = str(request.getfixturevalue(f"{request.param}_url"))
    name = f"adf_bad_{uuid.uuid4().hex[:10]}"
    yield url, name
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text(f"DROP TABLE IF EXISTS {name}"))
    engine.dispose()


def sql(url: str, *statements: str) -> list[dict]:
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            result = None
            for statement in statements:
                result = conn.execute(sa.text(statement))
            return [dict(r._mapping) for r in result] if result is not None and \
                result.returns_rows else []
    finally:
        engine.dispose()


def columns(url: str, table: str) -> dict[str, str]:
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    try:
        return {c["name"]: str(c["type"]).upper() for c in sa.inspect(engine).get_columns(table)}
    finally:
        engine.dispose()


def test_db_rows_the_column_cannot_take_are_dead_lettered_and_the_rest_written(db, tmp_path):
    url, table = db
    sql(url, f"CREATE TABLE {table} (id INTEGER PRIMARY KEY, paid BOOLEAN, n BIGINT)")
    source = tmp_path / "in.jsonl"
    records = [{"id": i, "paid": i % 2 == 0, "n": i} for i in range(1, 2501)]
    records[1499]["paid"] = "yes"          # record 1500: not a boolean
    records[2001]["n"] = 10 ** 30          # record 2002: 31 digits, beyond BIGINT
    source.write_text("".join(json.dumps(r) + "\n" for r in records))
    dead = tmp_path / "dead.jsonl"
    proc = adf("file | db", "-o", f"file.path={source}", "-o", f"db.url={url}",
               "-o", f"db.table={table}", "--dead-letter", str(dead), "--json")
    assert proc.returncode == 0, proc.stderr
    ids = [r["id"] for r in sql(url, f"SELECT id FROM {table} ORDER BY id")]
    assert ids == [i for i in range(1, 2501) if i not in (1500, 2002)]
    letters = read_jsonl(dead)
    assert [(d["component"], d["input"], d["position"]) for d in letters] == [
        ("db", "file", {"record": 1500}), ("db", "file", {"record": 2002})]
    assert letters[0]["record"]["paid"] == "yes"
    assert all(f"does not fit table {table!r}" in d["error"] for d in letters)
    assert component(proc, "db")["records_rejected"] == 2
    assert component(proc, "db")["records_out"] == 2498


def test_db_rows_the_database_refuses_are_found_by_halving_the_batch(db, tmp_path):
    """A duplicate key: nothing Python can see in the value itself, the database refuses it."""
    url, table = db
    sql(url, f"CREATE TABLE {table} (id INTEGER PRIMARY KEY, name VARCHAR(20))",
        f"INSERT INTO {table} VALUES (7, 'old')")
    source = tmp_path / "in.jsonl"
    ids = [i for i in range(8, 2008)]
    ids[1199], ids[1206], ids[1999] = 7, 9, 7   # records 1200, 1207, 2000: keys taken
    source.write_text("".join(json.dumps({"id": i, "name": f"n{i}"}) + "\n" for i in ids))
    dead = tmp_path / "dead.jsonl"
    proc = adf("file | db", "-o", f"file.path={source}", "-o", f"db.url={url}",
               "-o", f"db.table={table}", "--dead-letter", str(dead))
    assert proc.returncode == 0, proc.stderr
    assert [d["position"] for d in read_jsonl(dead)] == [
        {"record": 1200}, {"record": 1207}, {"record": 2000}]
    stored = [r["id"] for r in sql(url, f"SELECT id FROM {table} ORDER BY id")]
    assert stored == sorted({7, *ids})
    assert sql(url, f"SELECT name FROM {table} WHERE id = 7") == [{"name": "old"}]
    assert sql(url, f"SELECT name FROM {table} WHERE id = 9") == [{"name": "n9"}]


def test_db_past_max_errors_the_table_keeps_its_rows(db, tmp_path):
    url, table = db
    sql(url, f"CREATE TABLE {table} (id INTEGER, paid BOOLEAN)",
        f"INSERT INTO {table} VALUES (0, TRUE)")
    source = tmp_path / "in.jsonl"
    source.write_text("".join(json.dumps({"id": i, "paid": "yes" if i % 3 == 0 else True})
                              + "\n" for i in range(1, 11)))
    proc = adf("file | db", "-o", f"file.path={source}", "-o", f"db.url={url}",
               "-o", f"db.table={table}", "-o", "db.mode=replace", "--on-error", "skip",
               "--max-errors", "2")
    assert proc.returncode == 1
    assert "record 3" in proc.stderr or "TooManyBadRecords" in proc.stderr, proc.stderr
    assert [r["id"] for r in sql(url, f"SELECT id FROM {table}")] == [0]


def test_db_types_keep_decimals_and_dates(db, tmp_path):
    url, table = db
    source = tmp_path / "in.csv"
    source.write_text("id,amount,day,at\n1,12.50,2026-11-02,2026-11-02T10:30:00\n"
                      "2,0.10,2026-12-31,2026-12-31T23:59:59\n")
    types = json.dumps({"amount": "numeric(12,2)", "day": "date", "at": "timestamp"})
    proc = adf("file | db", "-o", f"file.path={source}", "-o", f"db.url={url}",
               "-o", f"db.table={table}", "-o", f"db.types={types}")
    assert proc.returncode == 0, proc.stderr
    kinds = columns(url, table)
    assert kinds["amount"].startswith(("NUMERIC(12, 2)", "DECIMAL(12, 2)")), kinds
    assert kinds["day"] == "DATE"
    assert kinds["at"].startswith(("TIMESTAMP", "DATETIME")), kinds
    import datetime as dt
    from decimal import Decimal

    from adf_plugins.db import read_db

    rows = sorted((r for batch in read_db(url, table=table) for r in batch),
                  key=lambda r: r["id"])
    assert [r["amount"] for r in rows] == [Decimal("12.50"), Decimal("0.10")]
    assert rows[0]["day"] == dt.date(2026, 11, 2)
    assert rows[1]["at"] == dt.datetime(2026, 12, 31, 23, 59, 59)


def test_db_a_value_that_is_not_a_date_is_a_bad_record(tmp_path):
    url, table = f"sqlite:///{tmp_path / 't.db'}", "t"
    source = tmp_path / "in.jsonl"
    source.write_text('{"id": 1, "day": "2026-01-02"}\n{"id": 2, "day": "soon"}\n')
    proc = adf("file | db", "-o", f"file.path={source}", "-o", f"db.url={url}",
               "-o", f"db.table={table}", "-o", 'db.types={"day": "date"}')
    assert proc.returncode == 1
    assert "record 2 (input 'file') does not fit table 't': field 'day': 'soon' is not an " \
           "ISO 8601 date" in proc.stderr
    dead = tmp_path / "dead.jsonl"
    proc = adf("file | db", "-o", f"file.path={source}", "-o", f"db.url={url}",
               "-o", f"db.table={table}", "-o", 'db.types={"day": "date"}',
               "--dead-letter", str(dead))
    assert proc.returncode == 0, proc.stderr
    assert [d["position"] for d in read_jsonl(dead)] == [{"record": 2}]


def test_an_unknown_sql_type_is_an_error_naming_the_field(tmp_path):
    source = tmp_path / "in.jsonl"
    source.write_text('{"id": 1}\n')
    proc = adf("file | db", "-o", f"file.path={source}", "-o",
               f"db.url=sqlite:///{tmp_path / 't.db'}", "-o", "db.table=t",
               "-o", 'db.types={"id": "bigserial"}')
    assert proc.returncode != 0
    assert "unknown SQL type 'bigserial' for 'id'" in proc.stderr


def test_db_evolve_adds_a_nullable_column_and_freeze_refuses_before_writing(db, tmp_path):
    url, table = db
    sql(url, f"CREATE TABLE {table} (id INTEGER, name VARCHAR(20))",
        f"INSERT INTO {table} VALUES (1, 'old')")
    source = tmp_path / "in.jsonl"
    source.write_text('{"id": 2, "name": "b", "score": 2.5, "tag": "x"}\n{"id": 3, "name": "c"}\n')
    frozen = adf("file | db", "-o", f"file.path={source}", "-o", f"db.url={url}",
                 "-o", f"db.table={table}", "-o", "db.schema=freeze")
    assert frozen.returncode == 1
    assert "has field(s) 'score', 'tag' the table lacks, and schema is 'freeze'" in frozen.stderr
    assert set(columns(url, table)) == {"id", "name"}
    assert sql(url, f"SELECT id FROM {table}") == [{"id": 1}]

    proc = adf("file | db", "-o", f"file.path={source}", "-o", f"db.url={url}",
               "-o", f"db.table={table}")
    assert proc.returncode == 0, proc.stderr
    assert set(columns(url, table)) == {"id", "name", "score", "tag"}
    assert sql(url, f"SELECT id, score, tag FROM {table} ORDER BY id") == [
        {"id": 1, "score": None, "tag": None}, {"id": 2, "score": 2.5, "tag": "x"},
        {"id": 3, "score": None, "tag": None}]


def test_db_evolve_rolls_back_the_new_column_with_a_failed_run(db, tmp_path):
    url, table = db
    sql(url, f"CREATE TABLE {table} (id INTEGER, paid BOOLEAN)",
        f"INSERT INTO {table} VALUES (1, TRUE)")
    source = tmp_path / "in.jsonl"
    source.write_text('{"id": 2, "paid": true, "note": "new"}\n{"id": 3, "paid": "yes"}\n')
    proc = adf("file | db", "-o", f"file.path={source}", "-o", f"db.url={url}",
               "-o", f"db.table={table}")
    assert proc.returncode == 1
    assert "record 2 (input 'file') does not fit table" in proc.stderr
    assert set(columns(url, table)) == {"id", "paid"}
    assert [r["id"] for r in sql(url, f"SELECT id FROM {table}")] == [1]


# -- filter --------------------------------------------------------------------------------

def test_a_filter_naming_a_field_no_record_has_warns_and_fails_under_strict(tmp_path):
    source = tmp_path / "in.jsonl"
    source.write_text('{"id": 1, "amount": 500}\n{"id": 2, "amount": 50}\n')
    out = tmp_path / "out.jsonl"
    args = ("file | filter | out=file", "-o", f"file.path={source}",
            "-o", "filter.where=amout > 100", "-o", f"out.path={out}")
    proc = adf(*args, "--json")
    assert proc.returncode == 0, proc.stderr
    assert out.read_text() == ""
    warning = summary(proc)["warnings"][0]
    assert warning["component"] == "filter"
    assert "names the field 'amout', which no record of input 'file' has" in warning["message"]
    assert "did you mean 'amount'?" in warning["message"]
    out.write_text("old\n")
    strict = adf(*args, "--strict")
    assert strict.returncode == 1
    assert "amout" in strict.stderr
    assert out.read_text() == "old\n"
    right = adf("file | filter | out=file", "-o", f"file.path={source}",
                "-o", "filter.where=amount > 100", "-o", f"out.path={out}", "--strict")
    assert right.returncode == 0, right.stderr
    assert read_jsonl(out) == [{"id": 1, "amount": 500}]


# -- http source ---------------------------------------------------------------------------

def test_http_records_that_are_not_objects_are_dead_lettered(http_server, tmp_path):
    url = http_server.route("/items", (200, [{"id": 1}, "oops", {"id": 2}, [3]]))
    out, dead = tmp_path / "out.jsonl", tmp_path / "dead.jsonl"
    fail = adf("http | out=file", "-o", f"http.url={url}", "-o", f"out.path={out}")
    assert fail.returncode == 1
    assert "record 2 of page 1 is a str, not an object" in fail.stderr
    proc = adf("http | out=file", "-o", f"http.url={url}", "-o", f"out.path={out}",
               "--dead-letter", str(dead))
    assert proc.returncode == 0, proc.stderr
    assert read_jsonl(out) == [{"id": 1}, {"id": 2}]
    letters = read_jsonl(dead)
    assert [(d["component"], d["position"], d["record"]) for d in letters] == [
        ("http", {"record": 2}, "oops"), ("http", {"record": 4}, [3])]
