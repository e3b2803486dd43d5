"""The records API reads Arrow batches and tables like lists of records (DESIGN 13)."""

from __future__ import annotations

from collections.abc import Iterable

import pytest

pa = pytest.importorskip("pyarrow")

from adf_core import DataFlow  # noqa: E402
from adf_core.records import (  # noqa: E402
    LabelledDatasets,
    aiter_batches,
    count_records,
    is_dataset,
    iter_batches,
    iter_records,
    select_inputs,
    unbatched,
)

ROWS = [{"id": 1, "name": "ä"}, {"id": 2, "name": None}, {"id": 3, "name": "c"}]


def test_iter_records_reads_batches_tables_and_mixtures():
    batch = pa.RecordBatch.from_pylist(ROWS)
    table = pa.Table.from_pylist(ROWS)
    assert list(iter_records(batch)) == ROWS
    assert list(iter_records(table)) == ROWS
    assert list(iter_records([batch, ROWS[:1]])) == [*ROWS, ROWS[0]]
    assert list(iter_records(iter([batch, {"id": 9, "name": "z"}]))) == [*ROWS,
                                                                          {"id": 9, "name": "z"}]
    assert list(unbatched([batch])) == ROWS


def test_iter_batches_converts_batch_by_batch_to_the_format_asked():
    stream = [pa.RecordBatch.from_pylist(ROWS[:2]), ROWS[2:]]
    records = list(iter_batches(stream))
    assert records == [ROWS[:2], ROWS[2:]]
    arrow = list(iter_batches(stream, format="arrow"))
    assert all(isinstance(b, pa.RecordBatch) for b in arrow)
    assert [b.to_pylist() for b in arrow] == [ROWS[:2], ROWS[2:]]
    as_is = list(iter_batches(stream, format=None))
    assert isinstance(as_is[0], pa.RecordBatch) and as_is[1] == ROWS[2:]
    with pytest.raises(ValueError, match="format must be"):
        list(iter_batches(ROWS, format="pandas"))  # type: ignore[arg-type]


def test_batch_size_slices_arrow_and_labels_add_a_column():
    table = pa.Table.from_pylist(ROWS)
    sizes = [len(b) for b in iter_batches(table, batch_size=2, format="arrow")]
    assert sizes == [2, 1]
    labelled = LabelledDatasets({"added": table, "removed": ROWS[:1]})
    assert list(iter_records(labelled)) == [
        *({**r, "_change": "added"} for r in ROWS), {**ROWS[0], "_change": "removed"}]
    arrow = list(iter_batches(labelled, format="arrow"))
    assert arrow[0].column("_change").to_pylist() == ["added"] * 3


def test_counting_and_dataset_checks_accept_arrow():
    table = pa.Table.from_pylist(ROWS)
    assert count_records(table) == 3
    assert count_records([table, table.to_batches()[0]]) == 6
    assert count_records({"eu": table, "us": ROWS}) == 6
    assert is_dataset(table) and is_dataset([table]) and is_dataset(table.to_batches()[0])
    assert select_inputs({"a": table}) == [("a", table)]


def test_async_batches_convert_arrow_items():
    import asyncio

    async def stream():
        yield pa.RecordBatch.from_pylist(ROWS)
        yield ROWS[0]

    async def read(fmt):
        return [b async for b in aiter_batches(stream(), format=fmt)]

    assert asyncio.run(read("records")) == [ROWS, ROWS[:1]]
    assert [type(b).__name__ for b in asyncio.run(read("arrow"))] == ["RecordBatch"] * 2


def test_pyarrow_is_imported_only_when_arrow_is_met():
    import subprocess
    import sys

    code = ("import sys; from adf_core.records import iter_records, count_records\n"
            "assert list(iter_records([{'a': 1}])) == [{'a': 1}]\n"
            "assert count_records([[{'a': 1}], {'a': 2}]) == 2\n"
            "print('pyarrow' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"


# -- the engine hands each parameter the form its annotation asks for -----------------------

def make_arrow():
    return pa.Table.from_pylist(ROWS)


def make_records():
    return [dict(r) for r in ROWS]


def wants_table(rows: pa.Table) -> dict:
    return {"type": type(rows).__name__, "rows": rows.num_rows}


def wants_batch(rows: pa.RecordBatch) -> dict:
    return {"type": type(rows).__name__, "rows": rows.num_rows}


def wants_dicts(rows: list[dict]) -> dict:
    return {"type": type(rows[0]).__name__, "names": [r["name"] for r in rows]}


def wants_iterable(rows: Iterable[dict] | None = None) -> dict:
    return {"type": type(next(iter(rows))).__name__}


def wants_anything(rows):
    return {"type": type(rows).__name__}


@pytest.mark.parametrize("source", [make_arrow, make_records])
@pytest.mark.parametrize(("sink", "expected"), [
    (wants_table, {"type": "Table", "rows": 3}),
    (wants_batch, {"type": "RecordBatch", "rows": 3}),
    (wants_dicts, {"type": "dict", "names": ["ä", None, "c"]}),
    (wants_iterable, {"type": "dict"}),
])
def test_annotation_decides_the_form_a_parameter_receives(source, sink, expected):
    from adf_core import step

    flow = DataFlow([step(source, name="rows"), sink])
    result = flow.run()
    assert result.outputs[sink.__name__] == expected
    assert result.records[sink.__name__].records_in == 3


@pytest.mark.parametrize(("source", "kind"), [(make_arrow, "Table"), (make_records, "list")])
def test_an_unannotated_parameter_gets_what_flows(source, kind):
    from adf_core import step

    result = DataFlow([step(source, name="rows"), wants_anything]).run()
    assert result.outputs["wants_anything"] == {"type": kind}


def test_batch_format_setting_is_checked():
    from adf_core.errors import FlowDefinitionError

    with pytest.raises(FlowDefinitionError, match="batch_format must be 'arrow' or 'records'"):
        DataFlow([make_records], batch_format="pandas")
