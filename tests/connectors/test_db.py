"""The db source and destination on SQLite, PostgreSQL and MariaDB (one matrix), on the
row path (dicts); ``test_db_arrow.py`` runs the same flows both ways on the columnar path."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest
import sqlalchemy as sa

from adf_core import DataFlow, step
from adf_core.errors import ComponentError
from adf_plugins.db import RecordError, read_db, write_db
from adf_plugins.files import write_file

ROWS = [
    {
        "id": i,
        "name": f"customer {i}",
        "amount": Decimal(i) + Decimal("0.25"),
        "ratio": i / 4,
        "paid": i % 2 == 0,
        "day": dt.date(2026, 11, 1 + i % 28),
        "meta": {"tags": ["a", str(i)]},
    }
    for i in range(1, 2501)
]


@pytest.fixture(autouse=True)
def _records_path(monkeypatch):
    """These tests call the components directly and look at dicts: the row path."""
    monkeypatch.setenv("ADF_BATCH_FORMAT", "records")


def rows_of(url: str, table: str) -> list[dict]:
    return [r for batch in read_db(url, query=f"SELECT * FROM {table} ORDER BY id") for r in batch]


def test_round_trip_creates_the_table_and_streams_back_in_batches(db_url, table_name):
    written = write_db(db_url, table_name, upstream={"src": ROWS})
    assert written.records == len(ROWS)

    batches = read_db(db_url, table=table_name, batch_size=1000)
    sizes = [len(b) for b in batches]
    assert sizes == [1000, 1000, 500]

    back = sorted((r for b in read_db(db_url, table=table_name) for r in b), key=lambda r: r["id"])
    assert [r["id"] for r in back] == [r["id"] for r in ROWS]
    first = back[0]
    assert first["name"] == "customer 1"
    assert Decimal(first["amount"]) == Decimal("1.25")
    assert first["ratio"] == pytest.approx(0.25)
    assert bool(first["paid"]) is False
    assert first["day"] == dt.date(2026, 11, 2)
    meta = first["meta"]  # MariaDB's JSON is an alias of LONGTEXT: it reads back as text
    assert (json.loads(meta) if isinstance(meta, str) else meta) == {"tags": ["a", "1"]}


def test_query_with_bind_parameters(db_url, table_name):
    write_db(db_url, table_name, upstream={"src": ROWS[:10]})
    query = f"SELECT id, name FROM {table_name} WHERE id > :low ORDER BY id"
    rows = [r for b in read_db(db_url, query=query, params={"low": 7}) for r in b]
    assert rows == [
        {"id": 8, "name": "customer 8"},
        {"id": 9, "name": "customer 9"},
        {"id": 10, "name": "customer 10"},
    ]


def test_append_replace_and_upsert(db_url, table_name):
    base = [{"id": i, "name": f"n{i}"} for i in range(1, 4)]
    write_db(db_url, table_name, upstream={"a": base}, key=["id"])
    write_db(db_url, table_name, mode="replace", upstream={"a": base[:2]})
    assert [r["id"] for r in rows_of(db_url, table_name)] == [1, 2]

    changes = [{"id": 2, "name": "old"}, {"id": 2, "name": "two"}, {"id": 5, "name": "five"}]
    write_db(db_url, table_name, mode="upsert", key=["id"], upstream={"a": changes})
    assert rows_of(db_url, table_name) == [
        {"id": 1, "name": "n1"},
        {"id": 2, "name": "two"},
        {"id": 5, "name": "five"},
    ]


def test_append_adds_rows_from_every_input_in_order(db_url, table_name):
    upstream = {"eu": [{"id": 1, "region": "eu"}], "us": iter([[{"id": 2, "region": "us"}]])}
    write_db(db_url, table_name, upstream=upstream)
    context = {"eu": [{"id": 3, "region": "eu"}], "us": [{"id": 4, "region": "us"}]}
    write_db(db_url, table_name, upstream=upstream, context=context, input=["us"])
    assert [r["id"] for r in rows_of(db_url, table_name)] == [1, 2, 4]


def test_upsert_needs_a_key_and_modes_are_checked(db_url, table_name):
    with pytest.raises(ValueError, match="needs the `key` option"):
        write_db(db_url, table_name, mode="upsert", upstream={"a": ROWS[:1]})
    with pytest.raises(ValueError, match="unknown mode 'merge'"):
        write_db(db_url, table_name, mode="merge", upstream={"a": ROWS[:1]})


def table_exists(url: str, table: str) -> bool:
    engine = sa.create_engine(url)
    try:
        return sa.inspect(engine).has_table(table)
    finally:
        engine.dispose()


def records_then_a_bad_one(n: int):
    """A stream of good batches, then a record with a field the table does not have."""
    for start in range(0, n, 500):
        yield [{"id": i, "name": f"n{i}"} for i in range(start, start + 500)]
    yield [{"id": n, "name": "bad", "surprise": 1}]


def test_a_bad_later_record_rolls_back_a_new_table(db_url, table_name):
    with pytest.raises(RecordError, match=rf"record 2001 \(input 'src'\).*{table_name}.*surprise"):
        write_db(db_url, table_name, upstream={"src": records_then_a_bad_one(2000)},
                 schema="freeze")
    assert not table_exists(db_url, table_name)


def test_a_bad_later_record_leaves_an_existing_table_as_it_was(db_url, table_name):
    write_db(db_url, table_name, upstream={"src": [{"id": -1, "name": "kept"}]})
    for mode in ("append", "replace"):
        with pytest.raises(RecordError, match="record 2001"):
            write_db(db_url, table_name, mode=mode, upstream={"src": records_then_a_bad_one(2000)},
                     schema="freeze")
        assert rows_of(db_url, table_name) == [{"id": -1, "name": "kept"}]


def test_a_value_of_the_wrong_type_names_the_record(db_url, table_name):
    if db_url.startswith("sqlite"):
        pytest.skip("SQLite stores any value in any column (dynamic typing)")
    write_db(db_url, table_name, upstream={"src": [{"id": 1, "name": "kept"}]})
    rows = [{"id": i, "name": f"n{i}"} for i in range(2, 1500)] + [{"id": "x1", "name": "bad"}]
    with pytest.raises(RecordError, match=r"record 1499 \(input 'src'\) does not fit table"):
        write_db(db_url, table_name, upstream={"src": rows})
    assert rows_of(db_url, table_name) == [{"id": 1, "name": "kept"}]


def test_a_missing_table_or_bad_query_is_a_clear_error(db_url):
    with pytest.raises(LookupError, match="no table 'adf_no_such_table'"):
        list(read_db(db_url, table="adf_no_such_table"))
    with pytest.raises(RuntimeError, match="db source"):
        list(read_db(db_url, query="SELECT * FROM adf_no_such_table"))
    with pytest.raises(ValueError, match="exactly one of"):
        list(read_db(db_url))


def test_a_failing_sibling_destination_rolls_the_table_back(db_url, table_name):
    """The engine cancels the db destination while it still consumes the stream."""

    def source():
        for start in range(0, 50_000, 500):
            yield [{"id": i, "name": f"n{i}"} for i in range(start, start + 500)]

    def broken(upstream):
        for n, _batch in enumerate(next(iter(upstream.values())), start=1):
            if n == 3:
                raise RuntimeError("sibling failed")

    flow = DataFlow(
        (source, (step(write_db, name="db", options={"url": db_url, "table": table_name}), broken)),
        buffer_size=2,
    )
    with pytest.raises(ComponentError, match="sibling failed"):
        flow.run({})
    assert not table_exists(db_url, table_name)


def test_source_db_target_db_compare_through_the_engine(db_url, table_name, capsys):
    target_table = f"{table_name}_t"
    source_rows = [{"id": i, "v": i} for i in range(1, 6)]
    target_rows = [{"id": i, "v": i * (2 if i == 3 else 1)} for i in range(2, 8)]
    write_db(db_url, table_name, upstream={"a": source_rows})
    try:
        write_db(db_url, target_table, upstream={"a": target_rows})
        flow = DataFlow.parse(
            "source=db, target=db | compare | out=stdout",
            options={
                "source": {"url": db_url, "table": table_name},
                "target": {"url": db_url, "query": f"SELECT * FROM {target_table}"},
                "compare": {"key": "id"},
                "out": {"format": "jsonl"},
            },
        )
        result = flow.run({})
        assert [r["id"] for r in result["added"]] == [1]
        assert sorted(r["id"] for r in result["removed"]) == [6, 7]
        assert [r["id"] for r in result["changed"]] == [3]
        printed = capsys.readouterr().out.splitlines()
        assert '{"id": 1, "v": 1, "_change": "added"}' in printed
        assert len(printed) == 4
    finally:
        engine = sa.create_engine(db_url)
        with engine.begin() as conn:
            conn.execute(sa.text(f"DROP TABLE IF EXISTS {target_table}"))
        engine.dispose()


def test_db_to_db_copy_streams_through_the_engine(db_url, table_name, tmp_path):
    copy = f"{table_name}_copy"
    write_db(db_url, table_name, upstream={"a": ROWS})
    try:
        flow = DataFlow.parse(
            "src=db | merge | dst=db",
            options={
                "src": {"url": db_url, "table": table_name, "batch_size": "300"},
                "dst": {"url": db_url, "table": copy, "mode": "replace"},
            },
        )
        result = flow.run({})
        assert result.outputs["dst"].records == len(ROWS)
        assert len(rows_of(db_url, copy)) == len(ROWS)
    finally:
        engine = sa.create_engine(db_url)
        with engine.begin() as conn:
            conn.execute(sa.text(f"DROP TABLE IF EXISTS {copy}"))
        engine.dispose()


def test_destinations_of_one_stage_commit_together(db_url, table_name, tmp_path):
    """A file beside a table that fails on its last record is not written either."""
    out = tmp_path / "out.jsonl"

    def source():
        for start in range(0, 3000, 100):
            yield [{"id": i, "name": f"n{i}"} for i in range(start, start + 100)]
        yield [{"id": -1, "name": "bad", "surprise": True}]

    write_db(db_url, table_name, upstream={"a": [{"id": 0, "name": "kept"}]})
    flow = DataFlow(
        (
            source,
            (
                step(write_file, name="out", options={"path": str(out)}),
                step(write_db, name="db",
                     options={"url": db_url, "table": table_name, "schema": "freeze"}),
            ),
        )
    )
    with pytest.raises(ComponentError, match="surprise"):
        flow.run({})
    assert not out.exists()
    assert rows_of(db_url, table_name) == [{"id": 0, "name": "kept"}]


def test_two_tables_written_side_by_side_on_one_database(db_url, table_name):
    """Destinations sharing a SQLite file (one lock) do not wait for each other at commit."""
    other = f"{table_name}_b"
    rows = [{"id": i} for i in range(2000)]
    flow = DataFlow(
        (
            lambda: {"rows": rows},
            (
                step(
                    write_db,
                    name="a",
                    options={"url": db_url, "table": table_name, "input": ["rows"]},
                ),
                step(
                    write_db, name="b", options={"url": db_url, "table": other, "input": ["rows"]}
                ),
            ),
        )
    )
    try:
        result = flow.run({})
        assert result.outputs["a"].records == result.outputs["b"].records == 2000
        assert len(rows_of(db_url, other)) == 2000
    finally:
        engine = sa.create_engine(db_url)
        with engine.begin() as conn:
            conn.execute(sa.text(f"DROP TABLE IF EXISTS {other}"))
        engine.dispose()


def test_record_numbers_count_within_each_input_and_survive_upsert_dedup(tmp_path):
    url = f"sqlite:///{tmp_path / 'n.db'}"
    write_db(url, "t", upstream={"seed": [{"id": 0, "v": 0}]})
    with pytest.raises(RecordError, match=r"record 1 \(input 'b'\)"):
        write_db(url, "t", context={"a": [{"id": 1, "v": 1}], "b": [{"id": 2, "zzz": 1}]},
                 input=["a", "b"], schema="freeze")
    # upsert keeps the last record per key: the bad record is still the third of its input
    with pytest.raises(RecordError, match=r"record 3 \(input 'a'\)"):
        write_db(url, "t", mode="upsert", key=["id"], schema="freeze",
                 upstream={"a": [{"id": 1, "v": 1}, {"id": 1, "v": 2}, {"id": 2, "zzz": 1}]})
