"""Records, not batches: every component's records in and out, counted as rows, everywhere
(events, summary table, ``--json``, trace file, ``FlowResult.records``, the report)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from trust_support import events, run_adf

from adf_core import DataFlow, RecordCounts, step
from adf_core.engine.counting import dataset_records, records_out


@dataclass
class Columnar:
    """Quacks like a pyarrow RecordBatch or Table: the engine only reads ``num_rows``."""

    num_rows: int


@dataclass
class Written:
    """What a destination reports (the ``records`` protocol)."""

    records: int
    records_rejected: int = 0


def test_record_counts_is_a_frozen_dataclass_exported_from_adf_core() -> None:
    counts = RecordCounts(records_in=3, records_out=2)
    assert counts.records_rejected == 0
    with pytest.raises(AttributeError):
        counts.records_in = 4  # type: ignore[misc]


@pytest.mark.parametrize(("value", "expected"), [
    ([{"a": 1}] * 5, 5),                                    # a list of records
    ([[{"a": 1}] * 3, [{"a": 2}] * 4], 7),                  # a list of batches
    ([Columnar(1000), Columnar(24)], 1024),                 # a list of columnar batches
    (Columnar(100_000), 100_000),                           # one table
    ({"eu": [{"a": 1}] * 2, "us": [{"a": 1}] * 3, "n": 4}, 5),  # a dict of datasets
    ([1, 2, 3], 3),                                         # a list counts its length
    ("text", None), (42, None), (None, None),
])
def test_what_counts_as_records(value: Any, expected: int | None) -> None:
    assert dataset_records(value) == expected


def test_a_destination_reports_what_it_wrote() -> None:
    assert records_out(Written(7, 1)) == (7, 1)
    assert records_out(None) == (0, 0) and records_out("done") == (0, 0)


def test_a_stream_of_batches_counts_records_not_batches() -> None:
    def rows(count: int) -> Iterator[list[dict[str, int]]]:
        for start in range(0, count, 1000):
            yield [{"n": n} for n in range(start, min(start + 1000, count))]

    def columnar() -> Iterator[Columnar]:
        yield from (Columnar(500), Columnar(250))

    def write(rows: Any) -> Written:
        return Written(sum(len(batch) for batch in rows))

    def keep_half(columnar: Any) -> list[Columnar]:
        return [Columnar(b.num_rows // 2) for b in columnar]

    result = DataFlow(((step(rows, options={"count": 100_000}), columnar),
                       (write, keep_half))).run()
    assert result.records["rows"] == RecordCounts(0, 100_000)
    assert result.counts["rows"] == 100, "items stay available, as batches"
    assert result.records["write"] == RecordCounts(100_000, 100_000)
    assert result.records["columnar"] == RecordCounts(0, 750)
    assert result.records["keep_half"] == RecordCounts(750, 375)
    assert result.report is not None
    assert result.report["components"]["write"]["records_in"] == 100_000


def test_a_reader_that_stops_early_counts_what_it_read() -> None:
    def rows() -> Iterator[list[dict[str, int]]]:
        for _ in range(100):
            yield [{"n": 1}] * 10

    def first_two(rows: Any) -> None:
        for index, _batch in enumerate(rows):
            if index == 1:
                return

    result = DataFlow((rows, first_two)).run()
    assert result.records["first_two"].records_in == 20


def test_the_input_option_counts_the_keys_it_names(tmp_path: Path) -> None:
    result = DataFlow.parse(
        "src=file | split | gb=file",
        options={"src": {"path": str(_orders(tmp_path))}, "split": {"by": "country"},
                 "gb": {"input": "GB", "path": str(tmp_path / "gb.jsonl")}}).run()
    assert result.records["src"] == RecordCounts(0, 5)
    assert result.records["split"] == RecordCounts(5, 5)
    assert result.records["gb"] == RecordCounts(3, 3)


def _orders(directory: Path) -> Path:
    path = directory / "orders.csv"
    path.write_text("id,country\n1,GB\n2,FR\n3,GB\n4,DE\n5,GB\n")
    return path


def test_the_cli_shows_records_everywhere(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    trace = tmp_path / "trace.json"
    done = run_adf("src=trust_jobs:slow_rows | out=file", "-o", "src.count=100000",
                   "-o", "src.batch=1000", "-o", "src.pause=0", "-o", f"out.path={out}",
                   "--trace-file", str(trace), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    finished = {e["component"]: e for e in events(done.stderr)
                if e["event"] == "component.finished"}
    assert (finished["src"]["records_out"], finished["out"]["records_in"],
            finished["out"]["records_out"]) == (100_000, 100_000, 100_000)
    header, *rows = [line for line in done.stderr.splitlines()
                     if line.startswith(("ALIAS", "src ", "out "))]
    assert header.split() == ["ALIAS", "KIND", "STAGE", "STATUS", "SECONDS", "RECORDS", "IN",
                              "RECORDS", "OUT", "REJECTED"]
    assert [r.split()[-3:] for r in rows] == [["0", "100000", "0"], ["100000", "100000", "0"]]
    slices = {e["name"]: e["args"] for e in json.loads(trace.read_text())["traceEvents"]
              if e.get("ph") == "X" and e.get("cat", "").startswith("component")}
    assert (slices["src"]["records_out"], slices["out"]["records_in"]) == (100_000, 100_000)
    assert slices["src"]["status"] == "succeeded"

    as_json = json.loads(run_adf("src=trust_jobs:rows | out=file", "-o", "src.count=7",
                                 "-o", f"out.path={out}", "--json", "-q", cwd=tmp_path).stdout)
    assert [(c["alias"], c["records_in"], c["records_out"]) for c in as_json["components"]] == [
        ("src", 0, 7), ("out", 7, 7)]
