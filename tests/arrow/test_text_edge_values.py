"""The vectorised JSON and CSV encoders write edge values byte for byte as the dict writer.

The Arrow encoders take shortcuts for the common case (a string with nothing to escape, a
timestamp in whole seconds, a float with a dot); each test mixes common rows with the rows
those shortcuts must not touch, in one parquet file, and runs ``adf run "file | file"`` with
Arrow batches and with dict records.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from arrow_helpers import adf, read_output

pa = pytest.importorskip("pyarrow")

OUT_FORMATS = ("jsonl", "json", "csv")
STRINGS = ["plain", 'a "quote"', "back\\slash", "tab\there", "new\nline", "cr\rbell\x07",
           "form\x0cfeed\x08", "nul\x00byte", "escape\x1b[0m", "del\x7f", "ünïcødé ✓ 😀",
           "line\u2028sep", "", None, "x" * 300]
SECOND = dt.datetime(2026, 11, 30, 2, 30, 5)


def both(tmp_path: Path, table: Any, out: str) -> tuple[Any, Any]:
    import pyarrow.parquet as pq

    source = tmp_path / "in.parquet"
    pq.write_table(table, source)
    results = []
    for fmt in ("arrow", "records"):
        target = tmp_path / fmt / f"out.{out}"
        result = adf(["run", "src=file | dst=file", "-q", "-o", f"src.path={source}",
                      "-o", f"dst.path={target}"], env={"ADF_BATCH_FORMAT": fmt})
        assert result.exit_code == 0, result.output
        results.append(read_output(target))
    return results[0], results[1]


@pytest.mark.parametrize("out", OUT_FORMATS)
def test_strings_needing_escapes_among_plain_ones(tmp_path: Path, out: str) -> None:
    values = STRINGS * 3
    if out == "csv":  # a CR alone: csv on Python 3.11 leaves it unquoted, later ones quote it
        values = [v for v in values if v is None or "\r" not in v]
    arrow, records = both(tmp_path, pa.table({"s": values, "n": range(len(values))}), out)
    assert arrow == records
    if out == "jsonl":
        assert b'"nul\\u0000byte"' in arrow and b'"a \\"quote\\""' in arrow


@pytest.mark.parametrize("out", OUT_FORMATS)
def test_strings_with_nothing_to_escape(tmp_path: Path, out: str) -> None:
    values = ["customer 1", "ünïcødé", "", "x"]
    arrow, records = both(tmp_path, pa.table({"s": values, "t": ["a", None, "b", "c"]}), out)
    assert arrow == records


@pytest.mark.parametrize("unit", ["s", "ms", "us"])
@pytest.mark.parametrize("zone", [None, "UTC"])
@pytest.mark.parametrize("out", OUT_FORMATS)
def test_timestamps_whole_and_fractional(tmp_path: Path, out: str, unit: str,
                                         zone: str | None) -> None:
    tz = dt.UTC if zone else None
    whole = [SECOND.replace(tzinfo=tz), None, dt.datetime(1, 1, 1, tzinfo=tz),
             dt.datetime(9999, 12, 31, 23, 59, 59, tzinfo=tz)]
    kind = pa.timestamp(unit, zone)
    arrow, records = both(tmp_path, pa.table({"t": pa.array(whole, kind)}), out)
    assert arrow == records
    if unit != "s":
        mixed = [*whole, SECOND.replace(microsecond=123000, tzinfo=tz)]
        arrow, records = both(tmp_path, pa.table({"t": pa.array(mixed, kind)}), out)
        assert arrow == records
        if out == "jsonl":
            assert b'"2026-11-30T02:30:05"' in arrow or b'"2026-11-30T02:30:05+00:00"' in arrow
            assert b"02:30:05.123000" in arrow


@pytest.mark.parametrize("out", OUT_FORMATS)
def test_floats_whole_fractional_and_in_exponent_form(tmp_path: Path, out: str) -> None:
    values = [1.0, -0.0, 0.14, -2.5, 1e16, 1e22, 1.5e-7, 123456789.125, None, 0.0, 3.0]
    arrow, records = both(tmp_path, pa.table({"f": values, "g": [2.0] * len(values)}), out)
    assert arrow == records
    if out == "jsonl":
        assert b'"f": 1.0,' in arrow and b'"f": -0.0,' in arrow and b'"f": null,' in arrow


@pytest.mark.parametrize("out", OUT_FORMATS)
def test_one_special_value_in_an_otherwise_plain_column(tmp_path: Path, out: str) -> None:
    """The encoders look at a column's bytes as a whole first: one value needing a rewrite,
    whichever kind, still gets it (each column holds one kind among plain values)."""
    plain = ["customer 1", "customer 2", None, "customer 3"]
    specials = {"quote": 'say "hi"', "slash": "C:\\dir", "bell": "ding\x07", "tab": "a\tb",
                "nul": "nul\x00", "unicode": "ünïcødé ✓"}
    columns: dict[str, Any] = {name: [*plain, value] for name, value in specials.items()}
    fractions = [0.14, -2.5, None, 123456789.125]
    columns |= {"exponent": [*fractions, 1.5e-7], "large": [*fractions, 1.5e22],
                "whole": [*fractions, 3.0], "fractions": [*fractions, 0.25]}
    arrow, records = both(tmp_path, pa.table(columns), out)
    assert arrow == records
    if out == "jsonl":
        assert b'"ding\\u0007"' in arrow and b'"whole": 3.0,' in arrow
