"""The s3 destination writes Arrow batches as it writes records (DESIGN 13): same bytes."""

from __future__ import annotations

import datetime as dt
import decimal

import pytest
from adf_plugin_s3 import s3_destination

from adf_core.data.arrow import reset_batch_format, use_batch_format

pa = pytest.importorskip("pyarrow")

ROWS = [
    {"id": i, "price": None if i % 4 == 1 else i * 1.5, "name": ["Zoë", None, "a,b", "東京"][i % 4],
     "amount": decimal.Decimal(f"{i}.{i:02d}"), "day": dt.date(2024, 1, 1 + i),
     "at": None if i % 3 == 2 else dt.datetime(2024, 1, 1, i, 30, 0, i * 10)}
    for i in range(12)
]


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "json"])
def test_arrow_and_records_write_the_same_object(bucket, fmt: str) -> None:
    bodies = []
    for batch_format in ("arrow", "records"):
        token = use_batch_format(batch_format)
        try:
            key = f"{batch_format}/out.{fmt}"
            batches = [pa.RecordBatch.from_pylist(ROWS[:5]), pa.RecordBatch.from_pylist(ROWS[5:])]
            s3_destination(**bucket.options(key=key), upstream={"orders": batches})
        finally:
            reset_batch_format(token)
        bodies.append(bucket.client.get_object(Bucket=bucket.name, Key=key)["Body"].read())
    assert bodies[0] == bodies[1]
    assert "Zoë".encode() in bodies[0]
