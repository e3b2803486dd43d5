"""A value the column cannot take fails the db destination naming the record, through the real
`adf` command, on every backend; the table keeps what it held (issue 10)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

BAD_VALUES = {
    "yes-for-a-boolean": ({"id": 1, "v": True}, {"id": 2, "v": "yes"}),
    "30-digit-int-for-bigint": ({"id": 1, "v": 5}, {"id": 2, "v": 123456789012345678901234567890}),
}


def rows_of(url: str, table: str) -> list[tuple[object, ...]]:
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return [tuple(row) for row in conn.execute(sa.text(f"SELECT id FROM {table}"))]
    finally:
        engine.dispose()


@pytest.mark.parametrize("case", BAD_VALUES.values(), ids=BAD_VALUES.keys())
def test_a_value_the_column_cannot_take_names_the_record(db_url: str, table_name: str,
                                                         tmp_path: Path, case: tuple) -> None:
    good, bad = case

    def load(*records: dict[str, object]) -> subprocess.CompletedProcess[str]:
        (tmp_path / "in.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
        return subprocess.run(
            [sys.executable, "-m", "adf_core.cli", "run", "-q", "file | out=db",
             "-o", "file.path=in.jsonl", "-o", f"out.url={db_url}",
             "-o", f"out.table={table_name}"],
            cwd=tmp_path, env={**os.environ, "ADF_LOG_FORMAT": "json"}, capture_output=True,
            text=True, timeout=120)

    first = load(good)
    assert first.returncode == 0, first.stderr
    done = load({**good, "id": 10}, bad, {**good, "id": 30})
    assert done.returncode == 1, done.stderr
    error = next(line for line in done.stderr.splitlines() if line.startswith("error:"))
    assert f"record 2 (input 'file') does not fit table '{table_name}'" in error, error
    assert "Traceback" not in done.stderr
    assert rows_of(db_url, table_name) == [(1,)]  # the append rolled back whole
