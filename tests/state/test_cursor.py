"""``adf_plugins.incremental``: the query a cursor builds, and the same rows kept and the same
state whether a batch is a list of dicts or an Arrow record batch."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

from adf_plugins.incremental import Cursor, bind_params, to_positional

T0 = dt.datetime(2026, 11, 24, 10, 0, tzinfo=dt.UTC)


def test_the_query_reads_above_last_minus_lag_ordered_by_the_cursor() -> None:
    first = Cursor("seq", {}, initial_value=5)
    assert first.query(table="events") == (
        "SELECT * FROM events WHERE seq >= :adf_cursor_from ORDER BY seq", {"adf_cursor_from": 5})
    later = Cursor("seq", {"cursor": 40}, lag=3)
    sql, params = later.query(query="SELECT * FROM events WHERE day = :day", params={"day": 1})
    assert sql == ("SELECT * FROM (SELECT * FROM events WHERE day = :day) adf_incremental "
                   "WHERE seq > :adf_cursor_from ORDER BY seq")
    assert params == {"day": 1, "adf_cursor_from": 37}
    assert Cursor("seq", {}).query(table="s.events")[0] == "SELECT * FROM s.events ORDER BY seq"
    assert to_positional(sql, params, "numeric_dollar") == (
        sql.replace(":day", "$1").replace(":adf_cursor_from", "$2"), [1, 37])
    with pytest.raises(ValueError, match="plain"):
        Cursor("seq; drop table x", {})


def test_placeholders_come_from_params_then_the_context_and_unknown_ones_are_named() -> None:
    query = "SELECT * FROM t WHERE day = :day AND kind = :kind AND note = 'a\\:b'"
    assert bind_params(query, {"kind": "x"}, {"day": "d", "kind": "y"}, "src") == {
        "day": "d", "kind": "x"}
    with pytest.raises(ValueError, match=r"'src'.*:day.*-p day=VALUE"):
        bind_params(query, {"kind": "x"}, {}, "src")


def batches(rows: list[dict[str, Any]], size: int) -> list[list[dict[str, Any]]]:
    return [rows[i:i + size] for i in range(0, len(rows), size)]


def run_cursor(state: dict[str, Any], rows: list[dict[str, Any]], arrow: bool) -> list[int]:
    cursor = Cursor("ts", state, lag=600, key=["id"])
    kept: list[int] = []
    for batch in batches(rows, 4):
        if arrow:
            import pyarrow as pa

            out = cursor.accept(pa.RecordBatch.from_pylist(batch))
            kept.extend(out.column("id").to_pylist())
        else:
            kept.extend(r["id"] for r in cursor.accept(batch))
    return kept


def test_records_and_arrow_batches_keep_the_same_rows_and_state() -> None:
    pytest.importorskip("pyarrow")
    first = [{"id": i, "ts": T0 + dt.timedelta(minutes=i)} for i in range(1, 21)]
    again = [*first[-10:],  # what `ts > 10:20 - 10 min` reads again
             {"id": 99, "ts": T0 + dt.timedelta(minutes=15)},
             {"id": 100, "ts": T0 + dt.timedelta(minutes=25)}]
    again.sort(key=lambda r: r["ts"])
    results = []
    for arrow in (False, True):
        state: dict[str, Any] = {}
        assert run_cursor(state, first, arrow) == list(range(1, 21))
        saved = json.loads(json.dumps(state))  # as the store keeps it
        assert run_cursor(saved, again, arrow) == [99, 100]
        results.append(saved)
    assert results[0] == results[1]
    window = sorted(entry[0] for entry in results[0]["window"])
    assert window == [16, 17, 18, 19, 20, 100]  # within ten minutes of 10:25


def test_the_state_stays_small_whatever_the_number_of_rows() -> None:
    sizes = []
    for rows in (1_000, 50_000):
        state: dict[str, Any] = {}
        cursor = Cursor("seq", state, lag=10, key=["id"])
        for start in range(0, rows, 1000):
            cursor.accept([{"id": i, "seq": i} for i in range(start, start + 1000)])
        sizes.append((len(state["window"]), len(json.dumps(state))))
    assert sizes[0][0] == sizes[1][0] == 10  # the rows within lag of the last: 10 of them
    assert sizes[1][1] < 250
