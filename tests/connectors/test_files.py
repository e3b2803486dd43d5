"""The file source and destination: formats, globs, record errors, atomic writes."""

from __future__ import annotations

import datetime as dt
import json
import os
from decimal import Decimal

import pytest

from adf_core import DataFlow, step
from adf_core.errors import ComponentError
from adf_plugins.files import RecordError, read_file, write_file

RECORDS = [{"id": i, "name": f"n{i}", "amount": i * 1.5, "note": None} for i in range(1, 2501)]


def read_all(path, **options):
    return [r for batch in read_file(str(path), **options) for r in batch]


def leftovers(directory) -> list[str]:
    return sorted(p for p in os.listdir(directory) if p.endswith(".tmp"))


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "json", "parquet"])
def test_round_trip_in_every_format(tmp_path, fmt):
    if fmt == "parquet":
        pytest.importorskip("pyarrow", reason="parquet is the optional extra `parquet`")
    path = tmp_path / f"out.{fmt}"
    written = write_file(str(path), upstream={"src": iter([RECORDS[:1000], RECORDS[1000:]])})
    assert written.records == len(RECORDS)
    back = read_all(path)
    assert back == RECORDS
    assert [len(b) for b in read_file(str(path), batch_size=1000)] == [1000, 1000, 500]


def test_csv_types_are_inferred_unless_asked_not_to(tmp_path):
    path = tmp_path / "in.csv"
    path.write_text("id,price,code,empty\n1,2.50,007,\n-3,1e3,x,\n")
    assert read_all(path) == [
        {"id": 1, "price": 2.5, "code": "007", "empty": None},
        {"id": -3, "price": 1000.0, "code": "x", "empty": None},
    ]
    assert read_all(path, infer_types=False)[0] == {
        "id": "1",
        "price": "2.50",
        "code": "007",
        "empty": "",
    }


def test_globs_read_every_match_in_order_with_the_file_name(tmp_path):
    (tmp_path / "b.jsonl").write_text('{"id": 2}\n\n{"id": 3}\n')
    (tmp_path / "a.jsonl").write_text('{"id": 1}\n')
    (tmp_path / "c.csv").write_text("id\n4\n")
    records = read_all(tmp_path / "*.*", filename_field="file")
    assert [r["id"] for r in records] == [1, 2, 3, 4]
    assert records[0]["file"].endswith("a.jsonl")
    with pytest.raises(FileNotFoundError, match="no file matches"):
        read_all(tmp_path / "*.parquet")
    with pytest.raises(FileNotFoundError, match="no such file"):
        read_all(tmp_path / "missing.csv")


def test_json_holds_an_array_or_one_object(tmp_path):
    (tmp_path / "one.json").write_text('{"id": 1}')
    (tmp_path / "many.json").write_text('[{"id": 1}, {"id": 2}]')
    assert read_all(tmp_path / "one.json") == [{"id": 1}]
    assert read_all(tmp_path / "many.json") == [{"id": 1}, {"id": 2}]


def test_a_malformed_json_line_names_the_file_record_and_line(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"id": 1}\n\n{"id": 2}\n{"id": 3,,}\n')
    with pytest.raises(RecordError, match=r"bad\.jsonl record 3 \(line 4\): malformed JSON"):
        read_all(path)
    path.write_text('{"id": 1}\n[1, 2]\n')
    with pytest.raises(RecordError, match=r"record 2 \(line 2\): expected a JSON object"):
        read_all(path)


