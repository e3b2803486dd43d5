"""One destination fed lists of records, then Arrow batches (a glob of JSON lines and parquet
files, read as dicts and as Arrow): a parquet output holds both, the same either way."""

from __future__ import annotations

from pathlib import Path

import pytest
from arrow_helpers import adf

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

EXPECTED = [{"id": 1, "name": "Zoë"}, {"id": 2, "name": None},
            {"id": 3, "name": "東京"}, {"id": 4, "name": None}]


def test_records_then_arrow_batches_make_one_parquet_file(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    # a line without `name` keeps these JSON lines dicts (an Arrow row would have it)
    (folder / "a.jsonl").write_text('{"id": 1, "name": "Zoë"}\n{"id": 2}\n', encoding="utf-8")
    pq.write_table(pa.table({"id": [3, 4], "name": ["東京", None]}), folder / "b.parquet")
    tables = []
    for batch_format in ("arrow", "records"):
        out = tmp_path / f"{batch_format}.parquet"
        result = adf(["run", "src=file | dst=file", "-q", "-o", f"src.path={folder}/*",
                      "-o", f"dst.path={out}"], env={"ADF_BATCH_FORMAT": batch_format})
        assert result.exit_code == 0, result.output
        tables.append(pq.read_table(out).to_pylist())
    assert tables[0] == tables[1] == EXPECTED
