"""The `db` source's incremental reads on SQLite, PostgreSQL and MariaDB: new rows only, rows
committed late inside `lag`, duplicates dropped by `key`, failed runs that keep the state,
placeholders bound from the flow context, and the state written in the destination's
transaction."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from adf_core import DataFlow
from adf_core.cli import cli
from adf_core.data.state_store import StateStore
from adf_core.errors import ComponentError
from adf_plugins.incremental import decode

T0 = dt.datetime(2026, 11, 24, 10, 0, 0)


@pytest.fixture(params=["sqlite", "postgresql", "mariadb"])
def db(request: pytest.FixtureRequest, workdir: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{workdir / 'data.db'}"
    return str(request.getfixturevalue(f"{request.param}_url"))


@pytest.fixture(params=["postgresql", "mariadb"])
def server(request: pytest.FixtureRequest, workdir: Path) -> str:
    """A database server's URL (the state store can live there too)."""
    return str(request.getfixturevalue(f"{request.param}_url"))


def execute(url: str, *statements: tuple[str, Any]) -> None:
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        for sql, params in statements:
            conn.execute(sa.text(sql), params)
    engine.dispose()


def ids(url: str, table: str) -> list[int]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return [r[0] for r in conn.execute(sa.text(f"SELECT id FROM {table} ORDER BY id"))]
    finally:
        engine.dispose()


def add_orders(url: str, table: str, rows: list[tuple[int, dt.datetime]]) -> None:
    execute(url, (f"CREATE TABLE IF NOT EXISTS {table} (id INTEGER PRIMARY KEY, "
                  "updated_at TIMESTAMP, amount INTEGER)", {}),
            (f"INSERT INTO {table} VALUES (:id, :ts, :amount)",
             [{"id": i, "ts": ts, "amount": i * 10} for i, ts in rows]))


def flow(url: str, source: str, target: str, name: str, *, state: str | None = None,
         mode: str = "upsert", **incremental: Any) -> DataFlow:
    src = {"url": url, "table": source, "incremental": "updated_at", "batch_size": 7,
           **incremental}
    out = {"url": url, "table": target, "mode": mode}
    if mode == "upsert":
        out["key"] = ["id"]
    return DataFlow.parse("src=db | out=db", options={"src": src, "out": out}, name=name,
                          state=state)


def moment(saved: Any) -> dt.datetime:
    """A saved timestamp cursor (SQLite keeps timestamps as text)."""
    value = decode(saved)
    return dt.datetime.fromisoformat(value) if isinstance(value, str) else value


def read_count(result: Any) -> int:
    return int(result.records["src"].records_out)


def test_rows_inserted_between_runs_are_read_once(db: str, unique: str) -> None:
    source, target = f"{unique}_src", f"{unique}_dst"
    add_orders(db, source, [(i, T0 + dt.timedelta(minutes=i)) for i in range(1, 31)])
    first = flow(db, source, target, unique).run()
    assert read_count(first) == 30
    again = flow(db, source, target, unique).run()
    assert read_count(again) == 0  # nothing new: nothing read
    add_orders(db, source, [(i, T0 + dt.timedelta(minutes=i)) for i in range(31, 36)])
    third = flow(db, source, target, unique).run()
    assert read_count(third) == 5
    assert ids(db, target) == list(range(1, 36))
    saved = StateStore("sqlite:///.adf/state.db").load(unique)
    assert list(saved["src"]) == ["cursor"]  # no key, no lag: a few bytes, whatever the table
    assert moment(saved["src"]["cursor"]) == T0 + dt.timedelta(minutes=35)