def test_a_csv_row_with_too_many_fields_names_the_file_and_record(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("id,name\n1,a\n2,b,extra\n")
    with pytest.raises(
        RecordError, match=r"bad\.csv record 2 \(line 3\): 3 fields, the header has 2"
    ):
        read_all(path)


def test_values_json_lacks_are_encoded(tmp_path):
    path = tmp_path / "out.jsonl"
    record = {
        "d": Decimal("1.10"),
        "n": Decimal(3),
        "t": dt.datetime(2026, 11, 24, 21, 0),
        "b": b"\x00\x01",
        "nested": {"x": [1, 2]},
    }
    write_file(str(path), upstream={"src": [record]})
    assert json.loads(path.read_text()) == {
        "d": 1.1,
        "n": 3,
        "t": "2026-11-24T21:00:00",
        "b": "AAE=",
        "nested": {"x": [1, 2]},
    }


def test_format_comes_from_the_extension_or_the_option(tmp_path):
    with pytest.raises(ValueError, match="cannot tell the format"):
        write_file(str(tmp_path / "out.txt"), upstream={"s": RECORDS[:1]})
    write_file(str(tmp_path / "out.txt"), format="jsonl", upstream={"s": RECORDS[:1]})
    assert read_all(tmp_path / "out.txt", format="jsonl") == RECORDS[:1]
    with pytest.raises(ValueError, match="unknown format 'xml'"):
        write_file(str(tmp_path / "out.txt"), format="xml", upstream={"s": RECORDS[:1]})


def stream_with_a_bad_record():
    yield RECORDS[:1000]
    yield RECORDS[1000:2000]
    yield [{"id": 2001, "name": object()}]


@pytest.mark.parametrize("fmt", ["jsonl", "json"])
def test_a_later_unwritable_record_leaves_no_file_and_the_old_one_intact(tmp_path, fmt):
    path = tmp_path / f"out.{fmt}"
    with pytest.raises(RecordError, match=r"record 2001 \(input 'src'\) cannot be written"):
        write_file(str(path), upstream={"src": stream_with_a_bad_record()})
    assert not path.exists()
    assert leftovers(tmp_path) == []

    path.write_text("previous content\n")
    with pytest.raises(RecordError):
        write_file(str(path), upstream={"src": stream_with_a_bad_record()})
    assert path.read_text() == "previous content\n"
    assert leftovers(tmp_path) == []


def test_a_csv_record_with_new_fields_is_an_error_and_nothing_is_written(tmp_path):
    path = tmp_path / "out.csv"
    data = [{"id": 1}, {"id": 2, "extra": True}]
    with pytest.raises(RecordError, match=r"out\.csv: record 2 \(input 'src'\).*extra"):
        write_file(str(path), upstream={"src": data})
    assert not path.exists()
    assert leftovers(tmp_path) == []


def test_a_failing_sibling_destination_leaves_no_file(tmp_path):
    """The engine cancels the file destination while it is still consuming the stream."""
    path = tmp_path / "out.jsonl"

    def source():
        for start in range(0, 100_000, 500):
            yield [{"id": i} for i in range(start, start + 500)]

    def broken(upstream):
        for n, _batch in enumerate(next(iter(upstream.values())), start=1):
            if n == 3:
                raise RuntimeError("sibling failed")

    flow = DataFlow(
        (source, (step(write_file, name="out", options={"path": str(path)}), broken)), buffer_size=2
    )
    with pytest.raises(ComponentError, match="sibling failed"):
        flow.run({})
    assert not path.exists()
    assert leftovers(tmp_path) == []


def test_a_sibling_that_failed_first_stops_the_commit(tmp_path):
    """When the sibling failed before this destination finished, the rename does not happen."""
    import threading

    path = tmp_path / "out.jsonl"
    failed = threading.Event()

    def slow_source():
        yield [{"id": 1}]

    def broken(upstream):
        list(next(iter(upstream.values())))
        failed.set()
        raise RuntimeError("sibling failed")

    def write_after_the_failure(upstream, context):
        failed.wait(5)
        return write_file(str(path), upstream=upstream, context=context)

    flow = DataFlow((slow_source, (write_after_the_failure, broken)))
    with pytest.raises(ComponentError, match="sibling failed"):
        flow.run({})
    assert not path.exists()
    assert leftovers(tmp_path) == []


def test_file_to_file_through_the_engine_with_merge(tmp_path):
    (tmp_path / "a.csv").write_text("id,v\n1,x\n2,y\n")
    (tmp_path / "b.jsonl").write_text('{"id": 3, "v": "z"}\n')
    out = tmp_path / "merged.json"
    flow = DataFlow.parse(
        "a=file, b=file | merge | file",
        options={
            "a": {"path": str(tmp_path / "a.csv")},
            "b": {"path": str(tmp_path / "b.jsonl")},
            "file": {"path": str(out)},
        },
    )
    result = flow.run({})
    assert json.loads(out.read_text()) == [
        {"id": 1, "v": "x"},
        {"id": 2, "v": "y"},
        {"id": 3, "v": "z"},
    ]
    assert result.outputs["file"].records == 3
    assert oct(out.stat().st_mode & 0o777) != oct(0o600)  # not the temporary file's mode


def test_a_cancelled_run_leaves_no_file(tmp_path):
    """Cancelling `await flow(...)` while the destination consumes the stream cleans up."""
    import asyncio
    import threading

    path = tmp_path / "out.jsonl"
    writing = threading.Event()

    def endless():
        n = 0
        while True:
            yield [{"id": n}]
            n += 1
            if n == 10:
                writing.set()

    async def main():
        flow = DataFlow((endless, step(write_file, name="out", options={"path": str(path)})))
        task = asyncio.ensure_future(flow({}))
        await asyncio.get_running_loop().run_in_executor(None, writing.wait, 10)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    assert not path.exists()
    assert leftovers(tmp_path) == []


def test_write_errors_number_records_within_their_input(tmp_path):
    target = tmp_path / "o.jsonl"
    with pytest.raises(RecordError, match=r"record 1 \(input 'b'\)"):
        write_file(str(target), context={"a": [{"k": 1}], "b": [{"k": object()}]},
                   input=["a", "b"])
    assert not target.exists()
