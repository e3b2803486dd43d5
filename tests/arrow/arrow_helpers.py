"""Shared data for the Arrow tests: one table of every type the issue names, as files.

``tests/arrow/conftest.py`` puts this directory on ``sys.path``.
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

pa = pytest.importorskip("pyarrow")

FORMATS = ("arrow", "records")


def rows(n: int = 40) -> list[dict[str, Any]]:
    """ints, floats, text, nulls, unicode, decimals, dates, timestamps (with a few of each
    null), in an order that exercises filters and splits."""
    out = []
    for i in range(n):
        out.append({
            "id": i,
            "qty": None if i % 7 == 3 else (i * 37) % 11 - 4,
            "price": None if i % 9 == 4 else round(i * 1.25 + 0.1, 2),
            "name": None if i % 8 == 5 else ["Zoë", "naïve", "東京", "plain", "a,b", 'q"t'][i % 6],
            "region": ["EU", "US", "APAC"][i % 3] if i % 10 != 9 else None,
            "amount": None if i % 6 == 2 else decimal.Decimal(f"{i * 3}.{i % 100:02d}"),
            "day": None if i % 5 == 1 else dt.date(2024, 1 + i % 12, 1 + i % 28),
            "at": None if i % 11 == 6 else dt.datetime(2024, 3, 1, i % 24, i % 60, i % 60,
                                                      (i * 1000) % 1_000_000),
        })
    return out


def write_inputs(directory: Path, n: int = 40) -> dict[str, Path]:
    """The same records as parquet (typed), csv and jsonl (written by the dict writers)."""
    import pyarrow.parquet as pq

    from adf_core.data.formats import RecordWriter

    data = rows(n)
    paths = {}
    table = pa.Table.from_pylist(data)
    paths["parquet"] = directory / "in.parquet"
    pq.write_table(table, paths["parquet"])
    # "csv" has quoted cells (read by the dict reader); "plain.csv" none (read by pyarrow)
    plain = [{**r, "name": r["name"] and r["name"].replace(",", ";").replace('"', "'")}
             for r in data]
    for name, fmt, records in (("csv", "csv", data), ("jsonl", "jsonl", data),
                               ("plain", "csv", plain)):
        paths[name] = directory / f"in-{name}.{fmt}"
        with open(paths[name], "wb") as handle:
            writer = RecordWriter(handle, fmt, str(paths[name]))
            writer.write(records)
            writer.close()
    return paths


def adf(args: list[str], env: dict[str, str] | None = None) -> Any:
    from adf_core.cli import cli

    result = CliRunner().invoke(cli, args, prog_name="adf", env=env)
    return result


def read_output(path: Path) -> Any:
    """What a test compares: the bytes of a text file, the table of a parquet file."""
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        return pq.read_table(path).to_pylist()
    return path.read_bytes()


def jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def record_kinds(path: str, upstream: dict[str, Any]) -> None:
    """A destination that writes the type names of the batches it received to ``path``."""
    from adf_core.records import iter_batches

    kinds = sorted({type(b).__name__ for v in upstream.values()
                    for b in iter_batches(v, format=None)})
    Path(path).write_text(json.dumps(kinds))
