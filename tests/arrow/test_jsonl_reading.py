"""JSON lines read as Arrow give what the dict reader gives, record for record (DESIGN 13).

Each input runs through ``adf run "src=file | dst=file"`` with ``ADF_BATCH_FORMAT`` ``arrow``
and ``records``: every output format must be byte for byte the same (parquet: the same
table), the records a Python destination sees the same values of the same types with keys
in the same order, and a broken input fails with the same message. The clean inputs must
reach the destination as Arrow batches, so that a reader which always fell back to dicts
would fail here.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest
from arrow_helpers import adf, read_output

pa = pytest.importorskip("pyarrow")

from adf_core import DataFlow  # noqa: E402
from adf_core.records import iter_batches, iter_records  # noqa: E402


def lines(*items: str) -> bytes:
    return "".join(item + "\n" for item in items).encode("utf-8")


#: name -> (the document, whether every batch is Arrow)
INPUTS: dict[str, tuple[bytes, bool]] = {
    "json.dumps spacing": (lines('{"id": 1, "name": "a", "price": 1.5, "ok": true}',
                                 '{"id": 2, "name": "b", "price": 2.0, "ok": false}'), True),
    "compact": (lines('{"id":1,"name":"a","price":1.5}', '{"id":2,"name":"b","price":2.25}'),
                True),
    "explicit nulls": (lines('{"id": 1, "note": null}', '{"id": 2, "note": "x"}',
                             '{"id": null, "note": null}'), True),
    "all null column": (lines('{"id": 1, "x": null}', '{"id": 2, "x": null}'), True),
    "missing keys": (lines('{"id": 1, "note": "x"}', '{"id": 2}', '{"note": "y"}'), False),
    "1 and 1.0": (lines('{"v": 1.5}', '{"v": 1}', '{"v": 1.0}', '{"v": 2}'), False),
    "ints then floats": (lines('{"v": 1}', '{"v": 2}', '{"v": 2.5}'), False),
    "nested": (lines('{"id": 1, "o": {"k": 1, "l": [1, 2]}, "t": ["a", "b"]}',
                     '{"id": 2, "o": {"k": 2, "l": []}, "t": []}'), False),
    "nested missing key": (lines('{"o": {"k": 1}}', '{"o": {"j": 2}}'), False),
    "nested 1 and 1.0": (lines('{"l": [1, 2.5]}', '{"l": [3]}'), False),
    "list of objects": (lines('{"l": [{"a": 1}, {"a": 2}]}', '{"l": [{"a": 3}]}'), False),
    "unicode": (lines('{"s": "Zoë 東京 😀"}', '{"s": "naïve"}'), True),
    "escapes": (lines('{"s": "q\\"t \\\\ \\n \\t"}', '{"s": "\\u00e9 \\u0001 \\/"}'), False),
    "big ints": (lines('{"n": 99999999999999999999}', '{"n": 1}'), False),
    "int64 limits": (lines('{"n": 9223372036854775807}', '{"n": -9223372036854775808}'), True),
    "exponents": (lines('{"f": 1e5}', '{"f": 1.5e-07}', '{"f": 1e+20}'), False),
    "repr floats": (lines('{"f": 1e+20}', '{"f": 1.5e-07}', '{"f": 0.1}', '{"f": -0.0}'), True),
    "minus zero int": (lines('{"n": -0}', '{"n": 1}'), False),
    "timestamp-like text": (lines(
        '{"d": "2024-01-02", "t": "2024-01-02T03:04:05", "s": "2024-01-02 03:04:05"}',
        '{"d": "2024-01-03", "t": "2024-01-03T03:04:05.250", "s": "2024-01-03 00:00"}'), True),
    "nested timestamp-like text": (lines('{"o": {"at": "2024-01-02 03:04:05"}, '
                                         '"l": ["2024-01-02"]}'), False),
    "duplicate keys": (lines('{"a": 1, "a": 2}', '{"a": 3}'), False),
    "key order": (lines('{"a": 1, "b": 2}', '{"b": 3, "a": 4}'), False),
    "empty lines": (lines('{"a": 1}', "", "   ", '{"a": 2}', ""), False),
    "no final newline": (b'{"a": 1}\n{"a": 2}', True),
    "crlf": (b'{"a": 1}\r\n{"a": 2}\r\n', True),
    "byte-order mark": (b"\xef\xbb\xbf" + lines('{"a": 1}', '{"a": 2}'), True),
    "empty objects": (lines("{}", "{}"), False),
    "booleans and text": (lines('{"b": true, "s": "true"}', '{"b": false, "s": "1"}'), True),
    "whitespace around": (lines('  {"a": 1}  ', '{"a": 2}'), False),
    "nan": (lines('{"f": NaN}', '{"f": 1.5}'), False),
}

OUT_FORMATS = ("jsonl", "json", "csv", "parquet")


def run_both(tmp_path: Path, source: Path, out: str) -> tuple[Any, Any]:
    results = []
    for fmt in ("arrow", "records"):
        target = tmp_path / fmt / out
        result = adf(["run", "src=file | dst=file", "-q", "-o", f"src.path={source}",
                      "-o", f"dst.path={target}"], env={"ADF_BATCH_FORMAT": fmt})
        error = [line.replace(str(target), "OUT") for line in result.output.splitlines()
                 if line.startswith("error:")]
        results.append(error if result.exit_code else read_output(target))
    return results[0], results[1]


@pytest.mark.parametrize("out", OUT_FORMATS)
@pytest.mark.parametrize("name", list(INPUTS))
def test_a_jsonl_file_gives_the_same_output_either_way(tmp_path: Path, name: str,
                                                       out: str) -> None:
    source = tmp_path / "in.jsonl"
    source.write_bytes(INPUTS[name][0])
    arrow, records = run_both(tmp_path, source, f"out.{out}")
    assert repr(arrow) == repr(records)  # repr: NaN is not NaN
    assert arrow or (name, out) == ("empty objects", "parquet")  # a table of no columns


def collect(upstream: dict[str, Any]) -> dict[str, Any]:
    batches = [b for v in upstream.values() for b in iter_batches(v, format=None)]
    return {"kinds": sorted({type(b).__name__ for b in batches}),
            "rows": [r for b in batches for r in iter_records(b)]}


def _resolver() -> Any:
    from adf_core.engine.expression import default_resolver

    return lambda name, kind: collect if name == "collect" else default_resolver(name, kind)


def read_both(path: Path, **options: Any) -> dict[str, dict[str, Any]]:
    got = {}
    for fmt in ("arrow", "records"):
        flow = DataFlow.parse("src=file | collect", resolver=_resolver(),
                              options={"src": {"path": str(path), **options}},
                              batch_format=fmt)
        got[fmt] = flow.run().outputs["collect"]
    return got


def typed(rows: list[dict[str, Any]]) -> list[Any]:
    """The records with each value's type and the keys' order (1 and 1.0 differ)."""
    def walk(value: Any) -> Any:
        if isinstance(value, dict):
            return [(k, walk(v)) for k, v in value.items()]
        if isinstance(value, list):
            return [walk(v) for v in value]
        return (type(value).__name__, repr(value))
    return [walk(row) for row in rows]


@pytest.mark.parametrize("name", list(INPUTS))
def test_the_records_are_the_dict_readers(tmp_path: Path, name: str) -> None:
    data, all_arrow = INPUTS[name]
    source = tmp_path / "in.jsonl"
    source.write_bytes(data)
    got = read_both(source)
    assert typed(got["arrow"]["rows"]) == typed(got["records"]["rows"])
    assert got["records"]["kinds"] == ["list"]
    if all_arrow:
        assert got["arrow"]["kinds"] == ["RecordBatch"]
    else:
        assert "list" in got["arrow"]["kinds"]


BROKEN = {
    "malformed": lines('{"a": 1}', '{"a": x}', '{"a": 3}'),
    "not an object": lines('{"a": 1}', "[1, 2]"),
    "a number": lines('{"a": 1}', "", "3"),
    "two objects on a line": lines('{"a": 1}', '{"a": 2} {"a": 3}'),
    "text after the object": lines('{"a": 1}', '{"a": 2}junk'),
    "not utf-8": lines('{"a": 1}', '{"a": "\xff"}').replace("ÿ".encode(), b"\xff"),
    "a byte-order mark inside": lines('{"a": 1}') + b"\xef\xbb\xbf" + lines('{"a": 2}'),
    "two byte-order marks": b"\xef\xbb\xbf\xef\xbb\xbf" + lines('{"a": 1}'),
    "a lone CR": b'{"a": 1}\r{"a": 2}\r\n',
    "control character": lines('{"a": "x\x01y"}'),
}


@pytest.mark.parametrize("name", list(BROKEN))
def test_a_broken_line_fails_with_the_same_message(tmp_path: Path, name: str) -> None:
    source = tmp_path / "in.jsonl"
    source.write_bytes(BROKEN[name])
    arrow, records = run_both(tmp_path, source, "out.jsonl")
    assert arrow == records
    if name != "a lone CR":  # json.loads reads that as two lines
        assert records and str(records[0]).startswith("error:")


def big_document(rows: int, odd: dict[int, str]) -> bytes:
    """``rows`` lines as the dict writer writes them (several chunks of pyarrow's reading),
    line ``n`` replaced by ``odd[n]``."""
    out = []
    for i in range(1, rows + 1):
        line = odd.get(i) or json.dumps(
            {"id": i, "name": f"customer {i % 977}", "amount": round(i / 7, 2),
             "at": f"2026-11-{1 + i % 28:02d} {i % 24:02d}:00:00", "ok": i % 3 == 0,
             "tag": ["a", "b", None][i % 3]}, ensure_ascii=False)
        out.append(line)
    return ("\n".join(out) + "\n").encode()


ROWS = 90_000  # over 10 MB: three chunks


def test_a_few_odd_lines_in_a_long_file_are_read_by_json_loads_alone(tmp_path: Path) -> None:
    odd = {5: '{"id": 5}', 6: '{"name": "x", "id": 6}', 40_000: '{"id": 40000, "amount": 3}',
           ROWS: '{"name": "last", "id": 90000, "amount": 1, "at": "x", "ok": true, "tag": null}'}
    source = tmp_path / "in.jsonl"
    source.write_bytes(big_document(ROWS, odd))
    got = read_both(source, batch_size=5000)
    assert typed(got["arrow"]["rows"]) == typed(got["records"]["rows"])
    assert got["arrow"]["kinds"] == ["RecordBatch", "list"]
    assert got["arrow"]["rows"][5] == {"name": "x", "id": 6}
    assert got["arrow"]["rows"][39_999] == {"id": 40000, "amount": 3}
    for out in ("jsonl", "parquet"):
        arrow, records = run_both(tmp_path / out, source, f"out.{out}")
        assert arrow == records
        assert (len(arrow) if out == "parquet" else arrow.count(b"\n")) == ROWS


def test_an_error_after_arrow_chunks_names_its_record_and_line(tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    source.write_bytes(big_document(ROWS, {ROWS - 1: '{"id": oops}'}) + b"\n" + lines("[1]"))
    arrow, records = run_both(tmp_path, source, "out.jsonl")
    assert arrow == records
    assert f"record {ROWS - 1} (line {ROWS - 1}): malformed JSON" in arrow[0]


def test_a_gzip_file_is_the_same_either_way(tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl.gz"
    source.write_bytes(gzip.compress(big_document(30_000, {7: '{"id": 7}'})))
    got = read_both(source)
    assert typed(got["arrow"]["rows"]) == typed(got["records"]["rows"])
    assert got["arrow"]["kinds"] == ["RecordBatch", "list"]
    broken = tmp_path / "broken.jsonl.gz"
    broken.write_bytes(gzip.compress(big_document(30_000, {})[:-5000]))
    arrow, records = run_both(tmp_path, broken, "out.jsonl")
    assert arrow == records
    assert "malformed JSON" in arrow[0]


def test_a_column_whose_later_lines_hold_integers_stays_exact_and_arrow(tmp_path: Path
                                                                        ) -> None:
    """Floats, then (after the first MB) integers in one column: the chunk that holds both
    is read by json.loads (an Arrow column of floats would make the integers floats), the
    chunks after it are Arrow again, with integers."""
    from adf_core.data.arrow import reset_batch_format, use_batch_format
    from adf_core.data.formats import read_batches

    source = tmp_path / "in.jsonl"
    source.write_text("".join(json.dumps(
        {"id": i, "at": "2026-11-01 00:00:00", "amount": round(i / 7, 2) if i < 20_000 else i})
        + "\n" for i in range(60_000)))
    got = read_both(source)
    assert typed(got["arrow"]["rows"]) == typed(got["records"]["rows"])
    assert got["arrow"]["rows"][-1] == {"id": 59_999, "at": "2026-11-01 00:00:00",
                                        "amount": 59_999}
    token = use_batch_format("arrow")
    try:
        with open(source, "rb") as handle:
            kinds = [type(b).__name__ for b in read_batches(handle, "jsonl", "in", 1000)]
    finally:
        reset_batch_format(token)
    assert kinds[0] == kinds[-1] == "RecordBatch" and "list" in kinds
