"""The s3 source reads Arrow batches when the run moves Arrow (DESIGN 13), with the same
results as the dict path: the same flows run with ``batch_format`` ``arrow`` and ``records``
against the moto server, and their outputs compared."""

from __future__ import annotations

import gzip
import io
import json
import os
import re
from pathlib import Path
from typing import Any

import pytest
from adf_plugin_s3 import S3RecordError, s3_source

from adf_core import ComponentError, DataFlow, step
from adf_core.data.arrow import reset_batch_format, use_batch_format
from adf_core.data.formats import RecordWriter

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

BOTH = ("arrow", "records")
ROWS = [
    {"id": i,
     "qty": None if i % 7 == 3 else (i * 37) % 11 - 4,
     "price": None if i % 9 == 4 else round(i * 1.25 + 0.1, 2),
     "name": None if i % 8 == 5 else ["Zoë", "naïve", "東京", "plain", "a b", "x-y"][i % 6],
     "region": ["EU", "US", "APAC"][i % 3] if i % 10 != 9 else None}
    for i in range(60)
]
QUOTED = [{**r, "name": ['a,b', 'q"t', "two\nlines"][i % 3] if i % 4 == 0 else r["name"]}
          for i, r in enumerate(ROWS)]


def encoded(records: list[dict[str, Any]], fmt: str) -> bytes:
    """``records`` as the dict writer writes them."""
    out = io.BytesIO()
    writer = RecordWriter(out, fmt, "test")
    writer.write(records)
    writer.close()
    return out.getvalue()


@pytest.fixture
def objects(bucket: Any) -> Any:
    """The same records as plain csv (read by pyarrow), quoted csv (read by the dict reader),
    gzipped csv, parquet and jsonl."""
    bucket.put("in/plain.csv", encoded(ROWS, "csv"))
    bucket.put("in/quoted.csv", encoded(QUOTED, "csv"))
    bucket.put("in/zipped.csv.gz", gzip.compress(encoded(ROWS, "csv")))
    bucket.put("in/typed.parquet", encoded(ROWS, "parquet"))
    bucket.put("in/lines.jsonl", encoded(ROWS, "jsonl"))
    bucket.put("in/zipped.jsonl.gz", gzip.compress(encoded(ROWS, "jsonl")))
    return bucket


def run_both(bucket: Any, source: dict[str, Any], out: str) -> tuple[Any, Any]:
    """``src=s3 | dst=s3`` with each batch format; the two outputs (bytes, or the rows of
    a parquet object)."""
    results = []
    for batch_format in BOTH:
        key = f"out/{batch_format}/{out}"
        DataFlow.parse("src=s3 | dst=s3", batch_format=batch_format, options={
            "src": bucket.options(**source), "dst": bucket.options(key=key)}).run()
        body = bucket.get(key)
        results.append(pq.read_table(io.BytesIO(body)).to_pylist() if out.endswith(".parquet")
                       else body)
    return results[0], results[1]


EVERY_OBJECT = {"prefix": "in/", "key_field": "_key", "batch_size": 7}


@pytest.mark.parametrize(("source", "out"), [
    *[(source, out) for out in ("out.jsonl", "out.parquet") for source in (
        {"key": "in/plain.csv"}, {"key": "in/quoted.csv"}, {"key": "in/zipped.csv.gz"},
        {"key": "in/typed.parquet"}, {"key": "in/plain.csv", "infer_types": False},
        {"key": "in/lines.jsonl"}, {"key": "in/zipped.jsonl.gz"})],
    *[(EVERY_OBJECT, out) for out in ("out.jsonl", "out.csv", "out.json", "out.parquet")],
])
def test_the_same_flow_gives_the_same_object_either_way(objects: Any, source: dict[str, Any],
                                                        out: str) -> None:
    arrow, records = run_both(objects, source, out)

    assert arrow == records
    assert arrow


def test_the_values_are_those_written(objects: Any) -> None:
    for key in ("in/plain.csv", "in/zipped.csv.gz", "in/typed.parquet", "in/lines.jsonl",
                "in/zipped.jsonl.gz"):
        arrow, _ = run_both(objects, {"key": key}, "out.jsonl")
        assert [json.loads(line) for line in arrow.splitlines()] == ROWS, key
    quoted, _ = run_both(objects, {"key": "in/quoted.csv"}, "out.jsonl")
    assert [json.loads(line) for line in quoted.splitlines()] == QUOTED


def batch_kinds(bucket: Any, batch_format: str, **source: Any) -> list[str]:
    """The type of every batch a plain Python component (no annotation) receives."""
    kinds: list[str] = []

    def sink(upstream):
        kinds.extend(type(batch).__name__ for data in upstream.values() for batch in data)

    DataFlow((step(s3_source, name="src", options=bucket.options(**source)), sink),
             batch_format=batch_format).run()
    return kinds


@pytest.mark.parametrize("key", ["in/plain.csv", "in/zipped.csv.gz", "in/typed.parquet",
                                 "in/lines.jsonl", "in/zipped.jsonl.gz"])