def test_rows_committed_late_inside_lag_are_read_and_duplicates_dropped(db: str, unique: str
                                                                        ) -> None:
    source, target = f"{unique}_src", f"{unique}_dst"
    add_orders(db, source, [(i, T0 + dt.timedelta(minutes=i)) for i in range(1, 11)])
    options = {"lag": 300, "key": ["id"]}  # five minutes
    assert read_count(flow(db, source, target, unique, **options).run()) == 10
    # committed after that run, with cursor values older than the last one seen
    add_orders(db, source, [(101, T0 + dt.timedelta(minutes=8)),   # inside the lag
                            (102, T0 + dt.timedelta(minutes=2)),   # older than the lag
                            (103, T0 + dt.timedelta(minutes=12))])  # new
    second = flow(db, source, target, unique, mode="append", **options).run()
    # rows 6..10 were read again inside the window and dropped by key: only 101 and 103 left
    assert read_count(second) == 2
    assert ids(db, target) == [*range(1, 11), 101, 103]
    state = StateStore("sqlite:///.adf/state.db").load(unique)["src"]
    window = sorted(entry[0] for entry in state["window"])
    assert window == [8, 9, 10, 101, 103]  # only rows within lag of the newest (10:12)
    assert read_count(flow(db, source, target, unique, mode="append", **options).run()) == 0


def test_a_numeric_cursor_with_lag_in_its_own_units(workdir: Path, unique: str) -> None:
    url = f"sqlite:///{workdir / 'n.db'}"
    execute(url, ("CREATE TABLE events (id INTEGER PRIMARY KEY, seq INTEGER)", {}),
            ("INSERT INTO events VALUES (:id, :seq)", [{"id": i, "seq": i} for i in range(50)]))
    options = {"src": {"url": url, "table": "events", "incremental": "seq", "lag": 3,
                       "key": "id", "initial_value": 10},
               "out": {"url": url, "table": "copy", "mode": "append"}}
    make = lambda: DataFlow.parse("src=db | out=db", options=options, name=unique)  # noqa: E731
    assert make().run().records["src"].records_out == 40  # initial_value 10 on: 10..49
    execute(url, ("INSERT INTO events VALUES (:id, :seq)", [{"id": 100, "seq": 47},
                                                             {"id": 101, "seq": 45}]))
    assert make().run().records["src"].records_out == 1  # 47 is inside 49 - 3; 45 is not
    assert ids(url, "copy") == [*range(10, 50), 100]


def test_a_run_failing_in_a_destination_leaves_the_state_unchanged(db: str, unique: str) -> None:
    source, target = f"{unique}_src", f"{unique}_dst"
    add_orders(db, source, [(i, T0 + dt.timedelta(minutes=i)) for i in range(1, 6)])
    flow(db, source, target, unique).run()
    store = StateStore("sqlite:///.adf/state.db")
    before = store.rows(unique)
    add_orders(db, source, [(i, T0 + dt.timedelta(minutes=i)) for i in range(6, 9)])
    # the destination cannot take the new rows: a column they lack is NOT NULL
    execute(db, (f"ALTER TABLE {target} ADD COLUMN region TEXT NOT NULL DEFAULT 'x'", {}),
            (f"ALTER TABLE {target} ALTER COLUMN region DROP DEFAULT", {})
            if not db.startswith("sqlite") else ("SELECT 1", {}))
    if db.startswith("sqlite"):  # SQLite cannot drop a default: fail on a CHECK instead
        execute(db, (f"DROP TABLE {target}", {}),
                (f"CREATE TABLE {target} (id INTEGER PRIMARY KEY, updated_at TIMESTAMP, "
                 "amount INTEGER CHECK (amount < 60))", {}),
                (f"INSERT INTO {target} SELECT * FROM {source} WHERE id <= 5", {}))
    with pytest.raises(ComponentError):
        flow(db, source, target, unique).run()
    after = store.rows(unique)
    assert [(r.value, r.run_id) for r in after] == [(r.value, r.run_id) for r in before]
    assert ids(db, target) == [1, 2, 3, 4, 5]
    execute(db, (f"DROP TABLE {target}", {}))
    # fixed: the next run reads again what the failed one could not load
    assert read_count(flow(db, source, target, unique).run()) == 3
    assert ids(db, target) == [6, 7, 8]


