"""The s3 components inside real flows: the engine, pipe expressions, the CLI."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from adf_plugin_s3 import S3RecordError, S3Written, s3_destination, s3_source

from adf_core import ComponentError, DataFlow, step
from adf_core.records import iter_records

ORDERS = [{"id": i, "total": i * 10} for i in range(1, 8)]


def orders():
    """A streaming source: batches of 3."""
    for start in range(0, len(ORDERS), 3):
        yield ORDERS[start : start + 3]


def s3_dest(bucket, **options):
    return step(s3_destination, name="s3", options=bucket.options(**options))


def test_a_stream_into_the_s3_destination(bucket):
    flow = DataFlow((orders, s3_dest(bucket, key="out/orders.jsonl")))

    result = flow.run()

    assert bucket.get_jsonl("out/orders.jsonl") == ORDERS
    assert result.outputs["s3"] == S3Written({f"s3://{bucket.name}/out/orders.jsonl": 7})


def test_the_s3_source_feeds_a_python_transform(bucket):
    bucket.put_jsonl("in.jsonl", ORDERS)

    def total(upstream):
        (batches,) = upstream.values()  # Arrow batches or lists: iter_records reads either
        return {"total": sum(r["total"] for r in iter_records(batches))}

    src = step(s3_source, name="src", options=bucket.options(key="in.jsonl", batch_size=2))
    result = DataFlow((src, total)).run()

    assert result["total"] == 280


def test_round_trip_s3_to_s3_by_name_with_a_format_change(bucket):
    bucket.put("in/a.csv", "id,city\n1,Lyon\n2,Zürich\n")
    bucket.put_jsonl("in/b.jsonl", [{"id": "3", "city": "Oslo"}])
    flow = DataFlow.parse(
        "src=s3 | dst=s3",
        options={
            "src": bucket.options(prefix="in/", batch_size="2"),  # a CLI-style string
            "dst": bucket.options(key="out/all.json"),
        },
    )

    flow.run()

    assert json.loads(bucket.get("out/all.json")) == [
        {"id": 1, "city": "Lyon"},
        {"id": 2, "city": "Zürich"},
        {"id": "3", "city": "Oslo"},
    ]


def test_split_feeds_one_object_per_part_under_a_prefix(bucket):
    bucket.put_jsonl("in.jsonl", [
        {"id": 1, "region": "eu"}, {"id": 2, "region": "us"}, {"id": 3, "region": "eu"}
    ])
    flow = DataFlow.parse(
        "src=s3 | split | dst=s3",
        options={
            "src": bucket.options(key="in.jsonl"),
            "split": {"by": "region"},
            "dst": bucket.options(prefix="by-region/", input="eu,us"),  # a CLI-style list
        },
    )

    flow.run()

    assert bucket.keys("by-region/") == ["by-region/eu.jsonl", "by-region/us.jsonl"]
    assert [r["id"] for r in bucket.get_jsonl("by-region/eu.jsonl")] == [1, 3]
    assert [r["id"] for r in bucket.get_jsonl("by-region/us.jsonl")] == [2]


def test_a_bad_record_read_fails_the_run_naming_it_and_writes_nothing(bucket):
    bucket.put("in.jsonl", '{"id": 1}\n{"id": 2}\n{"id": 3\n{"id": 4}\n')
    flow = DataFlow.parse(
        "src=s3 | dst=s3",
        options={"src": bucket.options(key="in.jsonl"), "dst": bucket.options(key="out.jsonl")},
    )

    with pytest.raises(ComponentError) as caught:
        flow.run()

    assert caught.value.component == "src"
    assert isinstance(caught.value.__cause__, S3RecordError)
    assert f"s3://{bucket.name}/in.jsonl: record 3" in str(caught.value)
    assert bucket.keys() == ["in.jsonl"]


def test_a_later_record_that_fails_upstream_leaves_no_object(bucket):
    bucket.put_jsonl("daily.jsonl", [{"previous": True}])

    def flaky():
        yield ORDERS[:3]
        yield ORDERS[3:]
        raise ConnectionError("database connection lost at record 8")

    with pytest.raises(ComponentError, match="database connection lost"):
        DataFlow((flaky, s3_dest(bucket, key="daily.jsonl"))).run()

    assert bucket.keys() == ["daily.jsonl"]
    assert bucket.get_jsonl("daily.jsonl") == [{"previous": True}]


def test_a_failing_sibling_destination_leaves_no_object(bucket):
    def many():
        for i in range(2000):
            yield [{"id": i}]

    def picky(upstream):
        for n, _ in enumerate(upstream["many"], start=1):
            if n == 3:
                raise ValueError("picky refuses record 3")

    # The stream reaches both destinations through buffers of 2 items: picky fails long
    # before the s3 destination can have seen the end of the stream.
    flow = DataFlow((many, (s3_dest(bucket, key="out.jsonl"), picky)), buffer_size=2)

    with pytest.raises(ComponentError) as caught:
        flow.run()

    assert "picky" in {error.component for error in caught.value.errors}
    assert bucket.keys() == []
    assert bucket.pending_multipart_uploads() == []


def test_a_sibling_file_destination_failing_on_its_last_record_stops_the_upload(bucket, tmp_path):
    from adf_core.registry import resolve

    # The s3 destination is ready to upload long before the file destination reaches its
    # last record, which fails it (its csv header comes from the first record). The run's
    # commit group makes the s3 destination wait for its sibling, then give up.
    data = {
        "few": [{"id": i} for i in range(10_000)],
        "many": [{"id": i} for i in range(100_000)] + [{"id": -1, "late": "field"}],
    }
    out = tmp_path / "out.csv"
    flow = DataFlow((
        step(lambda: data, name="src"),
        (
            s3_dest(bucket, key="out.jsonl", input=["few"]),
            step(resolve("file", "destination"), name="file",
                 options={"path": str(out), "input": ["many"]}),
        ),
    ))

    with pytest.raises(ComponentError) as caught:
        flow.run()

    assert [error.component for error in caught.value.errors] == ["file"]
    assert "record 100001" in str(caught.value)
    assert bucket.keys() == []
    assert not out.exists()


def test_adf_run_from_the_command_line(bucket):
    bucket.put_jsonl("in.jsonl", ORDERS)
    options = {
        "src.bucket": bucket.name, "src.key": "in.jsonl", "src.batch_size": "3",
        "src.endpoint_url": bucket.endpoint_url,
        "dst.bucket": bucket.name, "dst.key": "out.csv", "dst.endpoint_url": bucket.endpoint_url,
    }
    args = [arg for k, v in options.items() for arg in ("-o", f"{k}={v}")]

    done = subprocess.run(
        [sys.executable, "-m", "adf_core.cli", "run", "src=s3 | dst=s3", *args, "-q"],
        capture_output=True, text=True, timeout=120,
    )

    assert done.returncode == 0, done.stderr
    lines = bucket.get("out.csv").decode().splitlines()
    assert lines[0] == "id,total"
    assert lines[1:] == [f"{r['id']},{r['total']}" for r in ORDERS]


def test_adf_run_reports_a_bad_record_and_exits_1(bucket, monkeypatch):
    bucket.put("in.jsonl", '{"id": 1}\nnot json\n')
    # No endpoint option: boto3's own configuration chain supplies it.
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", bucket.endpoint_url)
    args = ["-o", f"src.bucket={bucket.name}", "-o", "src.key=in.jsonl",
            "-o", f"dst.bucket={bucket.name}", "-o", "dst.key=out.jsonl"]

    done = subprocess.run(
        [sys.executable, "-m", "adf_core.cli", "run", "src=s3 | dst=s3", *args],
        capture_output=True, text=True, timeout=120,
    )

    assert done.returncode == 1
    assert f"s3://{bucket.name}/in.jsonl: record 2" in done.stderr
    assert bucket.keys() == ["in.jsonl"]
