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