def test_placeholders_are_bound_from_the_flow_context(workdir: Path, unique: str) -> None:
    url = f"sqlite:///{workdir / 'p.db'}"
    execute(url, ("CREATE TABLE orders (id INTEGER PRIMARY KEY, day TEXT, note TEXT)", {}),
            ("INSERT INTO orders VALUES (:id, :day, :note)",
             [{"id": 1, "day": "2026-11-24", "note": "x"},
              {"id": 2, "day": "2026-11-25", "note": "'; DROP TABLE orders; --"}]))
    runner = CliRunner()
    query = "SELECT id, note FROM orders WHERE day = :day"
    result = runner.invoke(cli, ["run", "src=db | stdout", "-o", f"src.url={url}",
                                 "-o", f"src.query={query}", "-o", "stdout.format=jsonl",
                                 "-p", "day=2026-11-24", "-q"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == '{"id": 1, "note": "x"}'
    # a value is bound, never formatted into the SQL
    hostile = runner.invoke(cli, ["run", "src=db | stdout", "-o", f"src.url={url}",
                                  "-o", "src.query=SELECT id FROM orders WHERE note = :note",
                                  "-o", "stdout.format=jsonl", "-q",
                                  "-p", "note='; DROP TABLE orders; --"])
    assert hostile.exit_code == 0 and hostile.stdout.strip() == '{"id": 2}'
    missing = runner.invoke(cli, ["run", "src=db | stdout", "-o", f"src.url={url}",
                                  "-o", f"src.query={query}", "-q"])
    assert missing.exit_code == 1
    assert ":day" in missing.output and "'src'" in missing.output
    assert "-p day=" in missing.output


def test_incremental_without_a_name_is_a_definition_error(workdir: Path) -> None:
    result = CliRunner().invoke(cli, ["run", "src=db | stdout", "-o", "src.url=sqlite:///x.db",
                                      "-o", "src.table=t", "-o", "src.incremental=id"])
    assert result.exit_code == 2
    assert "'src' keeps state" in result.output and "--name" in result.output
    plain = CliRunner().invoke(cli, ["run", "src=db | stdout", "-o", "src.url=sqlite:///x.db",
                                     "-o", "src.table=t", "--dry-run"])
    assert plain.exit_code == 0, plain.output  # not incremental: no name needed


def test_state_in_the_destination_transaction_makes_appends_exactly_once(
        server: str, workdir: Path, unique: str) -> None:
    source, target = f"{unique}_src", f"{unique}_dst"
    add_orders(server, source, [(i, T0 + dt.timedelta(minutes=i)) for i in range(1, 21)])
    make = lambda: flow(server, source, target, unique, mode="append",  # noqa: E731
                        state=server)
    assert read_count(make().run()) == 20
    store = StateStore(server)
    try:
        saved = store.rows(unique)
        assert [r.alias for r in saved] == ["src"]
        # the destination wrote it: the row carries the run id and sits in that database
        assert moment(saved[0].value["cursor"]) == T0 + dt.timedelta(minutes=20)
        assert not (workdir / ".adf").exists()
        assert read_count(make().run()) == 0
        assert ids(server, target) == list(range(1, 21))
    finally:
        store.reset(unique)
        store.close()
        execute(server, (f"DROP TABLE IF EXISTS {source}", {}),
                (f"DROP TABLE IF EXISTS {target}", {}))


def test_dry_run_names_incremental_options_that_cannot_work(workdir: Path) -> None:
    base = ["run", "src=db | stdout", "-o", "src.url=sqlite:///x.db", "-o", "src.table=t",
            "--dry-run"]
    result = CliRunner().invoke(cli, [*base, "-o", "src.lag=5", "-o", "src.key=id"])
    assert result.exit_code == 2
    assert "src.lag: has no effect without `incremental`" in result.output
    assert "src.key: has no effect without `incremental`" in result.output
    result = CliRunner().invoke(cli, [*base, "--name", "n", "-o", "src.incremental=a;b",
                                      "-o", "src.lag=-1"])
    assert result.exit_code == 2
    assert "src.incremental: incremental column 'a;b'" in result.output
    assert "src.lag: must be >= 0" in result.output