def test_a_user_component_receives_record_batches_when_the_run_moves_arrow(objects: Any,
                                                                           key: str) -> None:
    assert set(batch_kinds(objects, "arrow", key=key, batch_size=25)) == {"RecordBatch"}
    assert set(batch_kinds(objects, "records", key=key, batch_size=25)) == {"list"}


def test_quoted_csv_stays_dicts_and_key_field_labels_arrow_batches(objects: Any) -> None:
    assert set(batch_kinds(objects, "arrow", key="in/quoted.csv")) == {"list"}
    batches: list[Any] = []
    token = use_batch_format("arrow")
    try:
        batches = list(s3_source(**objects.options(prefix="in/", key_field="_key")))
    finally:
        reset_batch_format(token)
    arrow = [b for b in batches if isinstance(b, pa.RecordBatch)]
    assert {b.column("_key")[0].as_py() for b in arrow} == {
        "in/plain.csv", "in/zipped.csv.gz", "in/typed.parquet", "in/lines.jsonl",
        "in/zipped.jsonl.gz"}


def test_adf_run_with_adf_batch_format_gives_the_same_object(objects: Any) -> None:
    from click.testing import CliRunner

    from adf_core.cli import cli

    bodies = []
    for batch_format in BOTH:
        key = f"cli/{batch_format}.csv"
        result = CliRunner().invoke(cli, [
            "run", "src=s3 | dst=s3", "-q",
            "-o", f"src.bucket={objects.name}", "-o", "src.prefix=in/",
            "-o", f"src.endpoint_url={objects.endpoint_url}",
            "-o", f"dst.bucket={objects.name}", "-o", f"dst.key={key}",
            "-o", f"dst.endpoint_url={objects.endpoint_url}",
        ], env={"ADF_BATCH_FORMAT": batch_format}, catch_exceptions=False)
        assert result.exit_code == 0, result.output
        bodies.append(objects.get(key))
    assert bodies[0] == bodies[1]
    assert "東京".encode() in bodies[0]


def read_with(batch_format: str, **options: Any) -> list[Any]:
    token = use_batch_format(batch_format)
    try:
        return list(s3_source(**options))
    finally:
        reset_batch_format(token)


@pytest.mark.parametrize("body", [
    "a,b\n1,2\n\n3,4\n5\n",           # a short row: pyarrow fails, the dict reader names it
    "a,b\n1,2\n3,4,5\n6,7\n",
    'a,b\n1,"x\n2,3\n',                # a quote never closed
    "a,a\n1,2\n",                      # a header naming a column twice
])
def test_a_bad_csv_gives_the_same_error_either_way(bucket: Any, body: str) -> None:
    bucket.put("bad.csv", body)
    messages = []
    for batch_format in BOTH:
        with pytest.raises(ValueError) as caught:
            read_with(batch_format, **bucket.options(key="bad.csv", batch_size=1))
        messages.append((type(caught.value), str(caught.value)))
    assert messages[0] == messages[1]
    assert f"s3://{bucket.name}/bad.csv" in messages[0][1]


def test_a_bad_row_after_many_names_its_record_and_line_in_a_flow(bucket: Any) -> None:
    lines = ["id,name"] + [f"{i},n{i}" for i in range(5000)] + ["5000,x,extra"]
    bucket.put("big.csv", "\n".join(lines) + "\n")
    messages = []
    for batch_format in BOTH:
        flow = DataFlow.parse("src=s3 | dst=s3", batch_format=batch_format, options={
            "src": bucket.options(key="big.csv"), "dst": bucket.options(key="out.jsonl")})
        with pytest.raises(ComponentError) as caught:
            flow.run()
        assert isinstance(caught.value.__cause__, S3RecordError)
        messages.append(str(caught.value.__cause__))
    assert messages[0] == messages[1] == (
        f"s3://{bucket.name}/big.csv: record 5001: line 5002 has 3 fields, the header has 2")
    assert bucket.keys() == ["big.csv"]


def test_a_download_cut_half_way_resumes_into_the_arrow_reader(bucket: Any,
                                                               cutting_proxy: Any) -> None:
    rows = [{"i": i, "pad": "x" * 100} for i in range(20_000)]  # about 2.1 MB
    bucket.put("big.csv", encoded(rows, "csv"))
    cutting_proxy.cut_after(300_000, request=re.escape(f"GET /{bucket.name}/big.csv"), times=2)
    options = {**bucket.options(key="big.csv"), "endpoint_url": cutting_proxy.url()}

    batches = read_with("arrow", **options)

    assert cutting_proxy.cuts == 2
    assert {type(b) for b in batches} == {pa.RecordBatch}
    assert pa.Table.from_batches(batches).to_pylist() == rows


def spool_files(directory: Path) -> list[str]:
    """The files this process holds open in ``directory`` (unlinked temporary files
    included: Linux shows them as ``directory/#inode (deleted)``)."""
    found = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith(str(directory)):
            found.append(target)
    return found


