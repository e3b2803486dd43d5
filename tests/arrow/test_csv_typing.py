"""A CSV column read as Arrow is typed cell for cell as the dict reader types it."""

from __future__ import annotations

from pathlib import Path

import pytest

from adf_core import DataFlow
from adf_core.records import iter_records

COLUMNS = {
    "zip": ["007", "123", "0", ""],             # a leading zero is text: the column is mixed
    "signed": ["+5", "-3", "0", "-0"],          # integers
    "floats": ["1.5", ".5", "5.", "1e5"],       # floats, one without a point
    "special": ["nan", "inf", "x", ""],         # text (csv_value reads no nan)
    "mixed": ["1", "2.5", "", "3"],             # integers and floats
    "words": ["Zoë", "東京", "", "a b"],         # text and null
    "big": ["99999999999999999999", "1", "2", "3"],  # beyond 64 bits
    "dates": ["2024-01-02", "2024-01-03", "", "2024-01-05"],
}


def collect(upstream):
    return {"rows": [r for v in upstream.values() for r in iter_records(v)]}


@pytest.mark.parametrize("infer", [True, False])
def test_every_column_reads_as_the_dict_reader_reads_it(tmp_path: Path, infer: bool) -> None:
    path = tmp_path / "cells.csv"
    names = list(COLUMNS)
    lines = [",".join(names)] + [",".join(COLUMNS[n][i] for n in names) for i in range(4)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    got = {}
    for fmt in ("arrow", "records"):
        flow = DataFlow.parse("src=file | collect", resolver=_resolver(),
                              options={"src": {"path": str(path), "infer_types": infer}},
                              batch_format=fmt)
        got[fmt] = flow.run().outputs["collect"]["rows"]
    assert got["arrow"] == got["records"]
    assert [type(v) for v in got["arrow"][0].values()] == [type(v) for v in
                                                            got["records"][0].values()]
    if infer:
        assert got["arrow"][0]["zip"] == "007" and got["arrow"][1]["zip"] == 123
        assert got["arrow"][0]["signed"] == 5 and got["arrow"][3]["floats"] == 100000.0


def _resolver():
    from adf_core.engine.expression import default_resolver

    return lambda name, kind: collect if name == "collect" else default_resolver(name, kind)


def test_the_plain_csv_is_read_by_pyarrow_and_a_quoted_one_by_the_dict_reader(
        tmp_path: Path) -> None:
    from arrow_helpers import write_inputs

    paths = write_inputs(tmp_path)
    kinds = {}
    for name in ("plain", "csv"):
        flow = DataFlow.parse("src=file | kinds", resolver=_kinds_resolver(),
                              options={"src": {"path": str(paths[name])}}, batch_format="arrow")
        kinds[name] = flow.run().outputs["kinds"]["kinds"]
    assert kinds == {"plain": ["RecordBatch"], "csv": ["list"]}


def kinds(upstream):
    return {"kinds": sorted({type(b).__name__ for v in upstream.values() for b in v})}


def _kinds_resolver():
    from adf_core.engine.expression import default_resolver

    return lambda name, kind: kinds if name == "kinds" else default_resolver(name, kind)


# Columns whose cells all could start a number: a space makes a cell text without a
# regular expression, and the other cells still decide whether the column is mixed.
ONE_COLUMN = {
    "date-times": (["2026-11-01 00:00:00", "2026-11-02 13:45:00", ""], str),
    "clock and numbers": (["10:30", "5", "11:45"], None),        # mixed: records
    "spaced and float": (["1 2", "2.5", ""], None),              # mixed: records
    "float and spaced": (["", "2.5", "1 2"], None),              # mixed: records
    "spaced after dates": (["2026-11-01", "2026-11-02 10:00"], str),
    "spaced numbers": (["1 2", "3 4", "+ 5"], str),              # text
    "signed floats": (["-1.5", "+2.", "-.5"], float),
    "whole floats": (["3.0", "-0.0", "14285.71"], float),
    # the first cell picks the typing tried first (Arrow's casts); these are where Arrow's
    # number syntax and csv_value's differ, so the other cells must still decide
    "floats then an integer": (["1.5", "2.5", "3"], None),       # mixed: records
    "floats then nan": (["1.5", "nan"], None),                   # float and text
    "floats then inf": (["1.5", "-inf", "2.0"], None),
    "floats then exponents": (["1.5", "1e5", "2E-3", "1.e2"], float),
    "floats that overflow": (["1.5", "1e999", "-1e999"], float),  # inf, as float() reads it
    "floats then a leading zero": (["1.5", "007"], None),
    "floats then a date": (["1.5", "2024-01-02"], None),
    "points alone": ([".5", "1.", "-.5", "+1."], float),
    "integers then a leading zero": (["5", "007"], None),
    "integers then a signed leading zero": (["5", "-07"], None),
    "integers and zeros": (["5", "-0", "0", "+0"], int),
    "integers then a plus sign": (["5", "+6", "-7"], int),
    "integers then a float": (["5", "6.5"], None),
    "integers then a big one": (["5", "99999999999999999999"], None),  # beyond int64
    "negative integers": (["-5", "-60", ""], int),
    "words pyarrow would read": (["NA", "true", "false", "null", "N/A"], str),
    "booleans": (["true", "false", ""], str),
    "words then a number": (["x", "5"], None),
    "empty then floats": (["", "1.5", "2.25"], float),
    "a date then a date-time": (["2024-01-02", "2024-01-02 10:00:00"], str),
    "times": (["10:30:00", "11:45:00"], str),
}


@pytest.mark.parametrize("name", list(ONE_COLUMN))
def test_a_column_of_number_like_cells_reads_as_the_dict_reader_reads_it(
        tmp_path: Path, name: str) -> None:
    cells, kind = ONE_COLUMN[name]
    path = tmp_path / "one.csv"
    path.write_text("value,n\n" + "".join(f"{c},{i}\n" for i, c in enumerate(cells)),
                    encoding="utf-8")
    got, batches = {}, {}
    for fmt in ("arrow", "records"):
        flow = DataFlow.parse("src=file | collect", resolver=_resolver(),
                              options={"src": {"path": str(path)}}, batch_format=fmt)
        got[fmt] = flow.run().outputs["collect"]["rows"]
        flow = DataFlow.parse("src=file | kinds", resolver=_kinds_resolver(),
                              options={"src": {"path": str(path)}}, batch_format=fmt)
        batches[fmt] = flow.run().outputs["kinds"]["kinds"]
    assert got["arrow"] == got["records"]
    assert [type(r["value"]) for r in got["arrow"]] == [type(r["value"]) for r in
                                                         got["records"]]
    if kind is None:  # one Arrow column cannot hold it: the batch is records
        assert batches["arrow"] == ["list"]
    else:
        assert batches["arrow"] == ["RecordBatch"]
        assert {type(r["value"]) for r in got["arrow"] if r["value"] is not None} == {kind}


def test_random_columns_read_as_the_dict_reader_reads_them(tmp_path: Path) -> None:
    """Columns of cells drawn from every kind above, mostly one kind with a stray other
    (the cases a first cell or a cheap check could get wrong), both ways."""
    import random

    rng = random.Random(12)
    kinds = [cells for cells, _ in ONE_COLUMN.values()] + [
        [str(rng.randint(-10**6, 10**6)) for _ in range(20)],
        [repr(rng.uniform(-1e6, 1e6)) for _ in range(20)]]
    columns = {}
    for n in range(40):
        main, stray = rng.choice(kinds), rng.choice(kinds)
        cells = [rng.choice(main) for _ in range(300)]
        if n % 2:
            cells[rng.randrange(300)] = rng.choice(stray)
        columns[f"c{n}"] = cells
    path = tmp_path / "random.csv"
    names = list(columns)
    path.write_text(",".join(names) + "\n" + "".join(
        ",".join(columns[c][i] for c in names) + "\n" for i in range(300)), encoding="utf-8")
    got = {}
    for fmt in ("arrow", "records"):
        flow = DataFlow.parse("src=file | collect", resolver=_resolver(),
                              options={"src": {"path": str(path), "batch_size": 100}},
                              batch_format=fmt)
        got[fmt] = flow.run().outputs["collect"]["rows"]
    assert got["arrow"] == got["records"]
    assert [[type(v) for v in r.values()] for r in got["arrow"]] == [
        [type(v) for v in r.values()] for r in got["records"]]


def _big_csv(path: Path, tail: str) -> int:
    """A plain CSV of more than one pyarrow block (1 MiB), then ``tail``."""
    rows = 60_000
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("id,name,price\n")
        handle.writelines(f"{i},name {i},{i / 4}\n" for i in range(rows))
        handle.write(tail)
    return rows


def test_a_quote_after_the_first_block_hands_the_rest_to_the_dict_reader(
        tmp_path: Path) -> None:
    path = tmp_path / "late.csv"
    rows = _big_csv(path, '7,"a, b",1.5\n8,plain,2.5\n')
    got = {}
    for fmt in ("arrow", "records"):
        flow = DataFlow.parse("src=file | collect", resolver=_resolver(),
                              options={"src": {"path": str(path), "batch_size": 10_000}},
                              batch_format=fmt)
        got[fmt] = flow.run().outputs["collect"]["rows"]
    assert len(got["arrow"]) == rows + 2
    assert got["arrow"] == got["records"]
    assert got["arrow"][-2] == {"id": 7, "name": "a, b", "price": 1.5}


def test_a_quote_never_closed_after_the_first_block_fails_as_the_dict_reader_does(
        tmp_path: Path) -> None:
    path = tmp_path / "open.csv"
    _big_csv(path, '7,"a, b,1.5\n8,plain,2.5\n')
    errors = {}
    for fmt in ("arrow", "records"):
        flow = DataFlow.parse("src=file | collect", resolver=_resolver(),
                              options={"src": {"path": str(path)}}, batch_format=fmt)
        with pytest.raises(Exception) as failed:
            flow.run()
        errors[fmt] = str(failed.value)
    assert errors["arrow"] == errors["records"]
    assert "open.csv" in errors["arrow"]