def watch_spools(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point the system temporary directory (as tempfile reads it) at a fresh folder; call
    it once the objects are put (moto keeps large objects in temporary files too)."""
    import tempfile

    if not os.path.isdir("/proc/self/fd"):
        pytest.skip("needs /proc to see open files")
    directory = tmp_path / "spool"
    directory.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(directory))
    return directory


def big_csv(bucket: Any, key: str, tail: str = "") -> int:
    """A csv object larger than the in-memory spool (its copy goes to disk)."""
    from adf_plugin_s3.spool import SPOOL_BYTES

    rows = SPOOL_BYTES // 30 + 1000  # 33 bytes a line at least
    lines = ["id,name"] + [f"{i},{'n' * 30}" for i in range(rows)]
    bucket.put(key, "\n".join(lines) + "\n" + tail)
    return rows


def test_the_spooled_copy_is_removed_when_the_consumer_stops_early(
        bucket: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    big_csv(bucket, "big.csv")
    spools = watch_spools(tmp_path, monkeypatch)
    token = use_batch_format("arrow")
    try:
        batches = s3_source(**bucket.options(key="big.csv", batch_size=100))
        first = next(batches)
        assert isinstance(first, pa.RecordBatch)
        assert first.column("id").to_pylist() == list(range(100))
        assert len(spool_files(spools)) == 1  # on disk while it is read
        batches.close()
    finally:
        reset_batch_format(token)

    assert spool_files(spools) == []
    assert os.listdir(spools) == []


def test_the_spooled_copy_is_removed_after_an_error_and_after_the_last_batch(
        bucket: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rows = big_csv(bucket, "bad.csv", tail="1,2,3\n")
    big_csv(bucket, "good.csv")
    spools = watch_spools(tmp_path, monkeypatch)

    with pytest.raises(S3RecordError, match=rf"bad\.csv: record {rows + 1}: line {rows + 2} "):
        read_with("arrow", **bucket.options(key="bad.csv"))
    assert spool_files(spools) == []
    batches = read_with("arrow", **bucket.options(key="good.csv", batch_size=50_000))
    assert sum(b.num_rows for b in batches) == rows
    assert spool_files(spools) == []
    assert os.listdir(spools) == []


@pytest.mark.parametrize(("batch_format", "key"), [
    ("records", "big.csv"),   # the run moves dicts
    ("records", "big.jsonl"),
])
def test_the_dict_path_streams_the_body_without_a_copy(
        bucket: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, batch_format: str,
        key: str) -> None:
    big_csv(bucket, "big.csv")
    bucket.put("big.jsonl", b'{"id": 1}\n' * 500_000)
    spools = watch_spools(tmp_path, monkeypatch)
    token = use_batch_format(batch_format)
    try:
        batches = s3_source(**bucket.options(key=key, batch_size=10))
        assert isinstance(next(batches), list)
        assert spool_files(spools) == []
        batches.close()
    finally:
        reset_batch_format(token)


def test_a_bad_record_policy_reads_the_body_line_by_line_without_a_copy(
        bucket: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rows = big_csv(bucket, "big.csv", tail="1,2,3\n")
    spools = watch_spools(tmp_path, monkeypatch)
    seen: list[Any] = []

    def sink(upstream):
        for batch in upstream["src"]:
            if not seen:  # the object is still being read
                seen.append((type(batch).__name__, spool_files(spools)))

    source = step(s3_source, name="src", options=bucket.options(key="big.csv"))
    result = DataFlow((source, sink), batch_format="arrow", on_error="skip",
                      buffer_size=1).run()

    assert seen == [("list", [])]
    assert (result.records["src"].records_out, result.records["src"].records_rejected) == (
        rows, 1)
def test_incremental_reads_new_parquet_and_csv_objects_only(bucket: Any, tmp_path: Path
                                                            ) -> None:
    store = f"sqlite:///{tmp_path / 'state.db'}"

    def run() -> list[int]:
        got: list[int] = []

        def sink(upstream):
            for batch in upstream["src"]:
                assert isinstance(batch, pa.RecordBatch)
                got.extend(batch.column("id").to_pylist())

        source = step(s3_source, name="src",
                      options=bucket.options(prefix="in/", incremental=True))
        DataFlow((source, sink), name="objects", state=store, batch_format="arrow").run()
        return got

    bucket.put("in/a.parquet", encoded([{"id": 1}, {"id": 2}], "parquet"))
    bucket.put("in/b.csv", "id\n3\n")
    assert run() == [1, 2, 3]
    assert run() == []
    bucket.put("in/c.csv", "id\n4\n")
    assert run() == [4]


def test_a_gzipped_parquet_object_is_refused_by_name(bucket: Any) -> None:
    bucket.put("in/t.parquet.gz", gzip.compress(encoded(ROWS, "parquet")))

    with pytest.raises(ValueError, match=r"t\.parquet\.gz: parquet compresses its own"):
        read_with("arrow", **bucket.options(key="in/t.parquet.gz"))
